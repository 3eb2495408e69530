"""Policy audit reports: what is signed, by whom, and what the policy would deny.

Pure: verdicts in, an :class:`AuditReport` out. The engine decides every image's trust
(``Verifier.verify_image``); this module only counts and groups what the verdicts say.
Listing the image API and verifying live in :mod:`sigverify.cli.audit`; the text, JSON and
CSV forms in :mod:`sigverify.audit.render`.

:class:`AuditAccumulator` takes one image at a time and keeps only compact rows (never the
raw Image nor the full verdict), so a cluster of tens of thousands of images is audited in
one pass; :func:`build_report` is the same over an iterable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sigverify.core.verdict import ImageVerdict, Reason, format_key_id

__all__ = [
    "UNKNOWN_KEY_NOTE",
    "AuditAccumulator",
    "AuditFailure",
    "AuditReport",
    "AuditedImage",
    "ImageRow",
    "ScopeRow",
    "SignerRow",
    "SignerScope",
    "TagRef",
    "Totals",
    "UnknownKeys",
    "build_report",
    "current_tags",
]

#: What the key IDs of unknown signers are: a signature the backend refused as
#: ``UnknownKey`` has no verified ``Signer``; its key ID is the one the blob claims.
UNKNOWN_KEY_NOTE = "key IDs as the signatures claim them: unverified"

# Signature reasons that the engine gives only after the scope's signedBy named the signer
# (engine._judge_signature checks reject, then the trusted keys, then digest and identity).
# A signature that one signedBy accepted (``requirement`` set) also shows its key trusted
# there, whatever another, unmet signedBy of the scope made its reason.
_KEY_TRUSTED_THERE = frozenset({Reason.TRUSTED, Reason.DIGEST_MISMATCH, Reason.IDENTITY_MISMATCH})
# ... and those that say the scope does not trust it (or trusts nothing at all).
_KEY_NOT_TRUSTED_THERE = frozenset({Reason.UNTRUSTED_KEY, Reason.REJECTED})


@dataclass(frozen=True, order=True)
class TagRef:
    """An ImageStream tag: ``namespace/stream:tag``."""

    namespace: str
    stream: str
    tag: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.stream}:{self.tag}"


def current_tags(
    stream: Mapping[str, Any],
) -> tuple[list[tuple[TagRef, str]], list[tuple[str, str]]]:
    """The ``(tag, image digest)`` pairs an ImageStream's status points at, and problems.

    A tag's current image is ``status.tags[].items[0].image`` (items are newest first). A
    tag with no items (never imported) has no current image and is skipped silently; a
    member of the wrong shape is a problem ``(namespace/stream, message)``, never guessed at.
    """
    metadata = stream.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not (isinstance(namespace, str) and namespace and isinstance(name, str) and name):
        return [], [("?", "an ImageStream without metadata.namespace and metadata.name")]
    subject = f"{namespace}/{name}"
    status = stream.get("status")
    tags = status.get("tags") if isinstance(status, dict) else None
    if status is not None and not isinstance(status, dict):
        return [], [(subject, "status is not an object")]
    if tags is None:
        return [], []
    if not isinstance(tags, list):
        return [], [(subject, "status.tags is not a list")]
    found: list[tuple[TagRef, str]] = []
    problems: list[tuple[str, str]] = []
    for index, entry in enumerate(tags):
        tag = entry.get("tag") if isinstance(entry, dict) else None
        if not isinstance(tag, str) or not tag:
            problems.append((subject, f"status.tags[{index}] has no tag name"))
            continue
        items = entry.get("items")
        if not items:
            continue
        first = items[0] if isinstance(items, list) else None
        image = first.get("image") if isinstance(first, dict) else None
        if not isinstance(image, str) or not image:
            problems.append((subject, f"status.tags[{index}] ({tag}): items[0].image is unset"))
            continue
        found.append((TagRef(namespace, name, tag), image))
    return found, problems


# -- input -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditedImage:
    """One verified Image and the tags whose current image it is (none: unreferenced)."""

    verdict: ImageVerdict
    tags: tuple[TagRef, ...] = ()


@dataclass(frozen=True)
class AuditFailure:
    """Something the audit could not judge: an Image (a tag naming a missing Image, a
    malformed Image) or an ImageStream whose status it could not read. ``subject`` is the
    Image's name or ``namespace/stream``."""

    subject: str
    message: str
    tags: tuple[TagRef, ...] = ()


# -- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    images: int = 0  # audited (verified) images
    trusted: int = 0
    denied: int = 0  # would be denied: the verdict is not trusted
    unsigned: int = 0  # no signature at all (whatever the policy said)
    unreferenced: int = 0  # no ImageStream tag points at them
    tags: int = 0  # tags of the audited images
    failed: int = 0  # could not be audited (see AuditReport.failures)


@dataclass(frozen=True)
class ImageRow:
    """One audited Image, as much of its verdict as a report shows."""

    image: str
    reference: str
    scope: str
    trusted: bool
    reason: Reason
    message: str
    signatures: int
    #: ``publicKeyID`` of each distinct signer whose signature verified, sorted.
    signers: tuple[str, ...]
    tags: tuple[TagRef, ...]
    #: (source, signatures) where the signatures were found (``image``, ``lookaside``,
    #: ``registry``), when the caller named their sources (``sigverify audit --images``).
    sources: tuple[tuple[str, int], ...] = ()

    @property
    def unsigned(self) -> bool:
        return self.signatures == 0


@dataclass(frozen=True)
class SignerScope:
    """A signer within one scope: images it signed there and whether the scope trusts it.

    ``trusted`` is None when no signature of it there got as far as the trust check (every
    one had an invalid payload).
    """

    scope: str
    images: int
    trusted: bool | None


@dataclass(frozen=True)
class SignerRow:
    """A key whose signatures verified: on how many images, in which scopes."""

    public_key_id: str
    user_id: str | None
    fingerprint: str
    images: int
    scopes: tuple[SignerScope, ...]


@dataclass(frozen=True)
class ScopeRow:
    """A policy scope that applied to at least one audited image."""

    scope: str
    requirements: tuple[str, ...]
    images: int
    trusted: int
    denied: int


@dataclass(frozen=True)
class UnknownKeys:
    """Signatures by keys the policy does not know (``UnknownKey``)."""

    signatures: int = 0
    images: int = 0
    #: (claimed key ID ``0x…``, signatures) by key ID; signatures naming no key are uncounted.
    key_ids: tuple[tuple[str, int], ...] = ()
    note: str = UNKNOWN_KEY_NOTE


@dataclass(frozen=True)
class AuditReport:
    policy: str
    namespace: str | None
    totals: Totals
    #: Image reason code → images, most frequent first (ties by code).
    reasons: tuple[tuple[Reason, int], ...]
    #: Signature reason code → signatures, most frequent first.
    signature_reasons: tuple[tuple[Reason, int], ...]
    scopes: tuple[ScopeRow, ...]
    signers: tuple[SignerRow, ...]
    unknown_keys: UnknownKeys
    #: Every audited image, by digest; ``denied`` is the untrusted subset.
    images: tuple[ImageRow, ...]
    failures: tuple[AuditFailure, ...]
    #: Signature source → signatures, over every image whose sources were named.
    signature_sources: tuple[tuple[str, int], ...] = ()

    @property
    def denied(self) -> tuple[ImageRow, ...]:
        return tuple(row for row in self.images if not row.trusted)


# -- aggregation -----------------------------------------------------------------------------


@dataclass
class _Signer:
    public_key_id: str
    user_id: str | None
    fingerprint: str
    images: set[str] = field(default_factory=set)
    scope_images: dict[str, set[str]] = field(default_factory=dict)
    scope_trust: dict[str, bool] = field(default_factory=dict)


@dataclass
class _Scope:
    requirements: tuple[str, ...]
    images: int = 0
    trusted: int = 0


def _ranked(counter: Counter[Reason]) -> tuple[tuple[Reason, int], ...]:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0].value)))


class AuditAccumulator:
    """Builds an :class:`AuditReport` one image at a time."""

    def __init__(self, *, policy: str, namespace: str | None = None) -> None:
        self.policy = policy
        self.namespace = namespace
        self._rows: dict[str, ImageRow] = {}
        self._failures: dict[str, AuditFailure] = {}
        self._reasons: Counter[Reason] = Counter()
        self._signature_reasons: Counter[Reason] = Counter()
        self._scopes: dict[str, _Scope] = {}
        self._signers: dict[str, _Signer] = {}
        self._unknown_signatures = 0
        self._unknown_images = 0
        self._unknown_key_ids: Counter[str] = Counter()
        self._sources: Counter[str] = Counter()

    def add(self, audited: AuditedImage) -> None:
        verdict = audited.verdict
        if verdict.image in self._rows or verdict.image in self._failures:
            raise ValueError(f"image {verdict.image} was audited twice")
        signer_ids: set[str] = set()
        unknown = 0
        sources: Counter[str] = Counter()
        for signature in verdict.signatures:
            self._signature_reasons[signature.reason] += 1
            if signature.source is not None:
                sources[signature.source] += 1
            if signature.reason is Reason.UNKNOWN_KEY:
                unknown += 1
                if signature.claimed_key_id:
                    self._unknown_key_ids[format_key_id(signature.claimed_key_id)] += 1
            signer = signature.signer
            if signer is None:
                continue
            signer_ids.add(signer.public_key_id)
            entry = self._signers.setdefault(
                signer.fingerprint,
                _Signer(signer.public_key_id, signer.user_id, signer.fingerprint),
            )
            entry.images.add(verdict.image)
            entry.scope_images.setdefault(verdict.scope, set()).add(verdict.image)
            if signature.requirement is not None or signature.reason in _KEY_TRUSTED_THERE:
                entry.scope_trust[verdict.scope] = True
            elif signature.reason in _KEY_NOT_TRUSTED_THERE:
                entry.scope_trust.setdefault(verdict.scope, False)
        if unknown:
            self._unknown_signatures += unknown
            self._unknown_images += 1
        self._reasons[verdict.reason] += 1
        scope = self._scopes.setdefault(
            verdict.scope, _Scope(tuple(r.requirement for r in verdict.requirements))
        )
        scope.images += 1
        scope.trusted += verdict.trusted
        self._rows[verdict.image] = ImageRow(
            image=verdict.image,
            reference=verdict.reference,
            scope=verdict.scope,
            trusted=verdict.trusted,
            reason=verdict.reason,
            message=verdict.message,
            signatures=len(verdict.signatures),
            signers=tuple(sorted(signer_ids)),
            tags=tuple(sorted(audited.tags)),
            sources=tuple(sorted(sources.items())),
        )
        self._sources.update(sources)

    def add_failure(self, failure: AuditFailure) -> None:
        if failure.subject in self._rows:
            raise ValueError(f"image {failure.subject} was audited and failed")
        previous = self._failures.get(failure.subject)
        message = f"{previous.message}; {failure.message}" if previous else failure.message
        tags = (*previous.tags, *failure.tags) if previous else failure.tags
        self._failures[failure.subject] = AuditFailure(
            failure.subject, message, tuple(sorted(set(tags)))
        )

    def report(self) -> AuditReport:
        rows = tuple(self._rows[name] for name in sorted(self._rows))
        totals = Totals(
            images=len(rows),
            trusted=sum(row.trusted for row in rows),
            denied=sum(not row.trusted for row in rows),
            unsigned=sum(row.unsigned for row in rows),
            unreferenced=sum(not row.tags for row in rows),
            tags=sum(len(row.tags) for row in rows),
            failed=len(self._failures),
        )
        scopes = tuple(
            ScopeRow(name, s.requirements, s.images, s.trusted, s.images - s.trusted)
            for name, s in sorted(self._scopes.items())
        )
        signers = tuple(
            sorted(
                (
                    SignerRow(
                        public_key_id=s.public_key_id,
                        user_id=s.user_id,
                        fingerprint=s.fingerprint,
                        images=len(s.images),
                        scopes=tuple(
                            SignerScope(scope, len(images), s.scope_trust.get(scope))
                            for scope, images in sorted(s.scope_images.items())
                        ),
                    )
                    for s in self._signers.values()
                ),
                key=lambda row: (row.public_key_id, row.fingerprint),
            )
        )
        return AuditReport(
            policy=self.policy,
            namespace=self.namespace,
            totals=totals,
            reasons=_ranked(self._reasons),
            signature_reasons=_ranked(self._signature_reasons),
            scopes=scopes,
            signers=signers,
            unknown_keys=UnknownKeys(
                self._unknown_signatures,
                self._unknown_images,
                tuple(sorted(self._unknown_key_ids.items())),
            ),
            images=rows,
            failures=tuple(self._failures[name] for name in sorted(self._failures)),
            signature_sources=tuple(sorted(self._sources.items())),
        )


def build_report(
    images: Iterable[AuditedImage],
    failures: Iterable[AuditFailure] = (),
    *,
    policy: str,
    namespace: str | None = None,
) -> AuditReport:
    """The report over ``images`` (each Image once) and the ones that could not be judged."""
    accumulator = AuditAccumulator(policy=policy, namespace=namespace)
    for audited in images:
        accumulator.add(audited)
    for failure in failures:
        accumulator.add_failure(failure)
    return accumulator.report()
