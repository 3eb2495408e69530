"""The common case of :mod:`sigverify.objects.schemas`' load, in plain Python (no marshmallow).

A well-formed Image or ImageStreamImage becomes the very model the schemas build (the same
fields, the same :class:`~sigverify.objects.types.Preserved` record), without a deep copy of
the whole document and without importing marshmallow. Whatever this reader does not accept
outright — any problem at all, or anything it is unsure of — raises :class:`Unsure`, and the
caller asks the schemas, which then give the one answer (a model or the exact error).

So the schemas stay the definition: this is a cache of their answer for well-formed input.
tests/objects/test_fast_load.py holds the two to the same result on generated documents and
this table to the schemas' fields.

This reader also stands in for :func:`~sigverify.objects.documents.load_document`'s plain-JSON
check, in the same pass: it takes only the JSON types themselves (``type(x) is str``, never a
subclass), string keys, finite floats, and unknown members nested well within
``MAX_DOCUMENT_DEPTH``; anything else is :class:`Unsure`, and the caller runs the full check.
"""

from __future__ import annotations

import binascii
import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sigverify.limits import MAX_DOCUMENT_DEPTH, MAX_SIGNATURES_PER_IMAGE
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

__all__ = ["Unsure", "load_image_fast", "load_image_stream_image_fast"]

_INT64_MAX = 2**63 - 1
_IMAGE_NAME = re.compile(r"sha256:[0-9a-f]{64}")


class Unsure(Exception):
    """This reader does not decide: ask the schemas."""


_UNSURE: Final = Unsure()  # raised often on bad input: one instance, no traceback building


# --- values (each mirrors the field of sigverify.objects.fields of the same meaning) --------


def _string(value: Any) -> str:
    if type(value) is not str:
        raise _UNSURE
    return value


def _int64(value: Any) -> int:
    if type(value) is not int:  # bool is not int here
        raise _UNSURE
    if not 0 <= value <= _INT64_MAX:
        raise _UNSURE
    return value


#: The characters whose low 4 (before "==") or low 2 (before "=") bits are zero: a
#: padded quad's last data character, when the bits the padding drops are all zero.
_ZERO_LOW_4_BITS: Final = frozenset("AQgw")
_ZERO_LOW_2_BITS: Final = frozenset("AEIMQUYcgkosw048")


def _zero_padding_bits(value: str) -> bool:
    """Whether the bits dropped by the padding of the base64 text ``value`` are zero."""
    if value.endswith("=="):
        return value[-3] in _ZERO_LOW_4_BITS
    return value[-2] in _ZERO_LOW_2_BITS


def _base64(value: Any, max_bytes: int | None, required: bool) -> bytes:
    if type(value) is not str:
        raise _UNSURE
    if max_bytes is not None and len(value) > 4 * -(-max_bytes // 3):
        raise _UNSURE
    # The field takes only the canonical spelling of a blob: standard alphabet, padded to a
    # multiple of 4, zero padding bits. One strict decode refuses other characters and
    # misplaced or excess padding; the length and the padding bits are checked here, so the
    # blob need not be encoded again to compare (that doubled the cost of a signature).
    if len(value) % 4:
        raise _UNSURE
    try:
        blob = binascii.a2b_base64(value, strict_mode=True)
    except ValueError:  # binascii.Error, or a str that is not ASCII
        raise _UNSURE from None
    if value.endswith("=") and not _zero_padding_bits(value):
        raise _UNSURE
    if max_bytes is not None and len(blob) > max_bytes:
        raise _UNSURE
    if required and not blob:
        raise _UNSURE
    return blob


#: The deepest a member of any model here can sit (an ImageStreamImage's image, its
#: signatures, one of them, its conditions, one of them: 5 levels, so a member at 6). Unknown
#: members are held to the depth limit as if they sat there: one nested nearly as deep as
#: the limit allows is left to the full check, never let through.
_MEMBER_DEPTH: Final = 6


def _plain_copy(value: Any, depth: int = _MEMBER_DEPTH) -> Any:
    """A deep copy of ``value`` (the model must not change when the caller's object does),
    when it is plain JSON at ``depth`` as ``documents._is_plain_json`` defines it; else
    :class:`Unsure`. Dicts and lists are copied, JSON scalars are immutable."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        if value and depth >= MAX_DOCUMENT_DEPTH:
            raise _UNSURE
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _UNSURE
            copied[key] = _plain_copy(item, depth + 1)
        return copied
    if kind is list:
        if value and depth >= MAX_DOCUMENT_DEPTH:
            raise _UNSURE
        return [_plain_copy(item, depth + 1) for item in value]
    if kind is float and math.isfinite(value):
        return value
    raise _UNSURE


def _time(value: Any) -> Any:
    if type(value) is not str:
        raise _UNSURE
    try:
        return parse_time(value)
    except ValueError:
        raise _UNSURE from None


def _string_map(value: Any) -> dict[str, str]:
    if type(value) is not dict:
        raise _UNSURE
    for key, item in value.items():
        if type(key) is not str or type(item) is not str:
            raise _UNSURE
    return dict(value)


# --- building a model -----------------------------------------------------------------------


def _field_template(model: type[Any]) -> dict[str, Any]:
    """Every field of the dataclass ``model``, in declaration order, with its default (None
    for a field without one: the loader always sets those)."""
    template: dict[str, Any] = {}
    for model_field in dataclasses.fields(model):
        if model_field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{model.__name__}.{model_field.name}: default_factory not handled")
        default = model_field.default
        template[model_field.name] = None if default is dataclasses.MISSING else default
    return template


def _build(model: type[Any], attributes: dict[str, Any]) -> Any:
    """``model(**attributes)`` for a frozen dataclass without ``__post_init__``, given every
    field in declaration order: the instance dict the generated ``__init__`` would fill, set
    at once. That ``__init__`` sets each field through ``object.__setattr__`` (the price of
    ``frozen``), the larger part of a model's load; tests/objects/test_fast_load.py holds the
    result to the schemas' (equal, and the same ``vars()``)."""
    instance = object.__new__(model)
    object.__setattr__(instance, "__dict__", attributes)
    return instance


_NO_NULLS: Final[frozenset[str]] = frozenset()


def _preserved(
    unknown: dict[str, Any], nulls: list[str], order: tuple[str, ...], times: dict[str, str]
) -> Preserved:
    record: Preserved = _build(
        Preserved,
        {
            "unknown": unknown,
            "nulls": frozenset(nulls) if nulls else _NO_NULLS,
            "order": order,
            "times": times,
        },
    )
    return record


# --- the members of each model --------------------------------------------------------------

#: A member: JSON name, model attribute, how to read a non-null value, whether null is
#: allowed, whether it must be present, whether it is a list, whether it is a time.
_Reader = Callable[[Any], Any]


@dataclass(frozen=True)
class _Member:
    key: str
    attr: str
    read: _Reader
    nullable: bool = True
    required: bool = False
    is_list: bool = False
    is_time: bool = False


@dataclass(frozen=True)
class _Model:
    model: type[Any]
    members: tuple[_Member, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {m.key: m for m in self.members})
        object.__setattr__(self, "_required", frozenset(m.key for m in self.members if m.required))
        object.__setattr__(self, "_template", _field_template(self.model))
        if self.model.__dict__.get("__post_init__") is not None:
            raise TypeError(f"{self.model.__name__} has __post_init__: _build skips it")

    def load(self, value: Any) -> Any:
        if type(value) is not dict:
            raise _UNSURE
        by_key: dict[str, _Member] = self._by_key  # type: ignore[attr-defined]
        if not self._required <= value.keys():  # type: ignore[attr-defined]
            raise _UNSURE
        values: dict[str, Any] = self._template.copy()  # type: ignore[attr-defined]
        nulls: list[str] = []
        times: dict[str, str] = {}
        unknown: dict[str, Any] = {}
        # The document's members, not the model's: a document has a few of many.
        for key, item in value.items():
            if type(key) is not str:  # a str subclass could pass for a member's name
                raise _UNSURE
            member = by_key.get(key)
            if member is None:
                unknown[key] = _plain_copy(item)
            elif item is None:
                if not member.nullable:
                    raise _UNSURE
                nulls.append(key)
                values[member.attr] = () if member.is_list else None
            else:
                values[member.attr] = member.read(item)
                if member.is_time:
                    times[key] = item
        values["preserved"] = _preserved(unknown, nulls, tuple(value), times)
        return _build(self.model, values)


def _optional(key: str, attr: str) -> _Member:
    return _Member(key, attr, _string)


def _list_of(read: _Reader, max_items: int | None = None) -> _Reader:
    def read_list(value: Any) -> tuple[Any, ...]:
        if type(value) is not list:
            raise _UNSURE
        if max_items is not None and len(value) > max_items:
            raise _UNSURE
        return tuple(read(item) for item in value)

    return read_list


def _named(check: Callable[[str], bool]) -> _Reader:
    def read_name(value: Any) -> str:
        if type(value) is not str or not value or not check(value):
            raise _UNSURE
        return value

    return read_name


def _meta(check: Callable[[str], bool]) -> _Model:
    return _Model(
        ObjectMeta,
        (
            _Member("name", "name", _named(check), nullable=False, required=True),
            _optional("namespace", "namespace"),
            _optional("resourceVersion", "resource_version"),
            _Member("labels", "labels", _string_map),
            _Member("annotations", "annotations", _string_map),
        ),
    )


def _image_name(name: str) -> bool:
    return _IMAGE_NAME.fullmatch(name) is not None


def _signature_name(name: str) -> bool:
    image_name, _, suffix = name.partition("@")
    return name.count("@") == 1 and bool(image_name) and bool(suffix)


def _stream_image_name(name: str) -> bool:
    stream, sep, image_id = name.partition("@")
    return bool(sep) and "@" not in image_id and bool(stream) and bool(image_id)


def _required_string(value: Any) -> str:
    if type(value) is not str or not value:
        raise _UNSURE
    return value


def _status(value: Any) -> str:
    if type(value) is not str or value not in CONDITION_STATUSES:
        raise _UNSURE
    return value


def _nested(model: _Model) -> _Reader:
    return model.load


def _time_member(key: str, attr: str) -> _Member:
    return _Member(key, attr, _time, is_time=True)


_CONDITION = _Model(
    SignatureCondition,
    (
        _Member("type", "type", _required_string, nullable=False, required=True),
        _Member("status", "status", _status, nullable=False, required=True),
        _time_member("lastProbeTime", "last_probe_time"),
        _time_member("lastTransitionTime", "last_transition_time"),
        _optional("reason", "reason"),
        _optional("message", "message"),
    ),
)
_ISSUER = _Model(
    SignatureIssuer,
    (_optional("organization", "organization"), _optional("commonName", "common_name")),
)
_SUBJECT = _Model(
    SignatureSubject,
    (
        _optional("organization", "organization"),
        _optional("commonName", "common_name"),
        _optional("publicKeyID", "public_key_id"),
    ),
)
_SIGNATURE = _Model(
    ImageSignature,
    (
        _Member(
            "metadata", "metadata", _nested(_meta(_signature_name)), nullable=False, required=True
        ),
        _Member("type", "type", _required_string, nullable=False, required=True),
        _Member(
            "content",
            "content",
            # No size limit, as the schema: an oversize blob is the engine's InvalidSignature.
            lambda value: _base64(value, None, True),
            nullable=False,
            required=True,
        ),
        _Member("conditions", "conditions", _list_of(_nested(_CONDITION)), is_list=True),
        _optional("imageIdentity", "image_identity"),
        _Member("signedClaims", "signed_claims", _string_map),
        _time_member("created", "created"),
        _Member("issuedBy", "issued_by", _nested(_ISSUER)),
        _Member("issuedTo", "issued_to", _nested(_SUBJECT)),
    ),
)
_LAYER = _Model(
    ImageLayer,
    (
        _optional("name", "name"),
        _Member("size", "size", _int64),
        _optional("mediaType", "media_type"),
    ),
)
_MANIFEST = _Model(
    ImageManifest,
    (
        _optional("digest", "digest"),
        _optional("mediaType", "media_type"),
        _Member("manifestSize", "manifest_size", _int64),
        _optional("architecture", "architecture"),
        _optional("os", "os"),
        _optional("variant", "variant"),
    ),
)
_IMAGE = _Model(
    Image,
    (
        _optional("apiVersion", "api_version"),
        _optional("kind", "kind"),
        _Member("metadata", "metadata", _nested(_meta(_image_name)), nullable=False, required=True),
        _optional("dockerImageReference", "docker_image_reference"),
        _Member("dockerImageMetadata", "docker_image_metadata", _plain_copy),
        _optional("dockerImageMetadataVersion", "docker_image_metadata_version"),
        _optional("dockerImageManifest", "docker_image_manifest"),
        _Member(
            "dockerImageLayers", "docker_image_layers", _list_of(_nested(_LAYER)), is_list=True
        ),
        _Member(
            "signatures",
            "signatures",
            _list_of(_nested(_SIGNATURE), MAX_SIGNATURES_PER_IMAGE),
            is_list=True,
        ),
        _Member(
            "dockerImageSignatures",
            "docker_image_signatures",
            _list_of(lambda value: _base64(value, None, False)),
            is_list=True,
        ),
        _optional("dockerImageManifestMediaType", "docker_image_manifest_media_type"),
        _optional("dockerImageConfig", "docker_image_config"),
        _Member(
            "dockerImageManifests",
            "docker_image_manifests",
            _list_of(_nested(_MANIFEST)),
            is_list=True,
        ),
    ),
)
_STREAM_IMAGE = _Model(
    ImageStreamImage,
    (
        _optional("apiVersion", "api_version"),
        _optional("kind", "kind"),
        _Member(
            "metadata",
            "metadata",
            _nested(_meta(_stream_image_name)),
            nullable=False,
            required=True,
        ),
        _Member("image", "image", _nested(_IMAGE), nullable=False, required=True),
    ),
)

#: For the test that holds this table to the schemas: model → its members.
MODELS: Final[dict[str, _Model]] = {
    "ImageSchema": _IMAGE,
    "ImageStreamImageSchema": _STREAM_IMAGE,
    "ImageSignatureSchema": _SIGNATURE,
    "SignatureConditionSchema": _CONDITION,
    "ImageLayerSchema": _LAYER,
    "ImageManifestSchema": _MANIFEST,
    "SignatureIssuerSchema": _ISSUER,
    "SignatureSubjectSchema": _SUBJECT,
}


def load_image_fast(data: Any) -> Image:
    """The Image the schemas would load from ``data``; :class:`Unsure` when not certain."""
    image: Image = _IMAGE.load(data)
    return image


def load_image_stream_image_fast(data: Any) -> ImageStreamImage:
    """The ImageStreamImage the schemas would load; :class:`Unsure` when not certain."""
    stream_image: ImageStreamImage = _STREAM_IMAGE.load(data)
    return stream_image
