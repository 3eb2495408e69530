"""Verdicts: what the engine decided about each signature and about the image.

Pure data. The engine builds these; faces render them and never re-derive trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sigverify.core.claims import SignedClaims
from sigverify.errors import SigverifyError

__all__ = [
    "ImageVerdict",
    "Reason",
    "RequirementResult",
    "SignatureRejected",
    "SignatureVerdict",
    "Signer",
    "format_key_id",
]


class Reason(StrEnum):
    """Stable reason codes. Their values are part of the CLI/HTTP/condition contract."""

    # signature level
    TRUSTED = "Trusted"
    UNTRUSTED_KEY = "UntrustedKey"
    UNKNOWN_KEY = "UnknownKey"
    INVALID_SIGNATURE = "InvalidSignature"
    NO_SIGNATURE = "NoSignature"
    MULTIPLE_SIGNATURES = "MultipleSignatures"
    KEY_EXPIRED = "KeyExpired"
    KEY_REVOKED = "KeyRevoked"
    SIGNATURE_EXPIRED = "SignatureExpired"
    INVALID_PAYLOAD = "InvalidPayload"
    DIGEST_MISMATCH = "DigestMismatch"
    IDENTITY_MISMATCH = "IdentityMismatch"
    UNSUPPORTED_TYPE = "UnsupportedType"
    REJECTED = "Rejected"
    # image level
    ACCEPTED = "Accepted"
    NOT_SIGNED = "NotSigned"
    NOT_ENOUGH_SIGNERS = "NotEnoughSigners"


class SignatureRejected(SigverifyError):
    """One signature blob was not accepted. ``reason`` is the stable reason code.

    ``key_id`` (UnknownKey only) is the 64-bit key ID, 16 upper-case hex, that the blob names
    as its issuer: an unauthenticated claim, for reports ("signed by unknown 0x…").
    """

    def __init__(self, reason: Reason, message: str, *, key_id: str | None = None) -> None:
        self.reason = reason
        self.key_id = key_id.upper()[-16:] if key_id else None
        super().__init__(message)


def format_key_id(key_id: str) -> str:
    """The OpenShift ``publicKeyID`` form of a 64-bit key ID: ``0x`` + 16 upper-case hex."""
    return "0x" + key_id.upper()


@dataclass(frozen=True)
class Signer:
    """Who made a cryptographically valid signature.

    ``fingerprint`` is the primary key's (a subkey signature is attributed to its primary,
    as GnuPG does); ``signing_key_fingerprint`` is the (sub)key that actually signed.
    """

    fingerprint: str
    key_id: str
    signing_key_fingerprint: str
    user_id: str | None = None

    @property
    def public_key_id(self) -> str:
        return format_key_id(self.key_id)


# The verdicts are frozen dataclasses with a hand-written ``__init__``: the generated one sets
# each field through ``object.__setattr__`` (the frozen guard), some 2,000 instructions a
# field, and the engine makes one SignatureVerdict per signature. Filling the instance's
# ``__dict__`` at once leaves the same object. Each ``__init__`` takes the fields in their
# declared order with their declared defaults (tests/core/test_verdict_fast_init.py checks it).


@dataclass(frozen=True, init=False)
class SignatureVerdict:
    """The decision about one ImageSignature, with everything needed to explain it."""

    name: str
    trusted: bool
    for_image: bool
    reason: Reason
    message: str
    signer: Signer | None = None
    claims: SignedClaims | None = None
    signature_created: datetime | None = None
    digest_matches: bool | None = None
    identity_matches: bool | None = None
    requirement: str | None = None
    #: For an UnknownKey signature: the 64-bit key ID the blob *claims* as its issuer
    #: (unauthenticated; never used for trust, only to name the key in reports).
    claimed_key_id: str | None = None
    #: Where the signature was found: ``image`` (the Image object), ``lookaside`` or
    #: ``registry`` (the signatures extension). Set by the caller that gathered the
    #: signatures, never by the engine; None when the caller does not say.
    source: str | None = None

    def __init__(
        self,
        name: str,
        trusted: bool,
        for_image: bool,
        reason: Reason,
        message: str,
        signer: Signer | None = None,
        claims: SignedClaims | None = None,
        signature_created: datetime | None = None,
        digest_matches: bool | None = None,
        identity_matches: bool | None = None,
        requirement: str | None = None,
        claimed_key_id: str | None = None,
        source: str | None = None,
    ) -> None:
        self.__dict__.update(
            name=name,
            trusted=trusted,
            for_image=for_image,
            reason=reason,
            message=message,
            signer=signer,
            claims=claims,
            signature_created=signature_created,
            digest_matches=digest_matches,
            identity_matches=identity_matches,
            requirement=requirement,
            claimed_key_id=claimed_key_id,
            source=source,
        )

    @property
    def authenticated(self) -> bool:
        """True when the crypto verified, so ``claims`` and ``signer`` may be relied on."""
        return self.signer is not None and self.claims is not None


@dataclass(frozen=True, init=False)
class RequirementResult:
    """How one policy requirement judged the image."""

    requirement: str
    satisfied: bool
    message: str

    def __init__(self, requirement: str, satisfied: bool, message: str) -> None:
        self.__dict__.update(requirement=requirement, satisfied=satisfied, message=message)


@dataclass(frozen=True, init=False)
class ImageVerdict:
    """The decision about one image: trusted only if every requirement of its scope is met."""

    image: str
    reference: str
    scope: str
    trusted: bool
    reason: Reason
    message: str
    signatures: tuple[SignatureVerdict, ...] = ()
    requirements: tuple[RequirementResult, ...] = ()
    verified_at: datetime | None = None

    def __init__(
        self,
        image: str,
        reference: str,
        scope: str,
        trusted: bool,
        reason: Reason,
        message: str,
        signatures: tuple[SignatureVerdict, ...] = (),
        requirements: tuple[RequirementResult, ...] = (),
        verified_at: datetime | None = None,
    ) -> None:
        self.__dict__.update(
            image=image,
            reference=reference,
            scope=scope,
            trusted=trusted,
            reason=reason,
            message=message,
            signatures=signatures,
            requirements=requirements,
            verified_at=verified_at,
        )
