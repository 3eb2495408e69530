"""marshmallow schemas between ``image.openshift.io/v1`` JSON and :mod:`sigverify.api.types`.

Each schema declares the members of one object under their exact JSON names (``data_key``)
and loads into the immutable model; dumping gives back the source object unchanged except
for fields changed on purpose (see :class:`~sigverify.api.types.Preserved`).

Validation is that of the image API server (openshift-apiserver
``pkg/image/apis/image/validation``) where it concerns what sigverify reads, and of Go's
``encoding/json`` for the types (``[]byte`` as standard base64, ``int64``, ``metav1.Time``),
plus the limits of :mod:`sigverify.limits`. Every failure is reported as an
:class:`~sigverify.errors.InputError` whose ``path`` is a JSON path such as
``signatures[2].content``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_dump, post_load

from sigverify.api.types import (
    CONDITION_STATUSES,
    Image,
    ImageLayer,
    ImageManifest,
    ImageSignature,
    ImageStreamImage,
    ObjectMeta,
    Preserved,
    SignatureCondition,
    SignatureIssuer,
    SignatureSubject,
    format_time,
    parse_time,
)
from sigverify.errors import InputError
from sigverify.limits import MAX_SIGNATURE_BLOB_BYTES, MAX_SIGNATURES_PER_IMAGE

__all__ = [
    "DocumentError",
    "ImageSchema",
    "ImageSignatureSchema",
    "ImageStreamImageSchema",
    "SignatureConditionSchema",
    "dump_model",
    "format_json_path",
    "load_image",
    "load_image_stream_image",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/=]*")
_BASE64_FORM = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_IMAGE_NAME = re.compile(r"sha256:[0-9a-f]{64}")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

_Messages = dict[str, str | list[Any] | dict[Any, Any]]
REQUIRED: _Messages = {"required": "required", "null": "required"}


class DocumentError(InputError):
    """A document that cannot be used. ``path`` is the JSON path, ``source`` the input.

    ``problem`` is the message alone; ``str()`` reads ``source: path: problem``.
    """

    def __init__(self, problem: str, *, path: str | None = None, source: str | None = None) -> None:
        super().__init__(problem, path=path)
        self.problem = problem
        self.source = source
        if source:
            self.args = (f"{source}: {self.args[0]}",)


# --- fields ---------------------------------------------------------------------------------


class _String(fields.Field[str]):
    """A JSON string, nothing else (no coercion of numbers or booleans)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if not isinstance(value, str):
            raise ValidationError("must be a string")
        return value


class _NonEmptyString(_String):
    """A required string: the server treats ``""`` as missing (``len(x) == 0``)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text:
            raise ValidationError("required")
        return text


class _Int64(fields.Field[int]):
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


class _Base64(fields.Field[bytes]):
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


class _Time(fields.Field[Any]):
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


class _StringMap(fields.Field[dict[str, str]]):
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


class _Choice(_String):
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


class _List(fields.List):  # type: ignore[type-arg]
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


def _nested(
    schema: type[Schema], *, error_messages: _Messages | None = None, **kwargs: Any
) -> fields.Nested:
    messages: _Messages = {
        "null": "must be an object",
        "required": "required",
        **(error_messages or {}),
    }
    return fields.Nested(schema, error_messages=messages, **kwargs)


def _string(key: str) -> _String:
    return _String(data_key=key, allow_none=True)


# --- name formats ---------------------------------------------------------------------------


def _check_signature_name(name: str) -> None:
    # openshift-apiserver splitImageSignatureName: exactly one "@", both sides non-empty.
    if name.count("@") != 1:
        raise ValidationError("must have exactly one '@' (<imageName>@<signatureName>)")
    image_name, _, suffix = name.partition("@")
    if not image_name or not suffix:
        raise ValidationError("must be <imageName>@<signatureName> with both parts non-empty")


def _check_image_name(name: str) -> None:
    if not _IMAGE_NAME.fullmatch(name):
        raise ValidationError("must be a manifest digest sha256:<64 lowercase hex>")


def _check_stream_image_name(name: str) -> None:
    # "ImageStreamImages must be retrieved with <name>@<id>"
    stream, sep, image_id = name.partition("@")
    if not sep or "@" in image_id or not stream or not image_id:
        raise ValidationError("must be <stream>@<digest> with exactly one '@'")


# --- schemas --------------------------------------------------------------------------------


class _ModelSchema(Schema):
    """Loads one JSON object into ``model``, keeping what the model has no field for."""

    model: ClassVar[type[Any]]
    error_messages: ClassVar[dict[str, str]] = {"type": "must be an object"}  # type: ignore[misc]

    class Meta:
        # Unknown members are not dropped: post_load collects them from the original object.
        unknown = EXCLUDE

    def _json_names(self) -> dict[str, str]:
        """JSON member name → model attribute name, for the known members."""
        return {fld.data_key or name: name for name, fld in self.fields.items()}

    @post_load(pass_original=True)
    def _to_model(self, data: dict[str, Any], original: Mapping[str, Any], **kwargs: Any) -> Any:
        names = self._json_names()
        values: dict[str, Any] = {}
        for name, value in data.items():
            if isinstance(self.fields[name], fields.List):
                value = tuple(value or ())
            values[name] = value
        preserved = Preserved(
            unknown={key: value for key, value in original.items() if key not in names},
            nulls=frozenset(key for key in names if key in original and original[key] is None),
            order=tuple(original),
            times={
                key: original[key]
                for key, name in names.items()
                if isinstance(self.fields[name], _Time) and isinstance(original.get(key), str)
            },
        )
        return self.model(**values, preserved=preserved)

    @post_dump(pass_original=True)
    def _restore(self, data: dict[str, Any], original: Any, **kwargs: Any) -> dict[str, Any]:
        preserved: Preserved = original.preserved
        present = set(preserved.order)
        out: dict[str, Any] = {}
        for key, name in self._json_names().items():
            value = data.get(key)
            fld = self.fields[name]
            if value is None or (isinstance(fld, fields.List) and value == []):
                # Unset: give back what was read (null, [] or nothing); Go's omitempty else.
                if key in preserved.nulls:
                    out[key] = None
                elif value == [] and key in present:
                    out[key] = []
                continue
            if isinstance(fld, _Time) and key in preserved.times:
                text = preserved.times[key]
                if parse_time(text) == getattr(original, name):
                    value = text
            out[key] = value
        out.update(preserved.unknown)
        ordered = {key: out[key] for key in preserved.order if key in out}
        ordered.update((key, value) for key, value in out.items() if key not in ordered)
        return ordered


class _MetaSchema(_ModelSchema):
    model = ObjectMeta
    name = _string("name")
    namespace = _string("namespace")
    resource_version = _string("resourceVersion")
    labels = _StringMap(data_key="labels", allow_none=True)
    annotations = _StringMap(data_key="annotations", allow_none=True)


def _meta_schema(check: Callable[[str], None]) -> type[_MetaSchema]:
    class NamedMetaSchema(_MetaSchema):
        name = _NonEmptyString(
            data_key="name", required=True, validate=check, error_messages=REQUIRED
        )

    return NamedMetaSchema


_ImageMetaSchema = _meta_schema(_check_image_name)
_SignatureMetaSchema = _meta_schema(_check_signature_name)
_StreamImageMetaSchema = _meta_schema(_check_stream_image_name)


class ImageLayerSchema(_ModelSchema):
    model = ImageLayer
    name = _string("name")
    size = _Int64(data_key="size", non_negative=True, allow_none=True)
    media_type = _string("mediaType")


class ImageManifestSchema(_ModelSchema):
    model = ImageManifest
    digest = _string("digest")
    media_type = _string("mediaType")
    manifest_size = _Int64(data_key="manifestSize", non_negative=True, allow_none=True)
    architecture = _string("architecture")
    os = _string("os")
    variant = _string("variant")


class SignatureConditionSchema(_ModelSchema):
    model = SignatureCondition
    type = _NonEmptyString(data_key="type", required=True, error_messages=REQUIRED)
    status = _Choice(CONDITION_STATUSES, data_key="status", required=True, error_messages=REQUIRED)
    last_probe_time = _Time(data_key="lastProbeTime", allow_none=True)
    last_transition_time = _Time(data_key="lastTransitionTime", allow_none=True)
    reason = _string("reason")
    message = _string("message")


class SignatureIssuerSchema(_ModelSchema):
    model = SignatureIssuer
    organization = _string("organization")
    common_name = _string("commonName")


class SignatureSubjectSchema(_ModelSchema):
    model = SignatureSubject
    organization = _string("organization")
    common_name = _string("commonName")
    public_key_id = _string("publicKeyID")


class ImageSignatureSchema(_ModelSchema):
    model = ImageSignature
    metadata = _nested(_SignatureMetaSchema, data_key="metadata", required=True)
    type = _NonEmptyString(data_key="type", required=True, error_messages=REQUIRED)
    content = _Base64(
        data_key="content",
        required=True,
        max_bytes=MAX_SIGNATURE_BLOB_BYTES,
        error_messages=REQUIRED,
    )
    conditions = _List(_nested(SignatureConditionSchema), data_key="conditions")
    image_identity = _string("imageIdentity")
    signed_claims = _StringMap(data_key="signedClaims", allow_none=True)
    created = _Time(data_key="created", allow_none=True)
    issued_by = _nested(SignatureIssuerSchema, data_key="issuedBy", allow_none=True)
    issued_to = _nested(SignatureSubjectSchema, data_key="issuedTo", allow_none=True)


class ImageSchema(_ModelSchema):
    model = Image
    api_version = _string("apiVersion")
    kind = _string("kind")
    metadata = _nested(_ImageMetaSchema, data_key="metadata", required=True)
    docker_image_reference = _string("dockerImageReference")
    docker_image_metadata = fields.Raw(data_key="dockerImageMetadata", allow_none=True)
    docker_image_metadata_version = _string("dockerImageMetadataVersion")
    docker_image_manifest = _string("dockerImageManifest")
    docker_image_layers = _List(_nested(ImageLayerSchema), data_key="dockerImageLayers")
    signatures = _List(
        _nested(ImageSignatureSchema), data_key="signatures", max_items=MAX_SIGNATURES_PER_IMAGE
    )
    docker_image_signatures = _List(
        _Base64(error_messages={"null": "must be a base64 string"}),
        data_key="dockerImageSignatures",
    )
    docker_image_manifest_media_type = _string("dockerImageManifestMediaType")
    docker_image_config = _string("dockerImageConfig")
    docker_image_manifests = _List(_nested(ImageManifestSchema), data_key="dockerImageManifests")


class ImageStreamImageSchema(_ModelSchema):
    model = ImageStreamImage
    api_version = _string("apiVersion")
    kind = _string("kind")
    metadata = _nested(_StreamImageMetaSchema, data_key="metadata", required=True)
    image = _nested(ImageSchema, data_key="image", required=True, error_messages=REQUIRED)


# --- entry points ---------------------------------------------------------------------------


def format_json_path(parts: list[str | int]) -> str:
    """``["signatures", 2, "content"]`` → ``signatures[2].content``; odd keys in ``["…"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _first_error(messages: Any) -> tuple[str, str]:
    """The first error of a marshmallow error tree, as (JSON path, message)."""
    parts: list[str | int] = []
    node = messages
    while True:
        if isinstance(node, list):
            node = node[0]
        elif isinstance(node, dict):
            key, node = next(iter(node.items()))
            if key != "_schema":
                parts.append(key)
        else:
            return format_json_path(parts), str(node)


def to_document_error(error: ValidationError) -> DocumentError:
    """The first problem of a marshmallow error, with its JSON path."""
    path, message = _first_error(error.messages)
    return DocumentError(message, path=path or None)


def load_image(data: Any) -> Image:
    """Load one Image object; raise :class:`DocumentError` naming the first problem."""
    try:
        # A private copy: the model must not change when the caller's object does.
        image: Image = ImageSchema().load(copy.deepcopy(data))
    except ValidationError as exc:
        raise to_document_error(exc) from exc
    return image


def load_image_stream_image(data: Any) -> ImageStreamImage:
    """Load one ImageStreamImage object; raise :class:`DocumentError` naming the first problem."""
    try:
        stream_image: ImageStreamImage = ImageStreamImageSchema().load(copy.deepcopy(data))
    except ValidationError as exc:
        raise to_document_error(exc) from exc
    return stream_image


_SCHEMAS: dict[type[Any], type[_ModelSchema]] = {
    Image: ImageSchema,
    ImageStreamImage: ImageStreamImageSchema,
    ImageSignature: ImageSignatureSchema,
    SignatureCondition: SignatureConditionSchema,
    ImageLayer: ImageLayerSchema,
    ImageManifest: ImageManifestSchema,
    SignatureIssuer: SignatureIssuerSchema,
    SignatureSubject: SignatureSubjectSchema,
    ObjectMeta: _MetaSchema,
}


def dump_model(obj: Any) -> dict[str, Any]:
    """The JSON object for any model of :mod:`sigverify.api.types` (a fresh, deep copy)."""
    schema = _SCHEMAS.get(type(obj))
    if schema is None:
        raise TypeError(f"not an image.openshift.io/v1 model: {type(obj).__name__}")
    result: dict[str, Any] = schema().dump(obj)
    return copy.deepcopy(result)
