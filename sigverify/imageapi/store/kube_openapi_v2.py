"""``/openapi/v2``: the Swagger 2.0 definitions kubectl validates objects against.

kubectl's client-side validation (``create``/``replace``/``apply -f`` with the default
``--validate=strict``, when the server does not validate fields itself) reads OpenAPI v2,
and reads it only as protobuf: a gnostic ``openapi.v2.Document``
(``Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf``). Without it, it
refuses every such command ("failed to download openapi").

The definitions are :mod:`.kube_schemas`' schemas in v2 form (``#/definitions/…``
references). The protobuf is written here by hand: a handful of messages of gnostic's
``OpenAPIv2.proto`` (Document, Info, Definitions, NamedSchema, Schema, TypeItem,
ItemsItem, Properties, AdditionalPropertiesItem, NamedAny, Any), field numbers as that
file gives them; vendor extensions travel as YAML text (JSON is YAML), as gnostic writes
them. A JSON ``Accept`` gets the same document as JSON.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from flask import Blueprint, Response, request

from sigverify import __version__
from sigverify.imageapi.store.kube_schemas import SCHEMAS

__all__ = ["PROTOBUF_TYPE", "add_openapi_v2_route", "swagger_document", "swagger_protobuf"]

PROTOBUF_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
_RESPONSE_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_V3_REF = "#/components/schemas/"


def _v2(schema: dict[str, Any]) -> dict[str, Any]:
    """One schema in Swagger 2.0 form: ``allOf: [{$ref}]`` becomes ``$ref``."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "allOf" and len(value) == 1 and "$ref" in value[0]:
            out["$ref"] = value[0]["$ref"].replace(_V3_REF, "#/definitions/")
        elif key == "$ref":
            out["$ref"] = value.replace(_V3_REF, "#/definitions/")
        elif key == "properties":
            out[key] = {name: _v2(member) for name, member in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _v2(value)
        elif key == "default":
            continue  # not needed to validate; v2 readers treat it as an example value
        else:
            out[key] = value
    return out


@cache
def swagger_document() -> dict[str, Any]:
    return {
        "swagger": "2.0",
        "info": {"title": "sigverify embedded image store", "version": __version__},
        "paths": {},
        "definitions": {name: _v2(schema) for name, schema in SCHEMAS.items()},
    }


# -- protobuf -------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): strings, bytes, messages."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _text(number: int, value: str) -> bytes:
    return _field(number, value.encode("utf-8")) if value else b""


def _flag(number: int, value: bool) -> bytes:
    return _varint(number << 3) + b"\x01" if value else b""


def _named_any(name: str, value: Any) -> bytes:
    """``NamedAny{name=1, value=2: Any{yaml=2}}``."""
    return _text(1, name) + _field(2, _text(2, json.dumps(value, sort_keys=True)))


def _schema(schema: dict[str, Any]) -> bytes:
    """``openapi.v2.Schema`` (the fields a validator reads)."""
    out = bytearray()
    out += _text(1, schema.get("$ref", ""))
    out += _text(2, schema.get("format", ""))
    out += _text(4, schema.get("description", ""))
    for name in schema.get("required", ()):
        out += _text(19, name)
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        out += _field(21, _field(1, _schema(additional)))
    elif isinstance(additional, bool):
        out += _field(21, _flag(2, additional))
    kind = schema.get("type")
    if kind:
        out += _field(22, _text(1, kind))
    if isinstance(schema.get("items"), dict):
        out += _field(23, _field(1, _schema(schema["items"])))
    if "properties" in schema:
        named = b"".join(
            _field(1, _text(1, name) + _field(2, _schema(member)))
            for name, member in schema["properties"].items()
        )
        out += _field(25, named)
    for key, value in schema.items():
        if key.startswith("x-"):
            out += _field(31, _named_any(key, value))
    return bytes(out)


@cache
def swagger_protobuf() -> bytes:
    """:func:`swagger_document` as a gnostic ``openapi.v2.Document``."""
    document = swagger_document()
    info = _text(1, document["info"]["title"]) + _text(2, document["info"]["version"])
    definitions = b"".join(
        _field(1, _text(1, name) + _field(2, _schema(schema)))
        for name, schema in document["definitions"].items()
    )
    return _text(1, "2.0") + _field(2, info) + _field(9, definitions)


def add_openapi_v2_route(bp: Blueprint) -> None:
    @bp.get("/openapi/v2")
    def openapi_v2() -> Response:
        if PROTOBUF_TYPE in request.headers.get("Accept", ""):
            return Response(swagger_protobuf(), 200, content_type=_RESPONSE_TYPE)
        body = json.dumps(swagger_document(), sort_keys=True, separators=(",", ":"))
        return Response(body, 200, content_type="application/json")
