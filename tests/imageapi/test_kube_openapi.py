"""The OpenAPI documents kubectl reads: v3 (explain, the fieldValidation check) and v2 as
gnostic protobuf (client-side validation); strict unknown-field detection (issue 14)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from sigverify.imageapi.store import kube_openapi
from sigverify.imageapi.store.discovery import StoreResource
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.kube_openapi import (
    DOCUMENT_PATH,
    group_version_document,
    unknown_fields,
)
from sigverify.imageapi.store.kube_openapi_v2 import PROTOBUF_TYPE, swagger_protobuf
from sigverify.imageapi.store.kube_schemas import SCHEMAS
from sigverify.imageapi.store.rest import create_store_app
from tests.imageapi.builders import image, stream

PREFIX = "/apis/image.openshift.io/v1"


@pytest.fixture
def client(store: ImageStore) -> FlaskClient:
    return create_store_app(store).test_client()


def _document(client: FlaskClient) -> dict[str, Any]:
    index = client.get("/openapi/v3").get_json()
    [(path, entry)] = index["paths"].items()
    assert path == "apis/image.openshift.io/v1"
    url = entry["serverRelativeURL"]
    assert url.startswith(f"{DOCUMENT_PATH}?hash=")
    response = client.get(url)
    assert response.headers["Cache-Control"] == "public, immutable"
    assert response.headers["ETag"] == f'"{url.split("=", 1)[1]}"'
    assert client.get(DOCUMENT_PATH).headers["Cache-Control"] == "no-cache, private"
    body: dict[str, Any] = response.get_json()
    return body


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [ref for member in value.values() for ref in _refs(member)]
    if isinstance(value, list):
        return [ref for member in value for ref in _refs(member)]
    return []


def test_every_reference_resolves(client: FlaskClient) -> None:
    document = _document(client)
    schemas = document["components"]["schemas"]
    refs = set(_refs(document))
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs)
    assert {ref.rsplit("/", 1)[1] for ref in refs} <= set(schemas)


def test_each_kind_has_its_gvk(client: FlaskClient) -> None:
    schemas = _document(client)["components"]["schemas"]
    for kind in ("Image", "ImageList", "ImageStream", "ImageStreamList", "ImageSignature"):
        assert schemas[f"com.github.openshift.api.image.v1.{kind}"][
            "x-kubernetes-group-version-kind"
        ] == [{"group": "image.openshift.io", "kind": kind, "version": "v1"}]


def test_operations_follow_the_served_verbs(client: FlaskClient) -> None:
    paths = _document(client)["paths"]
    served = {
        (path, method, op["x-kubernetes-action"], op["x-kubernetes-group-version-kind"]["kind"])
        for path, operations in paths.items()
        for method, op in operations.items()
        if "x-kubernetes-action" in op
    }
    namespaced = f"{PREFIX}/namespaces/{{namespace}}"
    assert served == {
        (f"{PREFIX}/images", "get", "list", "Image"),
        (f"{PREFIX}/images/{{name}}", "get", "get", "Image"),
        (f"{PREFIX}/images/{{name}}", "put", "put", "Image"),
        (f"{PREFIX}/images/{{name}}", "patch", "patch", "Image"),
        (f"{PREFIX}/imagesignatures", "post", "post", "ImageSignature"),
        (f"{PREFIX}/imagesignatures/{{name}}", "delete", "delete", "ImageSignature"),
        (f"{namespaced}/imagestreamimages/{{name}}", "get", "get", "ImageStreamImage"),
        (f"{namespaced}/imagestreams", "get", "list", "ImageStream"),
        (f"{PREFIX}/imagestreams", "get", "list", "ImageStream"),
        (f"{namespaced}/imagestreams/{{name}}", "get", "get", "ImageStream"),
        (f"{namespaced}/imagestreamtags/{{name}}", "get", "get", "ImageStreamTag"),
    }
    list_images = paths[f"{PREFIX}/images"]["get"]
    assert {p["name"] for p in list_images["parameters"]} == {
        "pretty",
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "resourceVersion",
        "watch",
        "allowWatchBookmarks",
        "timeoutSeconds",
    }
    for method in ("put", "patch"):
        write = paths[f"{PREFIX}/images/{{name}}"][method]
        assert {p["name"] for p in write["parameters"]} == {
            "name",
            "pretty",
            "dryRun",
            "fieldValidation",
        }
    delete = paths[f"{PREFIX}/imagesignatures/{{name}}"]["delete"]
    assert {p["name"] for p in delete["parameters"]} == {"name", "pretty", "dryRun"}


def test_a_patch_verb_brings_a_patch_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    images = StoreResource("images", "image", "Image", False, ("get", "list", "patch", "watch"))
    monkeypatch.setattr(kube_openapi, "RESOURCES", (images,))
    group_version_document.cache_clear()
    try:
        document = json.loads(group_version_document())
    finally:
        group_version_document.cache_clear()
    patch = document["paths"][f"{PREFIX}/images/{{name}}"]["patch"]
    assert sorted(patch["requestBody"]["content"]) == [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    ]
    watch = {p["name"] for p in document["paths"][f"{PREFIX}/images"]["get"]["parameters"]}
    assert {"watch", "allowWatchBookmarks", "timeoutSeconds"} <= watch


def test_unknown_fields() -> None:
    body = image("app", signatures=1)
    assert unknown_fields(body, "Image") == ["x-unknown-member"]
    del body["x-unknown-member"]
    assert unknown_fields(body, "Image") == []
    body["dockerImageMetadata"]["anything"] = {"goes": [1]}  # kept as given
    body["signatures"][0]["conditions"] = [{"type": "Trusted", "status": "True", "why": 1}]
    body["metadata"]["labels"] = {"a": "b"}
    body["metadata"]["color"] = "red"
    assert unknown_fields(body, "Image") == [
        "metadata.color",
        "signatures[0].conditions[0].why",
    ]
    assert unknown_fields(stream("demo", "app", {}, extra=1), "ImageStream") == ["extra"]
    many = {f"f{i}": i for i in range(10)}
    assert len(unknown_fields(many, "Image", limit=3)) == 3


# -- OpenAPI v2, protobuf -------------------------------------------------------------------


def _fields(data: bytes) -> list[tuple[int, bytes | int]]:
    """A protobuf message's fields (varints and length-delimited only), read independently."""

    def varint(at: int) -> tuple[int, int]:
        value, shift = 0, 0
        while True:
            byte = data[at]
            value |= (byte & 0x7F) << shift
            at += 1
            if not byte & 0x80:
                return value, at
            shift += 7

    out: list[tuple[int, bytes | int]] = []
    at = 0
    while at < len(data):
        key, at = varint(at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(at)
            out.append((number, value))
        else:
            assert wire == 2, wire
            length, at = varint(at)
            out.append((number, data[at : at + length]))
            at += length
    return out


def _one(fields: list[tuple[int, bytes | int]], number: int) -> bytes:
    [value] = [v for n, v in fields if n == number]
    assert isinstance(value, bytes)
    return value


def test_v2_protobuf_document() -> None:
    document = _fields(swagger_protobuf())
    assert _one(document, 1) == b"2.0"
    definitions = [_fields(v) for n, v in _fields(_one(document, 9)) if isinstance(v, bytes)]
    named = {_one(d, 1).decode(): _fields(_one(d, 2)) for d in definitions}
    assert set(named) == set(SCHEMAS)
    image_schema = named["com.github.openshift.api.image.v1.Image"]
    assert _fields(_one(image_schema, 22)) == [(1, b"object")]  # type: object
    properties = {
        _one(_fields(v), 1).decode()
        for n, v in _fields(_one(image_schema, 25))
        if isinstance(v, bytes)
    }
    assert {"signatures", "dockerImageReference", "metadata"} <= properties
    [extension] = [_fields(v) for n, v in image_schema if n == 31 and isinstance(v, bytes)]
    assert _one(extension, 1) == b"x-kubernetes-group-version-kind"
    yaml_text = _one(_fields(_one(extension, 2)), 2)
    assert json.loads(yaml_text) == [
        {"group": "image.openshift.io", "kind": "Image", "version": "v1"}
    ]
    layers = dict(
        (_one(_fields(v), 1).decode(), _fields(_one(_fields(v), 2)))
        for n, v in _fields(_one(image_schema, 25))
        if isinstance(v, bytes)
    )["dockerImageLayers"]
    item = _fields(_one(_fields(_one(layers, 23)), 1))
    assert _one(item, 1) == b"#/definitions/com.github.openshift.api.image.v1.ImageLayer"


def test_v2_over_http(client: FlaskClient) -> None:
    response = client.get("/openapi/v2", headers={"Accept": PROTOBUF_TYPE})
    assert response.data == swagger_protobuf()
    assert response.content_type == ("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    body = client.get("/openapi/v2", headers={"Accept": "application/json"}).get_json()
    assert body["swagger"] == "2.0"
    ref = body["definitions"]["com.github.openshift.api.image.v1.Image"]["properties"]["metadata"]
    assert ref["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
