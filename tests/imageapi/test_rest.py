"""The store's OpenShift-compatible REST: paths, status codes and ``Status`` bodies."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from sigverify.imageapi.store import rest
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import API_PREFIX, create_store_app
from tests.imageapi.builders import conditions, digest_of, image, signature, stream

NAME = digest_of("app")


@pytest.fixture
def seeded(store: ImageStore) -> ImageStore:
    store.put_object(image("app", signatures=2))
    store.put_object(image("lib"))
    store.put_object(stream("demo", "app", {"latest": [NAME]}))
    return store


@pytest.fixture
def client(seeded: ImageStore) -> FlaskClient:
    return create_store_app(seeded).test_client()


def _status(response: Any, code: int, reason: str) -> dict[str, Any]:
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure" and body["reason"] == reason and body["code"] == code
    return body


def test_get_image(client: FlaskClient, seeded: ImageStore) -> None:
    response = client.get(f"{API_PREFIX}/images/{NAME}")
    assert response.status_code == 200
    assert response.get_json() == seeded.get_image(NAME)


def test_get_unknown_image_is_a_404_status(client: FlaskClient) -> None:
    body = _status(client.get(f"{API_PREFIX}/images/sha256:nope"), 404, "NotFound")
    assert body["message"] == 'images.image.openshift.io "sha256:nope" not found'
    assert body["details"] == {
        "name": "sha256:nope",
        "group": "image.openshift.io",
        "kind": "images",
    }


def test_put_image_round_trip_and_conflict(client: FlaskClient) -> None:
    read = client.get(f"{API_PREFIX}/images/{NAME}").get_json()
    sent = copy.deepcopy(read)
    sent["signatures"][0]["conditions"] = conditions("True")
    response = client.put(f"{API_PREFIX}/images/{NAME}", json=sent)
    assert response.status_code == 200
    written = response.get_json()
    assert written["signatures"] == sent["signatures"]
    assert int(written["metadata"]["resourceVersion"]) > int(read["metadata"]["resourceVersion"])
    body = _status(client.put(f"{API_PREFIX}/images/{NAME}", json=sent), 409, "Conflict")
    assert "the object has been modified" in body["message"]


def test_put_invalid_image_is_a_422_with_causes(client: FlaskClient) -> None:
    read = client.get(f"{API_PREFIX}/images/{NAME}").get_json()
    read["signatures"][1]["conditions"] = conditions("True")[:1]
    body = _status(client.put(f"{API_PREFIX}/images/{NAME}", json=read), 422, "Invalid")
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: '…': missing \"ForImage\" condition type",
            "field": "signatures[1].conditions",
        }
    ]


def test_put_with_the_crashing_condition_order_is_a_500(client: FlaskClient) -> None:
    read = client.get(f"{API_PREFIX}/images/{NAME}").get_json()
    trusted, for_image = conditions("True")
    read["signatures"][0]["conditions"] = [dict(trusted, type="Revoked"), trusted, for_image]
    _status(client.put(f"{API_PREFIX}/images/{NAME}", json=read), 500, "InternalError")


@pytest.mark.parametrize(
    ("data", "content_type", "code", "reason"),
    [
        ("{not json", "application/json", 400, "BadRequest"),
        ("[1, 2]", "application/json", 400, "BadRequest"),
        ('{"signatures": 5}', "application/json", 400, "BadRequest"),
        ("kind: Image", "application/yaml", 415, "UnsupportedMediaType"),
    ],
)
def test_put_malformed_bodies(
    client: FlaskClient, data: str, content_type: str, code: int, reason: str
) -> None:
    response = client.put(f"{API_PREFIX}/images/{NAME}", data=data, content_type=content_type)
    _status(response, code, reason)


def test_put_too_large_is_a_413(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rest, "MAX_DOCUMENT_BYTES", 64)
    response = client.put(f"{API_PREFIX}/images/{NAME}", data="{" + " " * 100 + "}")
    _status(response, 413, "RequestEntityTooLarge")


def test_put_name_mismatch_is_a_400(client: FlaskClient) -> None:
    read = client.get(f"{API_PREFIX}/images/{NAME}").get_json()
    body = _status(client.put(f"{API_PREFIX}/images/sha256:other", json=read), 400, "BadRequest")
    assert "does not match the name on the URL (sha256:other)" in body["message"]


def test_methods_not_served_are_a_405(client: FlaskClient) -> None:
    _status(client.post(f"{API_PREFIX}/images", json={}), 405, "MethodNotAllowed")
    _status(client.delete(f"{API_PREFIX}/images/{NAME}"), 405, "MethodNotAllowed")
    _status(client.get(f"{API_PREFIX}/imagesignatures/{NAME}@sig0"), 405, "MethodNotAllowed")
    _status(
        client.put(f"{API_PREFIX}/namespaces/demo/imagestreamimages/app@x", json={}),
        405,
        "MethodNotAllowed",
    )


def test_unknown_paths_are_a_404_status(client: FlaskClient) -> None:
    _status(client.get(f"{API_PREFIX}/builds"), 404, "NotFound")
    _status(client.get("/api/v1/pods"), 404, "NotFound")


def test_get_imagestreamimage(client: FlaskClient, seeded: ImageStore) -> None:
    response = client.get(f"{API_PREFIX}/namespaces/demo/imagestreamimages/app@{NAME}")
    assert response.status_code == 200
    assert response.get_json() == seeded.get_imagestreamimage("demo", f"app@{NAME}")
    body = _status(
        client.get(f"{API_PREFIX}/namespaces/demo/imagestreamimages/app"), 400, "BadRequest"
    )
    assert body["message"] == "ImageStreamImages must be retrieved with <name>@<id>"
    _status(
        client.get(f"{API_PREFIX}/namespaces/demo/imagestreamimages/app@sha256:0"),
        404,
        "NotFound",
    )


def test_get_imagestreamtag_and_imagestream(client: FlaskClient) -> None:
    response = client.get(f"{API_PREFIX}/namespaces/demo/imagestreamtags/app:latest")
    assert response.status_code == 200
    assert response.get_json()["image"]["metadata"]["name"] == NAME
    response = client.get(f"{API_PREFIX}/namespaces/demo/imagestreams/app")
    assert response.status_code == 200 and response.get_json()["kind"] == "ImageStream"
    _status(client.get(f"{API_PREFIX}/namespaces/demo/imagestreamtags/app"), 400, "BadRequest")


def test_list_images_with_limit_and_continue(client: FlaskClient) -> None:
    first = client.get(f"{API_PREFIX}/images?limit=1").get_json()
    assert first["kind"] == "ImageList" and first["apiVersion"] == "image.openshift.io/v1"
    assert len(first["items"]) == 1 and first["metadata"]["remainingItemCount"] == 1
    token = first["metadata"]["continue"]
    second = client.get(f"{API_PREFIX}/images", query_string={"limit": 1, "continue": token})
    body = second.get_json()
    assert "continue" not in body["metadata"]
    names = [first["items"][0]["metadata"]["name"], body["items"][0]["metadata"]["name"]]
    assert names == sorted([NAME, digest_of("lib")])
    _status(client.get(f"{API_PREFIX}/images?limit=ten"), 400, "BadRequest")
    _status(client.get(f"{API_PREFIX}/images?limit=1&continue=@@"), 400, "BadRequest")


def test_list_imagestreams(client: FlaskClient) -> None:
    for path in ("/imagestreams", "/namespaces/demo/imagestreams"):
        body = client.get(API_PREFIX + path).get_json()
        assert body["kind"] == "ImageStreamList"
        assert [i["metadata"]["name"] for i in body["items"]] == ["app"]
    assert client.get(f"{API_PREFIX}/namespaces/other/imagestreams").get_json()["items"] == []


def test_imagesignatures_create_and_delete(client: FlaskClient, seeded: ImageStore) -> None:
    response = client.post(f"{API_PREFIX}/imagesignatures", json=signature(NAME, "new"))
    assert response.status_code == 201
    assert response.get_json()["metadata"]["name"] == f"{NAME}@new"
    body = _status(
        client.post(f"{API_PREFIX}/imagesignatures", json=signature(NAME, "new", blob=b"x")),
        409,
        "AlreadyExists",
    )
    assert body["message"] == f'imageSignatures.image.openshift.io "{NAME}@new" already exists'
    response = client.delete(f"{API_PREFIX}/imagesignatures/{NAME}@new")
    assert response.status_code == 200
    assert response.get_json()["status"] == "Success"
    names = [s["metadata"]["name"] for s in seeded.get_image(NAME)["signatures"]]
    assert names == [f"{NAME}@sig0", f"{NAME}@sig1"]
    _status(client.delete(f"{API_PREFIX}/imagesignatures/{NAME}@new"), 404, "NotFound")
    _status(
        client.post(f"{API_PREFIX}/imagesignatures", json={"metadata": {"name": "x"}}),
        422,
        "Invalid",
    )


def test_discovery_lists_the_resources(client: FlaskClient) -> None:
    body = client.get(API_PREFIX).get_json()
    assert body["kind"] == "APIResourceList"
    assert {r["name"] for r in body["resources"]} == {
        "images",
        "imagesignatures",
        "imagestreams",
        "imagestreamimages",
        "imagestreamtags",
    }


# -- bearer tokens --------------------------------------------------------------------------


@pytest.fixture
def guarded(seeded: ImageStore) -> FlaskClient:
    return create_store_app(seeded, tokens={"reader": "read", "writer": "write"}).test_client()


def test_missing_or_unknown_token_is_a_401(guarded: FlaskClient) -> None:
    body = _status(guarded.get(f"{API_PREFIX}/images/{NAME}"), 401, "Unauthorized")
    assert body["message"] == "Unauthorized"
    _status(
        guarded.get(f"{API_PREFIX}/images", headers={"Authorization": "Bearer nope"}),
        401,
        "Unauthorized",
    )


def test_a_reader_may_read_but_not_update(guarded: FlaskClient) -> None:
    reader = {"Authorization": "Bearer reader"}
    read = guarded.get(f"{API_PREFIX}/images/{NAME}", headers=reader)
    assert read.status_code == 200
    body = _status(
        guarded.put(f"{API_PREFIX}/images/{NAME}", json=read.get_json(), headers=reader),
        403,
        "Forbidden",
    )
    assert body["message"] == (
        f'images.image.openshift.io "{NAME}" is forbidden: User "reader" cannot update '
        'resource "images" in API group "image.openshift.io" at the cluster scope'
    )
    writer = {"Authorization": "Bearer writer"}
    response = guarded.put(f"{API_PREFIX}/images/{NAME}", json=read.get_json(), headers=writer)
    assert response.status_code == 200


def test_status_bodies_are_valid_json_text(client: FlaskClient) -> None:
    response = client.get(f"{API_PREFIX}/images/sha256:nope")
    assert json.loads(response.get_data(as_text=True))["code"] == 404
