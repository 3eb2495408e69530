"""marshmallow schemas at the HTTP boundary: one per success body, one for every error.

The verdict schemas mirror :func:`sigverify.render.verdict_to_json` (the CLI's ``--output
json``): responses are dumped through them, so the OpenAPI document and the bodies agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, Schema, fields

__all__ = [
    "ErrorSchema",
    "HealthSchema",
    "ReadinessSchema",
    "RecordArgsSchema",
    "VerificationSchema",
    "VerifyArgsSchema",
    "dumps_unchanged",
]


class _Strict(Schema):
    class Meta:
        ordered = True


class ErrorSchema(_Strict):
    """Every error: ``{code, status, message, errors}``."""

    code = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = fields.String(required=True, metadata={"description": "HTTP status phrase"})
    message = fields.String(required=True, metadata={"description": "what went wrong"})
    errors = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={"description": "details by location (query, path, json, body), may be empty"},
    )


class SignerSchema(_Strict):
    fingerprint = fields.String(required=True)
    keyID = fields.String(required=True)
    signingKeyFingerprint = fields.String(required=True)
    userID = fields.String(allow_none=True)


class ClaimsSchema(_Strict):
    dockerManifestDigest = fields.String(required=True)
    dockerReference = fields.String(required=True)
    creator = fields.String(allow_none=True)
    timestamp = fields.Integer(allow_none=True)


class SignatureVerdictSchema(_Strict):
    name = fields.String(required=True)
    trusted = fields.Boolean(required=True)
    forImage = fields.Boolean(required=True)
    reason = fields.String(required=True, metadata={"description": "stable reason code"})
    message = fields.String(required=True)
    signer = fields.Nested(SignerSchema, allow_none=True)
    claims = fields.Nested(ClaimsSchema, allow_none=True)
    created = fields.String(allow_none=True, metadata={"description": "RFC 3339"})
    digestMatches = fields.Boolean(allow_none=True)
    identityMatches = fields.Boolean(allow_none=True)
    acceptedBy = fields.String(allow_none=True)
    claimedKeyID = fields.String(
        allow_none=True,
        metadata={"description": "UnknownKey only: the key ID the blob claims (unverified)"},
    )


class RequirementSchema(_Strict):
    requirement = fields.String(required=True)
    satisfied = fields.Boolean(required=True)
    message = fields.String(required=True)


class RecordedSchema(_Strict):
    written = fields.Boolean(
        required=True, metadata={"description": "False when nothing needed writing"}
    )
    attempts = fields.Integer(required=True, metadata={"description": "PUT requests made"})
    conflicts = fields.Integer(required=True, metadata={"description": "of which lost to 409"})
    resourceVersion = fields.String(allow_none=True)


class VerificationSchema(_Strict):
    """The verdict (as ``sigverify verify --output json``), plus what was recorded."""

    trusted = fields.Boolean(required=True)
    image = fields.String(required=True, metadata={"description": "the Image name (digest)"})
    reference = fields.String(required=True)
    scope = fields.String(required=True)
    reason = fields.String(required=True)
    message = fields.String(required=True)
    verifiedAt = fields.String(allow_none=True)
    requirements = fields.List(fields.Nested(RequirementSchema), required=True)
    signatures = fields.List(fields.Nested(SignatureVerdictSchema), required=True)
    recorded = fields.Nested(
        RecordedSchema,
        allow_none=True,
        metadata={"description": "set by POST with record=true"},
    )


class VerifyArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    expectedIdentity = fields.String(
        metadata={
            "description": "image reference for the policy scope and identity rules "
            "(default: the Image's dockerImageReference)"
        }
    )


class RecordArgsSchema(VerifyArgsSchema):
    record = fields.Boolean(
        load_default=False, metadata={"description": "write the conditions back to the Image"}
    )
    signature = fields.List(
        fields.String(),
        metadata={"description": "record only these signatures (full names); repeatable"},
    )


class HealthSchema(_Strict):
    status = fields.String(required=True)


class PolicyStatusSchema(_Strict):
    loaded = fields.Boolean(required=True)
    source = fields.String(required=True)
    revision = fields.String(allow_none=True)
    loadedAt = fields.String(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "last refused reload"})
    reloads = fields.Integer(required=True)


class ImageAPIStatusSchema(_Strict):
    kind = fields.String(required=True, metadata={"description": "embedded or openshift"})
    reachable = fields.Boolean(required=True)
    error = fields.String(allow_none=True)


class ReadinessSchema(_Strict):
    ready = fields.Boolean(required=True)
    policy = fields.Nested(PolicyStatusSchema, required=True)
    imageAPI = fields.Nested(ImageAPIStatusSchema, required=True)


# -- bodies the schema would give back unchanged -------------------------------------------------

#: A check that a value dumps to itself: takes the value, answers True when it does.
_Check = Callable[[Any], bool]


def _field_check(field: fields.Field[Any]) -> _Check | None:
    """How to tell that ``field`` dumps a value to the very same value (None is always so:
    dumping never validates), or None for a field this does not know."""
    if isinstance(field, fields.Boolean):
        return lambda value: value is None or type(value) is bool
    if isinstance(field, fields.Integer):
        return lambda value: value is None or type(value) is int
    if isinstance(field, fields.String):
        return lambda value: value is None or type(value) is str
    if isinstance(field, fields.Nested) and isinstance(field.nested, type):
        inner = _schema_check(field.nested)
        if inner is None or field.many:
            return None
        return lambda value: value is None or inner(value)
    if isinstance(field, fields.List):
        each = _field_check(field.inner)
        if each is None:
            return None
        return lambda value: (
            value is None or (type(value) is list and all(each(item) for item in value))
        )
    return None


def _schema_check(schema: type[Schema]) -> _Check | None:
    declared = schema._declared_fields
    if any(f.data_key is not None or f.attribute is not None for f in declared.values()):
        return None
    keys = list(declared)
    checks = [_field_check(f) for f in declared.values()]
    if any(check is None for check in checks):
        return None
    pairs = list(zip(keys, checks, strict=True))

    def check(value: Any) -> bool:
        # Every declared member, in the declared order (an ordered schema dumps in that
        # order, and leaves out members the body lacks), and nothing else.
        return (
            type(value) is dict and list(value) == keys and all(c(value[k]) for k, c in pairs)  # type: ignore[misc]
        )

    return check


_VERIFICATION_CHECK = _schema_check(VerificationSchema)


def dumps_unchanged(body: Any) -> bool:
    """True when ``VerificationSchema().dump(body)`` is ``body`` itself, member for member and
    in the same order: the view may answer it without the dump (a warm GET spends more in
    marshmallow's dump than in its cache lookup). False answers nothing: dump it."""
    return _VERIFICATION_CHECK is not None and _VERIFICATION_CHECK(body)
