"""The OpenAPI v3 documents kubectl reads: ``/openapi/v3`` and its group-version document.

``kubectl explain images`` (kubectl ≥ 1.27 reads OpenAPI v3) fetches ``/openapi/v3``, then
the ``serverRelativeURL`` it names for ``apis/image.openshift.io/v1``, finds the resource's
kind through the operations' ``x-kubernetes-group-version-kind`` and prints that kind's
schema (:mod:`.kube_schemas`). Client-side validation asks the same document whether the
server validates fields itself (the ``fieldValidation`` parameter of a resource's PATCH).

The operations are made from :data:`~.discovery.RESOURCES`: one per verb the REST serves,
with its query parameters, so the document never promises a verb or parameter the server
does not honour. Without ``fieldValidation`` on a PATCH, kubectl validates on the client,
against OpenAPI v2 (:mod:`.kube_openapi_v2`).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from flask import Blueprint, Response, request

from sigverify import __version__
from sigverify.imageapi.store._objects import GROUP, GROUP_VERSION
from sigverify.imageapi.store.discovery import RESOURCES, StoreResource
from sigverify.imageapi.store.kube_schemas import META_PREFIX, SCHEMAS, schema_name
from sigverify.imageapi.store.patch import PATCH_TYPES as _PATCH_TYPES

__all__ = [
    "DOCUMENT_PATH",
    "DRY_RUN",
    "FIELD_VALIDATION",
    "add_openapi_routes",
    "group_version_document",
    "unknown_fields",
]

DOCUMENT_PATH = f"/openapi/v3/apis/{GROUP_VERSION}"
_PREFIX = f"/apis/{GROUP_VERSION}"
_LIST_KINDS = {"Image": "ImageList", "ImageStream": "ImageStreamList"}
#: Patch body types the PATCH operation takes (kube-apiserver's, for types without apply).
PATCH_TYPES = _PATCH_TYPES


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": kind, "uniqueItems": True},
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "description": description,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


_PRETTY = _query("pretty", "Accepted and ignored (answers are compact JSON).")
_LIST_PARAMETERS = [
    _query("labelSelector", "Only objects whose labels match (=, ==, !=, in, notin, exists)."),
    _query("fieldSelector", "Only objects whose fields match (metadata.name, metadata.namespace)."),
    _query("limit", "At most this many objects; the rest through continue.", "integer"),
    _query("continue", "The token of the previous page."),
    _query("resourceVersion", "Accepted; lists are read at the current revision."),
]
_WATCH_PARAMETERS = [
    _query("watch", "Stream changes as WatchEvents.", "boolean"),
    _query("allowWatchBookmarks", "Send BOOKMARK events.", "boolean"),
    _query("timeoutSeconds", "End the watch after this many seconds.", "integer"),
]
DRY_RUN = _query("dryRun", "All: validate and answer without storing.")
FIELD_VALIDATION = _query(
    "fieldValidation", "Ignore, Warn or Strict: what unknown or duplicate fields do."
)
#: The write operations' parameters: only those the writes honour (store/write_options.py).
#: With ``fieldValidation`` on a resource's PATCH, kubectl leaves validation to the server.
_WRITE_PARAMETERS: list[dict[str, Any]] = [DRY_RUN, FIELD_VALIDATION]


def _content(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _operation(
    resource: StoreResource,
    action: str,
    verb_id: str,
    response: str,
    parameters: list[dict[str, Any]],
    *,
    code: str = "200",
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    scope = "Namespaced" if resource.namespaced and action != "list-all" else ""
    operation: dict[str, Any] = {
        "description": f"{verb_id} {resource.kind}",
        "operationId": f"{verb_id}{scope}{resource.kind}",
        "tags": [f"{GROUP}_v1"],
        "parameters": parameters,
        "responses": {
            code: {"description": "OK", "content": _content(response)},
            "401": {"description": "Unauthorized"},
        },
        "x-kubernetes-action": "list" if action == "list-all" else action,
        "x-kubernetes-group-version-kind": {
            "group": GROUP,
            "version": "v1",
            "kind": resource.kind,
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


def _operations(resource: StoreResource) -> dict[str, dict[str, Any]]:
    """The paths and operations of one resource: one operation per served verb."""
    verbs = set(resource.verbs)
    kind = schema_name(resource.kind)
    collection = f"{_PREFIX}/{resource.name}"
    scope: list[dict[str, Any]] = []
    if resource.namespaced:
        collection = f"{_PREFIX}/namespaces/{{namespace}}/{resource.name}"
        scope = [_path("namespace", "The namespace.")]
    item = collection + "/{name}"
    name = [_path("name", f"The name of the {resource.kind}.")]
    paths: dict[str, dict[str, Any]] = {}
    status = f"{META_PREFIX}Status"
    listed = _LIST_KINDS.get(resource.kind)
    if "list" in verbs and listed:
        parameters = [*_LIST_PARAMETERS, *(_WATCH_PARAMETERS if "watch" in verbs else [])]
        list_kind = schema_name(listed)
        paths.setdefault(collection, {})["get"] = _operation(
            resource, "list", "list", list_kind, [*scope, _PRETTY, *parameters]
        )
        if resource.namespaced:
            paths[f"{_PREFIX}/{resource.name}"] = {
                "get": _operation(resource, "list-all", "list", list_kind, [_PRETTY, *parameters])
            }
    if "create" in verbs:
        paths.setdefault(collection, {})["post"] = _operation(
            resource,
            "post",
            "create",
            kind,
            [*scope, _PRETTY, *_WRITE_PARAMETERS],
            code="201",
            body=_content(kind),
        )
    operations: dict[str, Any] = {}
    if "get" in verbs:
        operations["get"] = _operation(resource, "get", "read", kind, [*scope, *name, _PRETTY])
    if "update" in verbs:
        operations["put"] = _operation(
            resource,
            "put",
            "replace",
            kind,
            [*scope, *name, _PRETTY, *_WRITE_PARAMETERS],
            body=_content(kind),
        )
    if "patch" in verbs:
        patch = {"schema": {"$ref": f"#/components/schemas/{META_PREFIX}Patch"}}
        operations["patch"] = _operation(
            resource,
            "patch",
            "patch",
            kind,
            [*scope, *name, _PRETTY, *_WRITE_PARAMETERS],
            body=dict.fromkeys(PATCH_TYPES, patch),
        )
    if "delete" in verbs:
        operations["delete"] = _operation(
            resource, "delete", "delete", status, [*scope, *name, _PRETTY, DRY_RUN]
        )
    if operations:
        paths[item] = operations
    return paths


@cache
def group_version_document() -> bytes:
    """``/openapi/v3/apis/image.openshift.io/v1`` as JSON bytes (made once)."""
    paths: dict[str, Any] = {
        _PREFIX + "/": {
            "get": {
                "description": "The resources of the group version.",
                "operationId": "getImageOpenshiftIoV1APIResources",
                "responses": {"200": {"description": "OK"}},
            }
        }
    }
    for resource in RESOURCES:
        paths.update(_operations(resource))
    schemas = dict(SCHEMAS)
    schemas[f"{META_PREFIX}Patch"] = {
        "description": "A patch body: JSON patch, JSON merge patch or strategic merge patch.",
        "type": "object",
    }
    document = {
        "openapi": "3.0.0",
        "info": {"title": "sigverify embedded image store", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _etag() -> str:
    return hashlib.sha512(group_version_document()).hexdigest().upper()


def add_openapi_routes(bp: Blueprint) -> None:
    """``/openapi/v3`` (the index) and the group version's document, GET only."""

    @bp.get("/openapi/v3")
    def openapi_index() -> Response:
        body = {
            "paths": {
                f"apis/{GROUP_VERSION}": {"serverRelativeURL": f"{DOCUMENT_PATH}?hash={_etag()}"}
            }
        }
        return Response(json.dumps(body), 200, content_type="application/json")

    @bp.get(DOCUMENT_PATH)
    def openapi_group_version() -> Response:
        response = Response(group_version_document(), 200, content_type="application/json")
        response.headers["ETag"] = f'"{_etag()}"'
        if request.args.get("hash") == _etag():
            response.headers["Cache-Control"] = "public, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache, private"
        return response


# -- strict field validation ----------------------------------------------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while True:
        ref = schema.get("$ref")
        if ref is None and len(schema.get("allOf") or []) == 1:
            ref = schema["allOf"][0].get("$ref")
        if not isinstance(ref, str):
            return schema
        schema = SCHEMAS[ref.rsplit("/", 1)[1]]


def _unknown(value: Any, schema: dict[str, Any], path: str, found: list[str], limit: int) -> None:
    schema = _resolve(schema)
    if len(found) >= limit or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        for key, member in value.items():
            where = f"{path}.{key}" if path else key
            if key not in properties:
                found.append(where)
                if len(found) >= limit:
                    return
            else:
                _unknown(member, properties[key], where, found, limit)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, member in enumerate(value):
            _unknown(member, schema["items"], f"{path}[{index}]", found, limit)


def unknown_fields(obj: Any, kind: str, *, limit: int = 100) -> list[str]:
    """The fields of ``obj`` (an ``image.openshift.io/v1`` ``kind``) its schema does not
    know, as ``fieldValidation=Strict`` reports them (``spec.foo``, ``items[0].bar``); at
    most ``limit``. Members the schema keeps as given (``dockerImageMetadata``) are not
    looked into."""
    found: list[str] = []
    _unknown(obj, SCHEMAS[schema_name(kind)], "", found, limit)
    return found
