"""The common case of :mod:`sigverify.objects.schemas`' load, in plain Python (no marshmallow).

A well-formed Image or ImageStreamImage becomes the very model the schemas build (the same
fields, the same :class:`~sigverify.objects.types.Preserved` record), without a deep copy of
the whole document and without importing marshmallow. Whatever this reader does not accept
outright — any problem at all, or anything it is unsure of — raises :class:`Unsure`, and the
caller asks the schemas, which then give the one answer (a model or the exact error).

So the schemas stay the definition: this is a cache of their answer for well-formed input.
tests/objects/test_fast_load.py holds the two to the same result on generated documents and
this table to the schemas' fields.
"""

from __future__ import annotations

import binascii
import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sigverify.limits import MAX_SIGNATURES_PER_IMAGE
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
    if not isinstance(value, str):
        raise _UNSURE
    return value


def _int64(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _UNSURE
    if not 0 <= value <= _INT64_MAX:
        raise _UNSURE
    return value


def _base64(value: Any, max_bytes: int | None, required: bool) -> bytes:
    if not isinstance(value, str):
        raise _UNSURE
    if max_bytes is not None and len(value) > 4 * -(-max_bytes // 3):
        raise _UNSURE
    # One lenient decode and the round trip decide: only the canonical spelling of a blob
    # (standard alphabet, padded, zero padding bits: all the field accepts) encodes back to
    # itself, so no separate alphabet or length check is needed.
    try:
        blob = binascii.a2b_base64(value)
    except ValueError:  # binascii.Error, or a str that is not ASCII
        raise _UNSURE from None
    if binascii.b2a_base64(blob, newline=False) != value.encode("ascii"):
        raise _UNSURE
    if max_bytes is not None and len(blob) > max_bytes:
        raise _UNSURE
    if required and not blob:
        raise _UNSURE
    return blob


def _private_copy(value: Any) -> Any:
    """``copy.deepcopy(value)`` (the model must not change when the caller's object does),
    a few times faster on plain JSON: dicts and lists are copied, JSON scalars are immutable,
    and anything else is left to ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: _private_copy(item) for key, item in value.items()}
    if kind is list:
        return [_private_copy(item) for item in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value)


def _time(value: Any) -> Any:
    if not isinstance(value, str):
        raise _UNSURE
    try:
        return parse_time(value)
    except ValueError:
        raise _UNSURE from None


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _UNSURE
    for item in value.values():
        if not isinstance(item, str):
            raise _UNSURE
    return dict(value)


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

    def load(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise _UNSURE
        by_key: dict[str, _Member] = self._by_key  # type: ignore[attr-defined]
        if not self._required <= value.keys():  # type: ignore[attr-defined]
            raise _UNSURE
        values: dict[str, Any] = {}
        nulls: list[str] = []
        times: dict[str, str] = {}
        unknown: dict[str, Any] = {}
        # The document's members, not the model's: a document has a few of many.
        for key, item in value.items():
            member = by_key.get(key)
            if member is None:
                unknown[key] = _private_copy(item)
            elif item is None:
                if not member.nullable:
                    raise _UNSURE
                nulls.append(key)
                values[member.attr] = () if member.is_list else None
            else:
                values[member.attr] = member.read(item)
                if member.is_time:
                    times[key] = item
        preserved = Preserved(
            unknown=unknown, nulls=frozenset(nulls), order=tuple(value), times=times
        )
        return self.model(**values, preserved=preserved)


def _optional(key: str, attr: str) -> _Member:
    return _Member(key, attr, _string)


def _list_of(read: _Reader, max_items: int | None = None) -> _Reader:
    def read_list(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise _UNSURE
        if max_items is not None and len(value) > max_items:
            raise _UNSURE
        return tuple(read(item) for item in value)

    return read_list


def _named(check: Callable[[str], bool]) -> _Reader:
    def read_name(value: Any) -> str:
        if not isinstance(value, str) or not value or not check(value):
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
    if not isinstance(value, str) or not value:
        raise _UNSURE
    return value


def _status(value: Any) -> str:
    if not isinstance(value, str) or value not in CONDITION_STATUSES:
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
        _Member("dockerImageMetadata", "docker_image_metadata", _private_copy),
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
