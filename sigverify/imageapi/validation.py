"""The image API server's checks on Images and ImageSignatures, over raw JSON objects.

The embedded store applies them on every write so that a writer tested against it is held
to what an OpenShift API server accepts (docs/domain.md §1, openshift-apiserver
``pkg/image/apis/image/validation``). Two stages, as on the server: decoding (a member of the
wrong JSON type is a 400 ``BadRequest``) and validation (field errors, a 422 ``Invalid``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sigverify.imageapi.errors import BadRequestError, Cause
from sigverify.objects.types import parse_time

__all__ = [
    "ConditionScanCrash",
    "condition_order_crashes",
    "decode_content",
    "decode_image",
    "is_path_segment_name",
    "scan_conditions",
    "split_signature_name",
    "validate_image",
    "validate_image_update",
    "validate_signature",
]


_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
_SIGNATURE_STRINGS = ("type", "imageIdentity")
_CONDITION_STRINGS = ("type", "status", "reason", "message")
_CONDITION_TIMES = ("lastProbeTime", "lastTransitionTime")


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _mismatch(path: str, value: Any, go_type: str) -> BadRequestError:
    # The server's wording: the JSON decoder's "cannot unmarshal X into Go struct field".
    return BadRequestError(
        f'Image in version "v1" cannot be handled as a Image: json: cannot unmarshal '
        f"{_kind_of(value)} into Go struct field {path} of type {go_type}"
    )


def _check_string(obj: Mapping[str, Any], key: str, path: str) -> None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise _mismatch(f"{path}.{key}", value, "string")


def _check_object(value: Any, path: str, go_type: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _mismatch(path, value, go_type)
    return value


def _check_time(obj: Mapping[str, Any], key: str, path: str) -> None:
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise _mismatch(f"{path}.{key}", value, "v1.Time")
    try:
        parse_time(value)  # metav1.Time.UnmarshalJSON: time.Parse(time.RFC3339, …)
    except ValueError as exc:
        raise BadRequestError(
            f'Image in version "v1" cannot be handled as a Image: parsing time {value!r} '
            f'as "2006-01-02T15:04:05Z07:00": cannot parse ({path}.{key})'
        ) from exc


def decode_content(value: Any, path: str) -> bytes:
    """``content`` is a Go ``[]byte``: standard base64 in JSON (``null`` is empty)."""
    if value is None:
        return b""
    if not isinstance(value, str):
        raise _mismatch(path, value, "[]uint8")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError(
            f'Image in version "v1" cannot be handled as a Image: illegal base64 data in {path}'
        ) from exc


def _decode_metadata(value: Any, path: str) -> None:
    meta = _check_object(value, path, "v1.ObjectMeta")
    if meta is None:
        return
    for key in ("name", "namespace", "uid", "resourceVersion"):
        _check_string(meta, key, path)
    for key in ("labels", "annotations"):
        mapping = _check_object(meta.get(key), f"{path}.{key}", "map[string]string")
        for member, item in (mapping or {}).items():
            if not isinstance(item, str):
                raise _mismatch(f"{path}.{key}.{member}", item, "string")


def _decode_signature(signature: Any, path: str) -> None:
    sig = _check_object(signature, path, "v1.ImageSignature")
    if sig is None:
        raise _mismatch(path, signature, "v1.ImageSignature")
    _decode_metadata(sig.get("metadata"), f"{path}.metadata")
    for key in _SIGNATURE_STRINGS:
        _check_string(sig, key, path)
    decode_content(sig.get("content"), f"{path}.content")
    _check_time(sig, "created", path)
    claims = _check_object(sig.get("signedClaims"), f"{path}.signedClaims", "map[string]string")
    for member, item in (claims or {}).items():
        if not isinstance(item, str):
            raise _mismatch(f"{path}.signedClaims.{member}", item, "string")
    for key, go_type in (("issuedBy", "v1.SignatureIssuer"), ("issuedTo", "v1.SignatureSubject")):
        party = _check_object(sig.get(key), f"{path}.{key}", go_type)
        for member in ("organization", "commonName", "publicKeyID"):
            if party is not None:
                _check_string(party, member, f"{path}.{key}")
    conditions = sig.get("conditions")
    if conditions is None:
        return
    if not isinstance(conditions, list):
        raise _mismatch(f"{path}.conditions", conditions, "[]v1.SignatureCondition")
    for i, condition in enumerate(conditions):
        where = f"{path}.conditions[{i}]"
        cond = _check_object(condition, where, "v1.SignatureCondition")
        if cond is None:
            continue
        for key in _CONDITION_STRINGS:
            _check_string(cond, key, where)
        for key in _CONDITION_TIMES:
            _check_time(cond, key, where)


def decode_image(image: Any) -> None:
    """Raise :class:`BadRequestError` where a member has a JSON type the server cannot decode."""
    if not isinstance(image, dict):
        raise BadRequestError("the body must be a JSON object")
    _decode_metadata(image.get("metadata"), "Image.metadata")
    _check_string(image, "dockerImageReference", "Image")
    signatures = image.get("signatures")
    if signatures is None:
        return
    if not isinstance(signatures, list):
        raise _mismatch("Image.signatures", signatures, "[]v1.ImageSignature")
    for i, signature in enumerate(signatures):
        _decode_signature(signature, f"Image.signatures[{i}]")


def split_signature_name(name: str) -> tuple[str, str] | None:
    """``<imageName>@<signatureName>``: exactly one ``@``, both sides non-empty."""
    parts = name.split("@")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def is_path_segment_name(name: str) -> bool:
    """apimachinery ``ValidatePathSegmentName``: not ``.``/``..``, no ``/`` or ``%``."""
    return name not in (".", "..") and "/" not in name and "%" not in name


def _required(path: str) -> Cause:
    return Cause("FieldValueRequired", "Required value", path)


def _invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {value!r}: {detail}", path)


def _forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", path)


class ConditionScanCrash(Exception):
    """The server's validation would dereference nil on this condition list."""


def _probe_time(condition: Mapping[str, Any]) -> datetime:
    value = condition.get("lastProbeTime")
    if not isinstance(value, str):
        return _ZERO_TIME  # Go's zero time.Time for an unset metav1.Time
    return parse_time(value)


def scan_conditions(
    conditions: Sequence[Mapping[str, Any]],
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """The ``Trusted`` and ``ForImage`` conditions as the server's validation picks them.

    A transcription of openshift-apiserver ``validateImageSignature``'s loop, including its
    operator-precedence slip: ``A && B || C`` where ``C`` reads
    ``forImageCondition.LastProbeTime`` while ``forImageCondition`` may still be nil. Any
    condition that is neither a newer ``Trusted`` nor the first ``ForImage``, met before a
    ``ForImage``, crashes the server (a 500); raised here as :class:`ConditionScanCrash`.
    That is why writers order conditions ``Trusted``, ``ForImage``, then the rest
    (docs/domain.md §1).
    """
    trusted: Mapping[str, Any] | None = None
    for_image: Mapping[str, Any] | None = None
    for condition in conditions:
        kind = condition.get("type")
        probe = _probe_time(condition)
        if kind == "Trusted" and (trusted is None or not probe < _probe_time(trusted)):
            trusted = condition
        elif kind == "ForImage" and for_image is None:
            for_image = condition
        elif for_image is None:
            raise ConditionScanCrash(f"condition {kind!r} before any ForImage condition")
        elif not probe < _probe_time(for_image):
            for_image = condition
    return trusted, for_image


def condition_order_crashes(conditions: Sequence[Mapping[str, Any]]) -> bool:
    """True for a condition list that crashes the server's validation (see scan_conditions)."""
    try:
        scan_conditions(conditions)
    except ConditionScanCrash:
        return True
    return False


def validate_signature(signature: Mapping[str, Any], path: str) -> list[Cause]:
    """openshift-apiserver ``validateImageSignature`` (after decoding succeeded)."""
    causes: list[Cause] = []
    meta = signature.get("metadata") or {}
    name = meta.get("name") or ""
    if not name:
        causes.append(_required(f"{path}.metadata.name"))
    elif not is_path_segment_name(name):
        causes.append(_invalid(f"{path}.metadata.name", name, "may not contain '/' or '%'"))
    if meta.get("labels"):
        causes.append(_forbidden(f"{path}.metadata.labels", "signature labels cannot be set"))
    if meta.get("annotations"):
        causes.append(
            _forbidden(f"{path}.metadata.annotations", "signature annotations cannot be set")
        )
    if split_signature_name(name) is None:
        causes.append(
            _invalid(
                f"{path}.metadata.name", name, "name must be of format <imageName>@<signatureName>"
            )
        )
    if not signature.get("type"):
        causes.append(_required(f"{path}.type"))
    if not decode_content(signature.get("content"), f"{path}.content"):
        causes.append(_required(f"{path}.content"))

    conditions = [c for c in signature.get("conditions") or [] if isinstance(c, dict)]
    trusted, for_image = scan_conditions(conditions)
    if trusted is not None and for_image is None:
        causes.append(_invalid(f"{path}.conditions", "…", 'missing "ForImage" condition type'))
    elif for_image is not None and trusted is None:
        causes.append(_invalid(f"{path}.conditions", "…", 'missing "Trusted" condition type'))
    if trusted is None or trusted.get("status") == "Unknown":
        for key, empty in (
            ("imageIdentity", ""),
            ("signedClaims", {}),
            ("issuedBy", None),
            ("issuedTo", None),
        ):
            value = signature.get(key)
            if value is not None and value != empty:
                causes.append(
                    _invalid(f"{path}.{key}", value, "must be unset for unknown signature state")
                )
    return causes


def validate_image(image: Mapping[str, Any]) -> list[Cause]:
    """openshift-apiserver ``ValidateImage``: name, dockerImageReference, each signature."""
    causes: list[Cause] = []
    name = (image.get("metadata") or {}).get("name") or ""
    if not name:
        causes.append(_required("metadata.name"))
    elif not is_path_segment_name(name):
        causes.append(_invalid("metadata.name", name, "may not contain '/' or '%'"))
    if not image.get("dockerImageReference"):
        causes.append(_required("dockerImageReference"))
    for i, signature in enumerate(image.get("signatures") or []):
        causes.extend(validate_signature(signature, f"signatures[{i}]"))
    return causes


def validate_image_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """``ValidateImageUpdate`` plus, per signature kept by name, immutable type and content."""
    causes = validate_image(new)
    new_meta, old_meta = new.get("metadata") or {}, old.get("metadata") or {}
    if new_meta.get("uid") and new_meta.get("uid") != old_meta.get("uid"):
        causes.append(_invalid("metadata.uid", new_meta.get("uid"), "field is immutable"))
    before = {
        (s.get("metadata") or {}).get("name"): s
        for s in old.get("signatures") or []
        if isinstance(s, dict)
    }
    for i, signature in enumerate(new.get("signatures") or []):
        previous = before.get((signature.get("metadata") or {}).get("name"))
        if previous is None:
            continue
        if signature.get("type") != previous.get("type"):
            causes.append(_forbidden(f"signatures[{i}].type", "cannot change signature type"))
        if decode_content(signature.get("content"), "content") != decode_content(
            previous.get("content"), "content"
        ):
            causes.append(_forbidden(f"signatures[{i}].content", "cannot change signature content"))
    return causes
