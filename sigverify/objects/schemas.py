"""marshmallow schemas between ``image.openshift.io/v1`` JSON and :mod:`sigverify.objects.types`.

Each schema declares the members of one object under their exact JSON names (``data_key``)
and loads into the immutable model; dumping gives back the source object unchanged except
for fields changed on purpose (see :class:`~sigverify.objects.types.Preserved`).

Validation is that of the image API server (openshift-apiserver
``pkg/image/apis/image/validation``) where it concerns what sigverify reads, and of Go's
``encoding/json`` for the types (``[]byte`` as standard base64, ``int64``, ``metav1.Time``),
plus the limits of :mod:`sigverify.limits`. Every failure is reported as an
:class:`~sigverify.errors.InputError` whose ``path`` is a JSON path such as
``signatures[2].content``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_dump, post_load

from sigverify.limits import MAX_SIGNATURES_PER_IMAGE
from sigverify.objects._errors import DocumentError
from sigverify.objects._fast_load import Unsure, load_image_fast, load_image_stream_image_fast
from sigverify.objects.fields import (
    REQUIRED,
    Base64,
    Choice,
    Int64,
    List,
    NonEmptyString,
    StringMap,
    Time,
    check_image_name,
    check_signature_name,
    check_stream_image_name,
    nested,
    optional_string,
)
from sigverify.objects.types import (
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
    parse_time,
)
from sigverify.strict_input import json_path

__all__ = [
    "DocumentError",
    "ImageSchema",
    "ImageSignatureSchema",
    "ImageStreamImageSchema",
    "SignatureConditionSchema",
    "dump_model",
    "load_image",
    "load_image_stream_image",
]


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
                if isinstance(self.fields[name], Time) and isinstance(original.get(key), str)
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
            if isinstance(fld, Time) and key in preserved.times:
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
    name = optional_string("name")
    namespace = optional_string("namespace")
    resource_version = optional_string("resourceVersion")
    labels = StringMap(data_key="labels", allow_none=True)
    annotations = StringMap(data_key="annotations", allow_none=True)


def _meta_schema(check: Callable[[str], None]) -> type[_MetaSchema]:
    class NamedMetaSchema(_MetaSchema):
        name = NonEmptyString(
            data_key="name", required=True, validate=check, error_messages=REQUIRED
        )

    return NamedMetaSchema


_ImageMetaSchema = _meta_schema(check_image_name)
_SignatureMetaSchema = _meta_schema(check_signature_name)
_StreamImageMetaSchema = _meta_schema(check_stream_image_name)


class ImageLayerSchema(_ModelSchema):
    model = ImageLayer
    name = optional_string("name")
    size = Int64(data_key="size", non_negative=True, allow_none=True)
    media_type = optional_string("mediaType")


class ImageManifestSchema(_ModelSchema):
    model = ImageManifest
    digest = optional_string("digest")
    media_type = optional_string("mediaType")
    manifest_size = Int64(data_key="manifestSize", non_negative=True, allow_none=True)
    architecture = optional_string("architecture")
    os = optional_string("os")
    variant = optional_string("variant")


class SignatureConditionSchema(_ModelSchema):
    model = SignatureCondition
    type = NonEmptyString(data_key="type", required=True, error_messages=REQUIRED)
    status = Choice(CONDITION_STATUSES, data_key="status", required=True, error_messages=REQUIRED)
    last_probe_time = Time(data_key="lastProbeTime", allow_none=True)
    last_transition_time = Time(data_key="lastTransitionTime", allow_none=True)
    reason = optional_string("reason")
    message = optional_string("message")


class SignatureIssuerSchema(_ModelSchema):
    model = SignatureIssuer
    organization = optional_string("organization")
    common_name = optional_string("commonName")


class SignatureSubjectSchema(_ModelSchema):
    model = SignatureSubject
    organization = optional_string("organization")
    common_name = optional_string("commonName")
    public_key_id = optional_string("publicKeyID")


class ImageSignatureSchema(_ModelSchema):
    model = ImageSignature
    metadata = nested(_SignatureMetaSchema, data_key="metadata", required=True)
    type = NonEmptyString(data_key="type", required=True, error_messages=REQUIRED)
    # No size limit here: a blob over MAX_SIGNATURE_BLOB_BYTES is that one signature's
    # InvalidSignature in the engine, never a reason to refuse the whole Image (anyone who
    # may add a signature could otherwise make the Image unverifiable). The document's own
    # size cap bounds it.
    content = Base64(data_key="content", required=True, error_messages=REQUIRED)
    conditions = List(nested(SignatureConditionSchema), data_key="conditions")
    image_identity = optional_string("imageIdentity")
    signed_claims = StringMap(data_key="signedClaims", allow_none=True)
    created = Time(data_key="created", allow_none=True)
    issued_by = nested(SignatureIssuerSchema, data_key="issuedBy", allow_none=True)
    issued_to = nested(SignatureSubjectSchema, data_key="issuedTo", allow_none=True)


class ImageSchema(_ModelSchema):
    model = Image
    api_version = optional_string("apiVersion")
    kind = optional_string("kind")
    metadata = nested(_ImageMetaSchema, data_key="metadata", required=True)
    docker_image_reference = optional_string("dockerImageReference")
    docker_image_metadata = fields.Raw(data_key="dockerImageMetadata", allow_none=True)
    docker_image_metadata_version = optional_string("dockerImageMetadataVersion")
    docker_image_manifest = optional_string("dockerImageManifest")
    docker_image_layers = List(nested(ImageLayerSchema), data_key="dockerImageLayers")
    signatures = List(
        nested(ImageSignatureSchema), data_key="signatures", max_items=MAX_SIGNATURES_PER_IMAGE
    )
    docker_image_signatures = List(
        Base64(error_messages={"null": "must be a base64 string"}),
        data_key="dockerImageSignatures",
    )
    docker_image_manifest_media_type = optional_string("dockerImageManifestMediaType")
    docker_image_config = optional_string("dockerImageConfig")
    docker_image_manifests = List(nested(ImageManifestSchema), data_key="dockerImageManifests")


class ImageStreamImageSchema(_ModelSchema):
    model = ImageStreamImage
    api_version = optional_string("apiVersion")
    kind = optional_string("kind")
    metadata = nested(_StreamImageMetaSchema, data_key="metadata", required=True)
    image = nested(ImageSchema, data_key="image", required=True, error_messages=REQUIRED)


# --- entry points ---------------------------------------------------------------------------


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
            return json_path(tuple(parts)), str(node)


def to_document_error(error: ValidationError) -> DocumentError:
    """The first problem of a marshmallow error, with its JSON path."""
    path, message = _first_error(error.messages)
    return DocumentError(message, path=path or None)


_INSTANCES: dict[type[_ModelSchema], _ModelSchema] = {}


def _instance(schema: type[_ModelSchema]) -> _ModelSchema:
    """One shared instance per schema class: building a schema costs ~1 ms, and a schema
    without context is safe to reuse across calls and threads."""
    instance = _INSTANCES.get(schema)
    if instance is None:
        instance = _INSTANCES.setdefault(schema, schema())
    return instance


def _load(schema: type[_ModelSchema], data: Any) -> Any:
    """The general load: a private deep copy, then the schema (the fast reader's referee)."""
    try:
        # A private copy: the model must not change when the caller's object does.
        return _instance(schema).load(copy.deepcopy(data))
    except ValidationError as exc:
        raise to_document_error(exc) from exc


def load_image(data: Any) -> Image:
    """Load one Image object; raise :class:`DocumentError` naming the first problem.

    A well-formed object is read by :mod:`~sigverify.objects._fast_load` (the same model, no
    deep copy of the whole object); anything else by the schema, which has the last word.
    """
    try:
        return load_image_fast(data)
    except Unsure:
        image: Image = _load(ImageSchema, data)
        return image


def load_image_stream_image(data: Any) -> ImageStreamImage:
    """Load one ImageStreamImage object; raise :class:`DocumentError` naming the first problem."""
    try:
        return load_image_stream_image_fast(data)
    except Unsure:
        stream_image: ImageStreamImage = _load(ImageStreamImageSchema, data)
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
    """The JSON object for any model of :mod:`sigverify.objects.types` (a fresh, deep copy)."""
    schema = _SCHEMAS.get(type(obj))
    if schema is None:
        raise TypeError(f"not an image.openshift.io/v1 model: {type(obj).__name__}")
    result: dict[str, Any] = _instance(schema).dump(obj)
    return copy.deepcopy(result)
