"""Policy audit reports: what is signed, by whom, and what the policy would deny.

Pure: verdicts in, an :class:`AuditReport` out. The engine decides every image's trust
(``Verifier.verify_image``); this module only counts and groups what the verdicts say.
Listing the image API and verifying live in :mod:`sigverify.cli.audit`; the text, JSON and
CSV forms in :mod:`sigverify.audit.render`. The facts about the policy's keys (creation,
expiry, revocation, the scopes that trust each) are handed in as :class:`KeyFacts`
(read from the loaded key material by :mod:`sigverify.audit.keyfacts`), and "now" (for key
days left and signature ages) is handed in too: nothing here reads a clock or a file.

:class:`AuditAccumulator` takes one image at a time and keeps only compact rows (never the
raw Image nor the full verdict), so a cluster of tens of thousands of images is audited in
one pass; :func:`build_report` is the same over an iterable.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sigverify.core.verdict import ImageVerdict, Reason, SignatureVerdict, format_key_id

__all__ = [
    "DEFAULT_EXPIRY_WARNING_DAYS",
    "UNKNOWN_KEY_NOTE",
    "AuditAccumulator",
    "AuditFailure",
    "AuditReport",
    "AuditedImage",
    "ImageRow",
    "KeyFacts",
    "KeyRow",
    "NamespaceRow",
    "ScopeRow",
    "SignatureRow",
    "SignerRow",
    "SignerScope",
    "SubkeyFacts",
    "SubkeyRow",
    "TagRef",
    "Totals",
    "UnknownKeys",
    "UnsignedRow",
    "build_report",
    "current_tags",
    "whole_days",
]

#: What the key IDs of unknown signers are: a signature the backend refused as
#: ``UnknownKey`` has no verified ``Signer``; its key ID is the one the blob claims.
UNKNOWN_KEY_NOTE = "key IDs as the signatures claim them: unverified"

#: A key expiring in fewer days than this is flagged (``sigverify audit --expiry-warning-days``).
DEFAULT_EXPIRY_WARNING_DAYS = 90
_DAY_SECONDS = 86_400

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


@dataclass(frozen=True)
class KeyFacts:
    """What the key material the policy loaded says about one (primary) key."""

    fingerprint: str
    public_key_id: str
    user_ids: tuple[str, ...]
    #: ``RSA``, ``DSA``, ``ECDSA``, ``EdDSA``, … (RFC 4880 §9.1).
    algorithm: str
    #: Modulus (RSA), prime p (DSA) or curve size (ECDSA: 256/384/521, EdDSA: 255); None
    #: when the key's parameters were not read.
    bits: int | None
    created: datetime | None
    expires: datetime | None
    revoked: bool
    #: The policy scopes (``default`` included) one of whose ``signedBy`` names the key.
    scopes: tuple[str, ...] = ()
    subkeys: tuple[SubkeyFacts, ...] = ()


@dataclass(frozen=True)
class SubkeyFacts:
    """One subkey of a policy key: its own creation, expiry, revocation and capability."""

    fingerprint: str
    public_key_id: str
    algorithm: str
    bits: int | None
    created: datetime | None
    expires: datetime | None
    revoked: bool
    can_sign: bool


@dataclass(frozen=True)
class SubkeyRow:
    """A subkey's facts and, as for its key, whole days left from the report's ``now``."""

    facts: SubkeyFacts
    days_left: int | None
    expired: bool


def whole_days(seconds: float) -> int:
    """Whole days in ``seconds``, rounded down (-0.5 days is -1: already past)."""
    return math.floor(seconds / _DAY_SECONDS)


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
    #: Every signature of the image, in the Image's order.
    signature_details: tuple[SignatureRow, ...] = ()

    @property
    def unsigned(self) -> bool:
        return self.signatures == 0


@dataclass(frozen=True)
class SignatureRow:
    """One signature of an audited image, as the engine judged it.

    ``created`` is the OpenPGP signature's creation time (``created_from`` ``signature``:
    authenticated, part of what was signed) and, for a signature that verified without one,
    the claims' ``optional.timestamp`` (``claims``); None when the signature did not verify
    (nothing in an unverified blob is reported as fact).
    """

    name: str
    reason: Reason
    message: str
    trusted: bool
    #: The signature verified and names this image (its digest and an accepted identity):
    #: only then does its signer count as signing the image.
    valid_for_image: bool
    signer: str | None = None  # publicKeyID of the verified signer
    signer_fingerprint: str | None = None
    claimed_key_id: str | None = None  # UnknownKey: the key ID the blob claims (unverified)
    identity: str | None = None  # the signed docker-reference
    created: datetime | None = None
    created_from: str | None = None
    age_days: int | None = None
    source: str | None = None


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
class KeyRow:
    """A key of the policy, or a key seen signing: its facts and what it signed validly.

    A key seen signing but not among the policy's keys has only what its signatures say
    (fingerprint, key ID, user ID); the rest is None.
    """

    fingerprint: str
    public_key_id: str
    user_ids: tuple[str, ...]
    algorithm: str | None
    bits: int | None
    created: datetime | None
    expires: datetime | None
    #: Whole days from the report's ``now`` to ``expires`` (rounded down; negative once
    #: expired); None when the key never expires or no ``now`` was given.
    days_left: int | None
    #: Expired, or expiring in fewer than the report's ``expiry_warning_days``.
    expiry_warning: bool
    expired: bool
    revoked: bool
    #: Some scope of the policy trusts it (``scopes`` is not empty).
    trusted: bool
    scopes: tuple[str, ...]
    #: Images carrying a signature of it that verified and names that image.
    valid_images: int
    #: ... of which the signature was accepted by a ``signedBy`` of the image's scope.
    trusted_images: int
    #: Signatures of it that verified (on any image, valid for it or not).
    signatures: int
    #: Its subkeys, each with its own expiry (a signing subkey may expire before its key).
    subkeys: tuple[SubkeyRow, ...] = ()


@dataclass(frozen=True)
class UnsignedRow:
    """An audited image without any signature, and where it is used."""

    image: str
    reference: str
    scope: str
    trusted: bool  # only by an insecureAcceptAnything scope
    reason: Reason
    tags: tuple[TagRef, ...]
    namespaces: tuple[str, ...]


@dataclass(frozen=True)
class NamespaceRow:
    """The images the tags of one namespace point at (an image tagged in two namespaces
    counts in both; images no tag points at are not in any)."""

    namespace: str
    images: int
    trusted: int
    denied: int
    unsigned: int


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
    #: The policy's keys and every key seen signing, by key ID.
    keys: tuple[KeyRow, ...] = ()
    namespaces: tuple[NamespaceRow, ...] = ()
    #: The moment key days and signature ages are counted from (None: not counted).
    now: datetime | None = None
    expiry_warning_days: int = DEFAULT_EXPIRY_WARNING_DAYS

    @property
    def denied(self) -> tuple[ImageRow, ...]:
        return tuple(row for row in self.images if not row.trusted)

    @property
    def unsigned(self) -> tuple[UnsignedRow, ...]:
        return tuple(
            UnsignedRow(
                image=row.image,
                reference=row.reference,
                scope=row.scope,
                trusted=row.trusted,
                reason=row.reason,
                tags=row.tags,
                namespaces=tuple(sorted({tag.namespace for tag in row.tags})),
            )
            for row in self.images
            if row.unsigned
        )


# -- aggregation -----------------------------------------------------------------------------


@dataclass
class _Signer:
    public_key_id: str
    user_id: str | None
    fingerprint: str
    #: Images it signed validly (the signature names that image).
    images: set[str] = field(default_factory=set)
    trusted_images: set[str] = field(default_factory=set)
    signatures: int = 0
    #: Scope → images it signed validly there; a scope where it only signed other images
    #: is listed with none.
    scope_images: dict[str, set[str]] = field(default_factory=dict)
    scope_trust: dict[str, bool] = field(default_factory=dict)


@dataclass
class _Scope:
    requirements: tuple[str, ...]
    images: int = 0
    trusted: int = 0


def _ranked(counter: Counter[Reason]) -> tuple[tuple[Reason, int], ...]:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0].value)))


def _signature_row(signature: SignatureVerdict, now: datetime | None) -> SignatureRow:
    signer = signature.signer
    claims = signature.claims
    created, created_from = signature.signature_created, "signature"
    if created is None and claims is not None and claims.timestamp is not None:
        created, created_from = datetime.fromtimestamp(claims.timestamp, tz=UTC), "claims"
    age = None
    if created is not None and now is not None:
        age = whole_days((now - created).total_seconds())
    return SignatureRow(
        name=signature.name,
        reason=signature.reason,
        message=signature.message,
        trusted=signature.trusted,
        valid_for_image=_valid_for_image(signature),
        signer=signer.public_key_id if signer is not None else None,
        signer_fingerprint=signer.fingerprint if signer is not None else None,
        claimed_key_id=(
            format_key_id(signature.claimed_key_id) if signature.claimed_key_id else None
        ),
        identity=claims.docker_reference if claims is not None else None,
        created=created,
        created_from=created_from if created is not None else None,
        age_days=age,
        source=signature.source,
    )


def _valid_for_image(signature: SignatureVerdict) -> bool:
    """The signature verified and names this image: the engine's ``for_image`` (its digest,
    and an identity the scope's rules accept). A signature for another digest or identity
    does not sign this image, whoever made it."""
    return signature.authenticated and signature.for_image


class AuditAccumulator:
    """Builds an :class:`AuditReport` one image at a time.

    ``keys``: the facts of the policy's keys (every one gets a row in the report, signing or
    not); ``now``: when key days left and signature ages are counted from (None: not
    counted); ``expiry_warning_days``: a key expiring sooner is flagged.
    """

    def __init__(
        self,
        *,
        policy: str,
        namespace: str | None = None,
        keys: Iterable[KeyFacts] = (),
        now: datetime | None = None,
        expiry_warning_days: int = DEFAULT_EXPIRY_WARNING_DAYS,
    ) -> None:
        if expiry_warning_days < 0:
            raise ValueError("expiry_warning_days must not be negative")
        self.policy = policy
        self.namespace = namespace
        self.now = now
        self.expiry_warning_days = expiry_warning_days
        self._keys = {facts.fingerprint: facts for facts in keys}
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

    @property
    def audited(self) -> int:
        """Images added so far (audited or failed)."""
        return len(self._rows) + len(self._failures)

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
            entry = self._signers.setdefault(
                signer.fingerprint,
                _Signer(signer.public_key_id, signer.user_id, signer.fingerprint),
            )
            entry.signatures += 1
            in_scope = entry.scope_images.setdefault(verdict.scope, set())
            if _valid_for_image(signature):
                signer_ids.add(signer.public_key_id)
                entry.images.add(verdict.image)
                in_scope.add(verdict.image)
                if signature.requirement is not None:
                    entry.trusted_images.add(verdict.image)
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
            signature_details=tuple(_signature_row(s, self.now) for s in verdict.signatures),
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

    def _key_row(self, facts: KeyFacts | None, seen: _Signer | None) -> KeyRow:
        if facts is None:
            assert seen is not None  # a row is made for a key known or seen, never neither
            facts = KeyFacts(
                fingerprint=seen.fingerprint,
                public_key_id=seen.public_key_id,
                user_ids=(seen.user_id,) if seen.user_id else (),
                algorithm="",
                bits=None,
                created=None,
                expires=None,
                revoked=False,
            )
        days_left, expired = self._days_left(facts.expires)
        return KeyRow(
            fingerprint=facts.fingerprint,
            public_key_id=facts.public_key_id,
            user_ids=facts.user_ids,
            algorithm=facts.algorithm or None,
            bits=facts.bits,
            created=facts.created,
            expires=facts.expires,
            days_left=days_left,
            expiry_warning=expired
            or (days_left is not None and days_left < self.expiry_warning_days),
            expired=expired,
            revoked=facts.revoked,
            trusted=bool(facts.scopes),
            scopes=facts.scopes,
            valid_images=len(seen.images) if seen else 0,
            trusted_images=len(seen.trusted_images) if seen else 0,
            signatures=seen.signatures if seen else 0,
            subkeys=tuple(SubkeyRow(sub, *self._days_left(sub.expires)) for sub in facts.subkeys),
        )

    def _days_left(self, expires: datetime | None) -> tuple[int | None, bool]:
        """(whole days from now to ``expires``, expired): (None, False) when it never
        expires or no ``now`` was given."""
        if expires is None or self.now is None:
            return None, False
        return whole_days((expires - self.now).total_seconds()), expires <= self.now

    def _namespaces(self, rows: tuple[ImageRow, ...]) -> tuple[NamespaceRow, ...]:
        counts: dict[str, list[int]] = {}
        for row in rows:
            for namespace in {tag.namespace for tag in row.tags}:
                entry = counts.setdefault(namespace, [0, 0, 0])
                entry[0] += 1
                entry[1] += row.trusted
                entry[2] += row.unsigned
        return tuple(
            NamespaceRow(name, images, trusted, images - trusted, unsigned)
            for name, (images, trusted, unsigned) in sorted(counts.items())
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
        keys = tuple(
            sorted(
                (
                    self._key_row(self._keys.get(fingerprint), self._signers.get(fingerprint))
                    for fingerprint in self._keys.keys() | self._signers.keys()
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
            keys=keys,
            namespaces=self._namespaces(rows),
            now=self.now,
            expiry_warning_days=self.expiry_warning_days,
        )


def build_report(
    images: Iterable[AuditedImage],
    failures: Iterable[AuditFailure] = (),
    *,
    policy: str,
    namespace: str | None = None,
    keys: Iterable[KeyFacts] = (),
    now: datetime | None = None,
    expiry_warning_days: int = DEFAULT_EXPIRY_WARNING_DAYS,
) -> AuditReport:
    """The report over ``images`` (each Image once) and the ones that could not be judged."""
    accumulator = AuditAccumulator(
        policy=policy,
        namespace=namespace,
        keys=keys,
        now=now,
        expiry_warning_days=expiry_warning_days,
    )
    for audited in images:
        accumulator.add(audited)
    for failure in failures:
        accumulator.add_failure(failure)
    return accumulator.report()
