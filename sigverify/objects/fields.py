"""marshmallow fields for the Go types of ``image.openshift.io/v1``, with exact messages.

Go's ``encoding/json`` decides what a member may hold: ``[]byte`` is standard base64,
``int64`` an integer (never ``10.0`` or ``true``), ``metav1.Time`` RFC 3339 or ``null``, a
string only a string. The messages here are the ones users see, after the JSON path.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields

from sigverify.objects.types import format_time, parse_time

__all__ = [
    "REQUIRED",
    "Base64",
    "Choice",
    "Int64",
    "List",
    "Messages",
    "NonEmptyString",
    "String",
    "StringMap",
    "Time",
    "check_image_name",
    "check_signature_name",
    "check_stream_image_name",
    "nested",
    "optional_string",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/=]*")
_BASE64_FORM = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_IMAGE_NAME = re.compile(r"sha256:[0-9a-f]{64}")

Messages = dict[str, str | list[Any] | dict[Any, Any]]
#: error_messages for a member the server requires (absent, null and empty alike).
REQUIRED: Messages = {"required": "required", "null": "required"}


# --- fields ---------------------------------------------------------------------------------


class String(fields.Field[str]):
    """A JSON string, nothing else (no coercion of numbers or booleans)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if not isinstance(value, str):
            raise ValidationError("must be a string")
        return value


class NonEmptyString(String):
    """A required string: the server treats ``""`` as missing (``len(x) == 0``)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text:
            raise ValidationError("required")
        return text


class Int64(fields.Field[int]):
    """Go ``int64``: a JSON integer (``10.0`` and booleans are refused, as Go does)."""

    def __init__(self, *, non_negative: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.non_negative = non_negative

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be an integer")
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValidationError("is out of range for int64")
        if self.non_negative and value < 0:
            raise ValidationError("must not be negative")
        return value


class Base64(fields.Field[bytes]):
    """Go ``[]byte``: standard base64 with padding, in its one canonical spelling.

    Go also skips ``\\r``/``\\n`` and ignores non-zero padding bits; the API server never
    writes either, and refusing them is what makes a read-then-write give back the same text.
    """

    def __init__(self, *, max_bytes: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bytes:
        if not isinstance(value, str):
            raise ValidationError("must be a base64 string")
        if self.max_bytes is not None and len(value) > 4 * -(-self.max_bytes // 3):
            raise ValidationError(f"is larger than {self.max_bytes} bytes")
        if not _BASE64_CHARS.fullmatch(value):
            raise ValidationError("not valid base64: invalid character")
        if len(value) % 4 or not _BASE64_FORM.fullmatch(value):
            raise ValidationError("not valid base64: incorrect padding")
        try:
            blob = base64.b64decode(value, validate=True)
        except binascii.Error as exc:  # pragma: no cover - excluded by the checks above
            raise ValidationError("not valid base64") from exc
        if base64.b64encode(blob).decode("ascii") != value:
            raise ValidationError("not valid base64: non-zero padding bits")
        if self.max_bytes is not None and len(blob) > self.max_bytes:
            raise ValidationError(f"is larger than {self.max_bytes} bytes")
        if self.required and not blob:
            # openshift-apiserver: len(signature.Content) == 0 is "Required value".
            raise ValidationError("required")
        return blob

    def _serialize(self, value: bytes | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else base64.b64encode(value).decode("ascii")


class Time(fields.Field[Any]):
    """``metav1.Time``: an RFC 3339 string or ``null``; written in UTC, whole seconds."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        if not isinstance(value, str):
            raise ValidationError("must be an RFC 3339 time string")
        try:
            return parse_time(value)
        except ValueError as exc:
            raise ValidationError(f"not an RFC 3339 time: {value!r}") from exc

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else format_time(value)


class StringMap(fields.Field[dict[str, str]]):
    """``map[string]string``."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> dict[str, str]:
        if not isinstance(value, dict):
            raise ValidationError("must be an object")
        for key, item in value.items():
            if not isinstance(item, str):
                raise ValidationError({key: ["must be a string"]})
        return dict(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else dict(value)


class Choice(String):
    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text not in self.choices:
            raise ValidationError(f"must be one of {', '.join(self.choices)}, not {text!r}")
        return text


class List(fields.List):  # type: ignore[type-arg]
    """A JSON array (``null`` allowed, read as empty), with an optional length cap."""

    def __init__(
        self, inner: fields.Field[Any], *, data_key: str, max_items: int | None = None
    ) -> None:
        super().__init__(
            inner,
            data_key=data_key,
            allow_none=True,
            error_messages={"invalid": "must be a list"},
        )
        self.max_items = max_items

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> list[Any]:
        # Count before reading the items: a hostile list is refused without decoding it.
        if self.max_items is not None and isinstance(value, list) and len(value) > self.max_items:
            raise ValidationError(f"has more than {self.max_items} items")
        result: list[Any] = super()._deserialize(value, attr, data, **kwargs)
        return result


def nested(
    schema: type[Schema], *, error_messages: Messages | None = None, **kwargs: Any
) -> fields.Nested:
    messages: Messages = {
        "null": "must be an object",
        "required": "required",
        **(error_messages or {}),
    }
    return fields.Nested(schema, error_messages=messages, **kwargs)


def optional_string(key: str) -> String:
    return String(data_key=key, allow_none=True)


# --- name formats ---------------------------------------------------------------------------


def check_signature_name(name: str) -> None:
    # openshift-apiserver splitImageSignatureName: exactly one "@", both sides non-empty.
    if name.count("@") != 1:
        raise ValidationError("must have exactly one '@' (<imageName>@<signatureName>)")
    image_name, _, suffix = name.partition("@")
    if not image_name or not suffix:
        raise ValidationError("must be <imageName>@<signatureName> with both parts non-empty")


def check_image_name(name: str) -> None:
    if not _IMAGE_NAME.fullmatch(name):
        raise ValidationError("must be a manifest digest sha256:<64 lowercase hex>")


def check_stream_image_name(name: str) -> None:
    # "ImageStreamImages must be retrieved with <name>@<id>"
    stream, sep, image_id = name.partition("@")
    if not sep or "@" in image_id or not stream or not image_id:
        raise ValidationError("must be <stream>@<digest> with exactly one '@'")
