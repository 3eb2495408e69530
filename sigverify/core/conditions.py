"""Recording a verdict on an Image: signature conditions and verified claims. Pure, no I/O.

The Image update (PUT) stores exactly the signatures sent, so this module only ever adds or
updates: no signature, condition or field is removed or wiped (the reference tool's worst
fault). What it writes is shaped to pass the image API server's signature validation
(openshift-apiserver ``validateImageSignature``, transcribed for the embedded store in
:func:`sigverify.imageapi.validation.validate_signature`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from sigverify.core.verdict import ImageVerdict, Reason, SignatureVerdict, Signer
from sigverify.objects.types import (
    Image,
    ImageSignature,
    SignatureCondition,
    SignatureIssuer,
    SignatureSubject,
)

__all__ = [
    "EXPIRED",
    "FOR_IMAGE",
    "REVOKED",
    "TRUSTED",
    "apply_verdict",
    "describe_user_id",
    "whole_seconds",
]

TRUSTED = "Trusted"
FOR_IMAGE = "ForImage"
EXPIRED = "Expired"
REVOKED = "Revoked"
#: Condition types sigverify writes, in the order it writes them.
MANAGED_TYPES = (TRUSTED, FOR_IMAGE, EXPIRED, REVOKED)

_EXPIRED_REASONS = frozenset({Reason.KEY_EXPIRED, Reason.SIGNATURE_EXPIRED})
_REVOKED_REASONS = frozenset({Reason.KEY_REVOKED})
# OpenPGP user ID convention (RFC 4880 §5.11): "Name (Comment) <email>", each part optional.
_USER_ID = re.compile(
    r"\s*(?P<name>[^(<]*?)\s*(?:\((?P<comment>[^)]*)\))?\s*(?:<(?P<email>[^>]*)>)?\s*"
)


def whole_seconds(value: datetime) -> datetime:
    """metav1.Time precision, in UTC: the value that will read back from the cluster."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def describe_user_id(user_id: str) -> tuple[str | None, str | None]:
    """(commonName, organization) for an OpenPGP user ID ``Name (Comment) <email>``.

    commonName is the name (else the email, else the whole user ID); organization is the
    email's domain, the one part of a user ID that names an organisation reliably.
    """
    match = _USER_ID.fullmatch(user_id)
    if match is None:
        return (user_id.strip() or None), None
    name = match.group("name") or None
    email = (match.group("email") or "").strip() or None
    organization = None
    if email and "@" in email:
        organization = email.rpartition("@")[2] or None
    return (name or email or user_id.strip() or None), organization


# --- conditions -----------------------------------------------------------------------------


def _condition(
    previous: SignatureCondition | None,
    condition_type: str,
    status: str,
    reason: str,
    message: str,
    now: datetime,
) -> SignatureCondition:
    if previous is None:
        return SignatureCondition(condition_type, status, now, now, reason, message)
    transition = previous.last_transition_time
    if previous.status != status or transition is None:
        transition = now
    # replace() keeps the condition's unknown members.
    return replace(
        previous,
        status=status,
        last_probe_time=now,
        last_transition_time=transition,
        reason=reason,
        message=message,
    )


def _status(value: bool) -> str:
    return "True" if value else "False"


def _conditions(
    existing: Iterable[SignatureCondition], verdict: SignatureVerdict, now: datetime
) -> tuple[SignatureCondition, ...]:
    managed: dict[str, SignatureCondition] = {}
    others: list[SignatureCondition] = []
    for condition in existing:
        if condition.type in MANAGED_TYPES:
            # A repeated managed type (the API merges conditions by type, so it should not
            # happen) is folded into its first occurrence.
            managed.setdefault(condition.type, condition)
        else:
            others.append(condition)

    reason, message = verdict.reason.value, verdict.message
    if verdict.for_image and verdict.claims is not None:
        image_reason = "ForImage"
        image_message = (
            f"signature claims {verdict.claims.manifest_digest} "
            f"and identity {verdict.claims.docker_reference}"
        )
    else:
        image_reason, image_message = reason, message
    # Server validation quirk (docs/domain.md §1): Trusted, then ForImage, then anything else.
    written = [
        _condition(managed.get(TRUSTED), TRUSTED, _status(verdict.trusted), reason, message, now),
        _condition(
            managed.get(FOR_IMAGE),
            FOR_IMAGE,
            _status(verdict.for_image),
            image_reason,
            image_message,
            now,
        ),
    ]
    for condition_type, reasons in ((EXPIRED, _EXPIRED_REASONS), (REVOKED, _REVOKED_REASONS)):
        applies = verdict.reason in reasons
        if applies or condition_type in managed:
            written.append(
                _condition(
                    managed.get(condition_type),
                    condition_type,
                    _status(applies),
                    reason,
                    message,
                    now,
                )
            )
    return (*written, *others)


def _created(verdict: SignatureVerdict) -> datetime | None:
    if verdict.signature_created is not None:
        return whole_seconds(verdict.signature_created)
    if verdict.claims is not None and verdict.claims.timestamp is not None:
        try:
            return datetime.fromtimestamp(verdict.claims.timestamp, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _record_claims(signature: ImageSignature, verdict: SignatureVerdict) -> ImageSignature:
    """Fill the verified claims and signer; only called when the crypto verified."""
    claims, signer = verdict.claims, verdict.signer
    assert claims is not None and signer is not None
    common_name, organization = _signer_names(signer)
    issued_by = signature.issued_by or SignatureIssuer()
    issued_to = signature.issued_to or SignatureSubject()
    return replace(
        signature,
        image_identity=claims.docker_reference,
        signed_claims=claims.as_signed_claims(),
        created=_created(verdict) or signature.created,
        # Never clear a member: a part the user ID does not give keeps its previous value.
        issued_by=replace(
            issued_by,
            common_name=common_name or issued_by.common_name,
            organization=organization or issued_by.organization,
        ),
        issued_to=replace(
            issued_to,
            common_name=common_name or issued_to.common_name,
            organization=organization or issued_to.organization,
            public_key_id=signer.public_key_id,
        ),
    )


def _signer_names(signer: Signer) -> tuple[str, str | None]:
    common_name, organization = describe_user_id(signer.user_id or "")
    # Without a user ID, name the key as `oc adm verify-image-signature` does.
    return common_name or signer.public_key_id, organization


def apply_verdict(image: Image, verdict: ImageVerdict, now: datetime) -> Image:
    """The Image with each judged signature's conditions (and, if verified, claims) updated.

    Signatures are matched to verdicts by name; those without a verdict are returned
    untouched, and nothing is ever removed. ``now`` becomes ``lastProbeTime`` (and
    ``lastTransitionTime`` where a status changed or a condition is new).
    """
    now = whole_seconds(now)
    verdicts: dict[str, SignatureVerdict] = {}
    for signature_verdict in verdict.signatures:
        verdicts.setdefault(signature_verdict.name, signature_verdict)
    signatures = []
    for signature in image.signatures:
        judged = verdicts.get(signature.name)
        if judged is not None:
            signature = replace(
                signature, conditions=_conditions(signature.conditions, judged, now)
            )
            if judged.authenticated:
                signature = _record_claims(signature, judged)
            # Unauthenticated: identity, claims and issuers stay exactly as they were.
        signatures.append(signature)
    return replace(image, signatures=tuple(signatures))
