"""The signed payload of an atomic container signature, parsed with containers/image strictness.

containers-signature(5) and containers/image ``signature/simple.go``: the top level has exactly
``critical`` and ``optional``; ``critical`` exactly ``type``, ``image`` and ``identity``;
``image`` exactly ``docker-manifest-digest``; ``identity`` exactly ``docker-reference``.
Unknown or missing members, duplicate keys anywhere, wrong types and trailing data are
rejected. ``optional`` may hold anything, but ``creator`` must be a string and ``timestamp``
an integral number when present.

Only call :func:`parse_claims` on bytes whose signature has already verified: nothing here is
trustworthy on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sigverify.limits import MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES
from sigverify.strict_input import StrictInputError, Wording, read_json

__all__ = ["SIGNATURE_TYPE", "ClaimsError", "SignedClaims", "parse_claims", "parse_digest"]

SIGNATURE_TYPE = "atomic container signature"

# opencontainers/go-digest: the algorithms an atomic signature may name. Only sha256 can
# match an OpenShift Image name; the others parse but never match.
_DIGEST_FORMS = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha384": re.compile(r"[a-f0-9]{96}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class ClaimsError(ValueError):
    """The payload is not a valid atomic container signature payload."""


@dataclass(frozen=True)
class SignedClaims:
    """What a verified signature claims: the manifest digest and the image identity."""

    manifest_digest: str
    docker_reference: str
    creator: str | None = None
    timestamp: int | None = None

    def as_signed_claims(self) -> dict[str, str]:
        """The flat string map written to ``ImageSignature.signedClaims``."""
        out = {
            "type": SIGNATURE_TYPE,
            "docker-manifest-digest": self.manifest_digest,
            "docker-reference": self.docker_reference,
        }
        if self.creator is not None:
            out["creator"] = self.creator
        if self.timestamp is not None:
            out["timestamp"] = str(self.timestamp)
        return out


def parse_digest(value: str) -> str:
    """Return ``value`` if it is a well-formed digest, else raise :class:`ClaimsError`."""
    algorithm, sep, encoded = value.partition(":")
    form = _DIGEST_FORMS.get(algorithm)
    if not sep or form is None or not form.fullmatch(encoded):
        raise ClaimsError(f"docker-manifest-digest {value!r} is not a valid digest")
    return value


# The signed payload's refusals, worded as they always were; read by the one strict reader
# with the payload's own limits (MAX_PAYLOAD_BYTES, MAX_JSON_DEPTH). containers/image rejects
# a byte order mark here (Go's encoding/json does), so it is not dropped.
_WORDING = Wording(
    invalid_json="payload is not JSON",
    invalid_yaml="payload is not JSON",
    not_a_number="{name} is not valid JSON",
    duplicate_key="duplicate key {key!r}",
    too_deep=f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
    empty="payload is empty",
    syntax="{invalid_json}: {msg} at offset {pos}",
    too_large="payload is larger than {limit} bytes",
    not_utf8="payload is not UTF-8",
)


def _exact_object(value: Any, fields: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ClaimsError(f"{where} is not a JSON object")
    if value.keys() == _FIELD_SETS[fields]:  # the common case, without building lists
        return value
    missing = [f for f in fields if f not in value]
    unknown = sorted(k for k in value if k not in fields)
    if unknown:
        raise ClaimsError(f"{where} has unknown member {unknown[0]!r}")
    if missing:
        raise ClaimsError(f"{where} is missing member {missing[0]!r}")
    return value


_FIELD_SETS: dict[tuple[str, ...], frozenset[str]] = {
    fields: frozenset(fields)
    for fields in (
        ("critical", "optional"),
        ("type", "image", "identity"),
        ("docker-manifest-digest",),
        ("docker-reference",),
    )
}


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ClaimsError(f"{where} is not a string")
    return value


def parse_claims(payload: bytes) -> SignedClaims:
    """Parse a verified payload into :class:`SignedClaims`, or raise :class:`ClaimsError`."""
    try:
        document = read_json(
            payload,
            _WORDING,
            max_depth=MAX_JSON_DEPTH,
            max_bytes=MAX_PAYLOAD_BYTES,
            byte_order_mark=False,
        )
    except StrictInputError as exc:
        raise ClaimsError(exc.message) from None

    top = _exact_object(document, ("critical", "optional"), "the payload")
    critical = _exact_object(top["critical"], ("type", "image", "identity"), "critical")
    optional = top["optional"]
    if not isinstance(optional, dict):
        raise ClaimsError("optional is not a JSON object")

    signature_type = _string(critical["type"], "critical.type")
    if signature_type != SIGNATURE_TYPE:
        raise ClaimsError(f"unrecognized signature type {signature_type!r}")
    image = _exact_object(critical["image"], ("docker-manifest-digest",), "critical.image")
    digest = parse_digest(
        _string(image["docker-manifest-digest"], "critical.image.docker-manifest-digest")
    )
    identity = _exact_object(critical["identity"], ("docker-reference",), "critical.identity")
    reference = _string(identity["docker-reference"], "critical.identity.docker-reference")

    creator = None
    if "creator" in optional:
        creator = _string(optional["creator"], "optional.creator")
    timestamp = None
    if "timestamp" in optional:
        timestamp = _timestamp(optional["timestamp"])
    return SignedClaims(digest, reference, creator, timestamp)


def _timestamp(value: Any) -> int:
    # containers/image decodes the timestamp as a float64 and accepts it when integral.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimsError("optional.timestamp is not a number")
    if isinstance(value, float) and not value.is_integer():
        raise ClaimsError("optional.timestamp is not an integer")
    number = int(value)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ClaimsError("optional.timestamp is out of range")
    return number
