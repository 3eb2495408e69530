"""The policy dry run: what a NEW policy would change against the CURRENT one.

``sigverify audit --policy CURRENT --compare-policy NEW``: each Image is read once and judged
by both policies' verifiers (the engine decides both times); only the images whose outcome
changes are kept — newly denied (CURRENT trusts it, NEW would not) and newly admitted (the
reverse) — with the reason and message under each policy. An image whose reason changes but
whose outcome does not (``Trusted`` → ``Accepted``) is unchanged: admission sees no change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from sigverify.audit.report import AuditFailure, TagRef
from sigverify.core.verdict import ImageVerdict
from sigverify.engine.protocol import ImageVerifier
from sigverify.errors import InputError
from sigverify.objects.types import Image

__all__ = [
    "Change",
    "ImageObserver",
    "Outcome",
    "PolicyChange",
    "PolicyComparer",
    "PolicyComparison",
]

#: Sees each Image an audit judged: (Image, its tags, its verdict, the identity it was
#: verified for); :meth:`PolicyComparer.observe` judges it again with the other policy.
ImageObserver = Callable[[Image, Iterable[TagRef], ImageVerdict, str | None], None]


class Change(StrEnum):
    NEWLY_DENIED = "newly-denied"
    NEWLY_ADMITTED = "newly-admitted"


@dataclass(frozen=True)
class Outcome:
    """An image's verdict under one policy, as much as the comparison shows."""

    trusted: bool
    reason: str
    message: str

    @classmethod
    def of(cls, verdict: ImageVerdict) -> Outcome:
        return cls(verdict.trusted, verdict.reason.value, verdict.message)


@dataclass(frozen=True)
class PolicyChange:
    """One image whose outcome differs between the two policies."""

    image: str
    reference: str
    tags: tuple[TagRef, ...]
    current: Outcome
    new: Outcome

    @property
    def change(self) -> Change:
        return Change.NEWLY_DENIED if self.current.trusted else Change.NEWLY_ADMITTED


@dataclass(frozen=True)
class PolicyComparison:
    policy: str  # CURRENT
    compare_policy: str  # NEW
    images: int  # judged under both
    unchanged: int
    newly_denied: tuple[PolicyChange, ...]
    newly_admitted: tuple[PolicyChange, ...]
    #: Images CURRENT judged but NEW could not (its message says why).
    failures: tuple[AuditFailure, ...] = ()

    @property
    def changes(self) -> tuple[PolicyChange, ...]:
        return (*self.newly_denied, *self.newly_admitted)


class PolicyComparer:
    """Judges each image CURRENT judged once more with NEW's verifier, keeping changes only."""

    def __init__(self, verifier: ImageVerifier, *, policy: str, compare_policy: str) -> None:
        self.verifier = verifier
        self.policy = policy
        self.compare_policy = compare_policy
        self._images = 0
        self._changes: dict[str, PolicyChange] = {}
        self._failures: dict[str, AuditFailure] = {}

    def observe(
        self,
        image: Image,
        tags: Iterable[TagRef],
        current: ImageVerdict,
        expected_identity: str | None = None,
    ) -> None:
        """``image`` (as read for CURRENT, whose verdict is ``current``) under NEW."""
        if current.image in self._failures or current.image in self._changes:
            raise ValueError(f"image {current.image} was compared twice")
        try:
            new = self.verifier.verify_image(image, expected_identity=expected_identity)
        except InputError as exc:
            self._failures[current.image] = AuditFailure(
                current.image, f"{self.compare_policy}: {exc}", tuple(sorted(tags))
            )
            return
        self._images += 1
        if new.trusted == current.trusted:
            return
        self._changes[current.image] = PolicyChange(
            image=current.image,
            reference=current.reference,
            tags=tuple(sorted(tags)),
            current=Outcome.of(current),
            new=Outcome.of(new),
        )

    def comparison(self) -> PolicyComparison:
        changes = [self._changes[name] for name in sorted(self._changes)]
        return PolicyComparison(
            policy=self.policy,
            compare_policy=self.compare_policy,
            images=self._images,
            unchanged=self._images - len(changes),
            newly_denied=tuple(c for c in changes if c.change is Change.NEWLY_DENIED),
            newly_admitted=tuple(c for c in changes if c.change is Change.NEWLY_ADMITTED),
            failures=tuple(self._failures[name] for name in sorted(self._failures)),
        )
