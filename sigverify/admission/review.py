"""AdmissionReview (``admission.k8s.io/v1``) in and out, parsed with marshmallow.

Malformed bodies — not JSON (repeated keys, ``NaN`` and nesting deeper than
``MAX_ENVELOPE_DEPTH`` included, see :mod:`sigverify.strict_input`), not an object, the wrong
``apiVersion``/``kind``, a missing ``uid``, fields of the wrong type — are rejected with
:class:`~sigverify.errors.InputError` (HTTP 400). Unknown fields are *ignored*, not rejected:
the API server adds fields to AdmissionRequest over releases (``requestKind`` arrived in
1.15), and refusing them would turn a cluster upgrade into a cluster-wide admission outage
under ``failurePolicy: Fail``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from sigverify.errors import InputError
from sigverify.limits import MAX_ENVELOPE_DEPTH
from sigverify.objects.strict_fields import StrictBoolean
from sigverify.strict_input import StrictInputError, Wording, read_json

__all__ = [
    "ADMISSION_API_VERSION",
    "MAX_REVIEW_BYTES",
    "AdmissionRequest",
    "AdmissionResponse",
    "GroupVersionKind",
    "parse_review",
    "review_response",
]

ADMISSION_API_VERSION = "admission.k8s.io/v1"
#: Largest AdmissionReview body accepted. etcd caps objects at 1.5 MiB; a review carries the
#: object and the old object, JSON-encoded, so 8 MiB leaves room without inviting abuse.
MAX_REVIEW_BYTES = 8 * 1024 * 1024
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")

_BODY_WORDING = Wording(
    invalid_json="the body is not JSON",
    invalid_yaml="the body is not JSON",
    not_a_number="{name} is not a JSON number",
    duplicate_key="duplicate key {key!r}",
    too_deep=f"the body is nested deeper than {MAX_ENVELOPE_DEPTH} levels",
    empty="the body is empty",
    syntax="{invalid_json}: {error}",
    too_large="the AdmissionReview is larger than {limit} bytes",
    not_utf8="the body is not valid UTF-8 (byte {start})",
)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class _GroupVersionKindSchema(_Lenient):
    group = fields.String(load_default="")
    version = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.Length(min=1))


class _GroupVersionResourceSchema(_Lenient):
    group = fields.String(load_default="")
    version = fields.String(required=True)
    resource = fields.String(required=True, validate=validate.Length(min=1))


class _RequestSchema(_Lenient):
    uid = fields.String(required=True, validate=validate.Length(min=1, max=256))
    kind = fields.Nested(_GroupVersionKindSchema, required=True)
    resource = fields.Nested(_GroupVersionResourceSchema, required=True)
    subResource = fields.String(load_default="")
    name = fields.String(load_default="")
    namespace = fields.String(load_default="")
    operation = fields.String(required=True, validate=validate.OneOf(OPERATIONS))
    userInfo = fields.Dict(load_default=dict)
    object = fields.Dict(allow_none=True, load_default=None)
    oldObject = fields.Dict(allow_none=True, load_default=None)
    dryRun = StrictBoolean(load_default=False, allow_none=True)
    options = fields.Dict(allow_none=True, load_default=None)


class _ReviewSchema(_Lenient):
    apiVersion = fields.String(required=True, validate=validate.Equal(ADMISSION_API_VERSION))
    kind = fields.String(required=True, validate=validate.Equal("AdmissionReview"))
    request = fields.Nested(_RequestSchema, required=True)


class _StatusSchema(Schema):
    code = fields.Integer()
    message = fields.String()


class _ResponseSchema(Schema):
    uid = fields.String()
    allowed = fields.Boolean()
    status = fields.Nested(_StatusSchema)
    warnings = fields.List(fields.String())
    auditAnnotations = fields.Dict(keys=fields.String(), values=fields.String())
    patchType = fields.String()
    patch = fields.String()


class _ReviewOutSchema(Schema):
    apiVersion = fields.String()
    kind = fields.String()
    response = fields.Nested(_ResponseSchema)


# Built once: a schema instance is stateless between loads, and building one (with its nested
# schemas) costs more than the load itself.
_REVIEW_SCHEMA = _ReviewSchema()
_REVIEW_OUT_SCHEMA = _ReviewOutSchema()


@dataclass(frozen=True)
class GroupVersionKind:
    group: str
    version: str
    kind: str


@dataclass(frozen=True)
class AdmissionRequest:
    """The parts of an AdmissionRequest the webhook reads."""

    uid: str
    kind: GroupVersionKind
    resource: str
    sub_resource: str
    name: str
    namespace: str
    operation: str
    object: Mapping[str, Any] | None
    old_object: Mapping[str, Any] | None
    dry_run: bool
    username: str = ""


@dataclass(frozen=True)
class AdmissionResponse:
    """The webhook's answer, before it is wrapped in an AdmissionReview."""

    uid: str
    allowed: bool
    status_code: int | None = None
    message: str | None = None
    warnings: Sequence[str] = ()
    audit_annotations: Mapping[str, str] = field(default_factory=dict)
    patch: Sequence[Mapping[str, Any]] | None = None  # RFC 6902 operations


def _messages(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [m for k, v in errors.items() for m in _messages(v, f"{prefix}{k}.")]
    if isinstance(errors, list):
        return [f"{prefix.rstrip('.')}: {e}" for e in errors if isinstance(e, str)] + [
            m for e in errors if not isinstance(e, str) for m in _messages(e, prefix)
        ]
    return [f"{prefix.rstrip('.')}: {errors}"]


def parse_review(body: bytes) -> AdmissionRequest:
    """Parse an AdmissionReview body into an :class:`AdmissionRequest` or raise InputError."""
    try:
        document = read_json(
            body, _BODY_WORDING, max_depth=MAX_ENVELOPE_DEPTH, max_bytes=MAX_REVIEW_BYTES
        )
    except StrictInputError as exc:
        raise InputError(exc.located) from exc
    if not isinstance(document, dict):
        raise InputError("the body must be a JSON object (an AdmissionReview)")
    request = read_well_formed(document)
    return request if request is not None else read_through_schema(document)


def read_through_schema(document: dict[str, Any]) -> AdmissionRequest:
    """The review ``document`` (a JSON object) read through its marshmallow schema: every
    review, well-formed or not, and the wording of every refusal (InputError)."""
    try:
        data = _REVIEW_SCHEMA.load(document)
    except ValidationError as exc:
        details = "; ".join(sorted(_messages(exc.messages)))
        raise InputError(f"not an admission.k8s.io/v1 AdmissionReview: {details}") from exc
    request = data["request"]
    kind = request["kind"]
    user = request["userInfo"].get("username", "")
    return AdmissionRequest(
        uid=request["uid"],
        kind=GroupVersionKind(kind["group"], kind["version"], kind["kind"]),
        resource=request["resource"]["resource"],
        sub_resource=request["subResource"],
        name=request["name"],
        namespace=request["namespace"],
        operation=request["operation"],
        object=request["object"],
        old_object=request["oldObject"],
        dry_run=bool(request["dryRun"]),
        username=user if isinstance(user, str) else "",
    )


# -- the well-formed review, read without marshmallow ------------------------------------
#
# Every admission's body is read; through the schema that costs more than the rest of the
# request's parsing. read_well_formed accepts exactly the reviews the schema would load without
# a complaint, checked member by member against the schema above, and builds the same
# AdmissionRequest; anything else it leaves to the schema (None), which words the refusal.
# tests/admission/test_review_fast.py compares the two on generated reviews.


def _text(value: Any) -> TypeGuard[str]:
    return type(value) is str


def _optional_text(members: Mapping[str, Any], name: str) -> str | None:
    """A ``fields.String(load_default="")`` member: absent is "", a string is itself, anything
    else (null included) is not well-formed (None)."""
    value = members.get(name, "")
    return value if type(value) is str else None


def _group_version(members: Any, named: str) -> tuple[str, str, str] | None:
    """``(group, version, <named>)`` of a GroupVersionKind/Resource object, if well-formed."""
    if type(members) is not dict:
        return None
    group = _optional_text(members, "group")
    version = members.get("version")
    name = members.get(named)
    if group is None or not _text(version) or not _text(name) or not name:
        return None
    return group, version, name


def _optional_object(members: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """A ``fields.Dict(allow_none=True, load_default=None)`` member: (well-formed, value);
    the schema loads an object as a shallow copy."""
    value = members.get(name)
    if value is None:
        return True, None
    return (True, dict(value)) if type(value) is dict else (False, None)


def read_well_formed(document: dict[str, Any]) -> AdmissionRequest | None:
    """The AdmissionRequest of ``document`` when it is a well-formed review, else None."""
    if (
        document.get("apiVersion") != ADMISSION_API_VERSION
        or document.get("kind") != "AdmissionReview"
        or not _text(document["apiVersion"])
        or not _text(document["kind"])
    ):
        return None
    request = document.get("request")
    if type(request) is not dict:
        return None
    uid = request.get("uid")
    operation = request.get("operation")
    if (
        not (_text(uid) and 1 <= len(uid) <= 256 and _text(operation))
        or operation not in OPERATIONS
    ):
        return None
    kind = _group_version(request.get("kind"), "kind")
    resource = _group_version(request.get("resource"), "resource")
    sub_resource = _optional_text(request, "subResource")
    name = _optional_text(request, "name")
    namespace = _optional_text(request, "namespace")
    if kind is None or resource is None or sub_resource is None:
        return None
    if name is None or namespace is None:
        return None
    user_info = request.get("userInfo", {})
    dry_run = request.get("dryRun", False)
    if type(user_info) is not dict or not (dry_run is None or type(dry_run) is bool):
        return None
    object_ok, new = _optional_object(request, "object")
    old_ok, old = _optional_object(request, "oldObject")
    options = request.get("options")
    if not (object_ok and old_ok and (options is None or type(options) is dict)):
        return None
    user = user_info.get("username", "")
    return AdmissionRequest(
        uid=uid,
        kind=GroupVersionKind(*kind),
        resource=resource[2],
        sub_resource=sub_resource,
        name=name,
        namespace=namespace,
        operation=operation,
        object=new,
        old_object=old,
        dry_run=bool(dry_run),
        username=user if isinstance(user, str) else "",
    )


def encode_patch(patch: Sequence[Mapping[str, Any]]) -> str:
    """RFC 6902 operations as the base64 the ``patch`` field carries."""
    text = json.dumps(list(patch), separators=(",", ":"), sort_keys=True)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def review_response(response: AdmissionResponse) -> dict[str, Any]:
    """The AdmissionReview the API server expects back (same apiVersion/kind, our uid)."""
    out: dict[str, Any] = {"uid": response.uid, "allowed": response.allowed}
    if response.status_code is not None:
        status: dict[str, Any] = {"code": response.status_code}
        if response.message:
            status["message"] = response.message
        out["status"] = status
    if response.warnings:
        out["warnings"] = list(response.warnings)
    if response.audit_annotations:
        out["auditAnnotations"] = dict(response.audit_annotations)
    if response.patch:
        out["patchType"] = "JSONPatch"
        out["patch"] = encode_patch(response.patch)
    review = {"apiVersion": ADMISSION_API_VERSION, "kind": "AdmissionReview", "response": out}
    if _dumps_unchanged(response):
        return review
    result: dict[str, Any] = _REVIEW_OUT_SCHEMA.dump(review)
    return result


def _dumps_unchanged(response: AdmissionResponse) -> bool:
    """True when dumping the review of ``response`` through its schema changes nothing: every
    member has the exact type the schema dumps it as (the review is built in the schema's
    member order). Anything else (an annotation that is not a string, ...) is dumped."""
    return (
        type(response.uid) is str
        and type(response.allowed) is bool
        and (response.status_code is None or type(response.status_code) is int)
        and (response.message is None or type(response.message) is str)
        and all(type(warning) is str for warning in response.warnings)
        and all(
            type(key) is str and type(value) is str
            for key, value in response.audit_annotations.items()
        )
    )
