"""API objects as the embedded store handles them: group, kinds, metadata, server errors.

Shared by the SQLite layer (:mod:`sigverify.imageapi.store._sqlite`), the ImageStream reads
(:mod:`sigverify.imageapi.store._streams`) and
:class:`sigverify.imageapi.store.image_store.ImageStore`.
"""

from __future__ import annotations

from sigverify.imageapi.errors import Cause, InvalidObjectError, NotFoundError
from sigverify.imageapi.protocol import JSONObject

GROUP = "image.openshift.io"
GROUP_VERSION = f"{GROUP}/v1"
_IMAGE = "Image"
_STREAM = "ImageStream"


def _not_found(resource: str, name: str) -> NotFoundError:
    return NotFoundError(f'{resource}.{GROUP} "{name}" not found')


def _meta(obj: JSONObject) -> JSONObject:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
        obj["metadata"] = meta
    return meta


def _typed(obj: JSONObject, kind: str) -> JSONObject:
    """``obj`` with ``kind``/``apiVersion`` first, as a top-level API response carries them."""
    body = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
    return {"kind": kind, "apiVersion": GROUP_VERSION, **body}


def _untyped(obj: JSONObject) -> JSONObject:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def _invalid(kind: str, name: str, causes: list[Cause]) -> InvalidObjectError:
    details = ", ".join(f"{c.field}: {c.message}" for c in causes)
    if len(causes) > 1:
        details = f"[{details}]"
    return InvalidObjectError(f'{kind}.{GROUP} "{name}" is invalid: {details}', causes)
