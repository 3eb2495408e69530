"""PATCH of Images and ``?dryRun=All`` on every write, over the store's REST."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from sigverify.imageapi.store import rest
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import API_PREFIX, create_store_app
from sigverify.imageapi.store.watch import WatchLimits
from tests.imageapi.builders import conditions, digest_of, image, signature, stream

NAME = digest_of("app")
URL = f"{API_PREFIX}/images/{NAME}"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


@pytest.fixture
def seeded(store: ImageStore) -> ImageStore:
    store.put_object(image("app", signatures=2))  # 1001
    store.put_object(stream("demo", "app", {"latest": [NAME]}))  # 1002
    return store


@pytest.fixture
def client(seeded: ImageStore) -> FlaskClient:
    return create_store_app(seeded).test_client()


def _patch(client: FlaskClient, body: Any, kind: str, query: str = "") -> Any:
    return client.patch(URL + query, data=json.dumps(body), content_type=kind)


def _status(response: Any, code: int, reason: str) -> dict[str, Any]:
    assert response.status_code == code, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert body["kind"] == "Status" and body["reason"] == reason and body["code"] == code
    return body


def _without_version(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    del out["metadata"]["resourceVersion"]
    return out


def test_merge_patch_adds_a_label_and_keeps_everything_else(
    client: FlaskClient, seeded: ImageStore
) -> None:
    before = seeded.get_image(NAME)
    response = _patch(client, {"metadata": {"labels": {"team": "a"}}}, MERGE)
    assert response.status_code == 200
    after = response.get_json()
    assert after == seeded.get_image(NAME)
    assert after["metadata"]["resourceVersion"] == "1003"
    expected = _without_version(before)
    expected["metadata"]["labels"] = {"team": "a"}
    assert _without_version(after) == expected  # every field and signature kept


def test_strategic_merge_records_one_signature_and_keeps_the_others(
    client: FlaskClient, seeded: ImageStore
) -> None:
    before = seeded.get_image(NAME)
    patch = {
        "signatures": [{"metadata": {"name": f"{NAME}@sig1"}, "conditions": conditions("True")}]
    }
    response = _patch(client, patch, STRATEGIC)
    assert response.status_code == 200
    expected = _without_version(before)
    expected["signatures"][1]["conditions"] = conditions("True")
    assert _without_version(response.get_json()) == expected
    # A condition by type: only ForImage changes, Trusted stays.
    flip = {"type": "ForImage", "status": "False", "reason": "Mismatch", "message": "m"}
    patch = {"signatures": [{"metadata": {"name": f"{NAME}@sig1"}, "conditions": [flip]}]}
    written = _patch(client, patch, STRATEGIC).get_json()
    assert written["signatures"][1]["conditions"] == [
        conditions("True")[0],
        {**conditions("True")[1], **flip},
    ]
    assert written["signatures"][0] == before["signatures"][0]


def test_merge_patch_replaces_lists_as_rfc7396_says(client: FlaskClient) -> None:
    # A merge patch replaces signatures whole: one without type and content is refused by the
    # store's validation, so no signature is lost by accident.
    patch = {
        "signatures": [{"metadata": {"name": f"{NAME}@sig1"}, "conditions": conditions("True")}]
    }
    body = _status(_patch(client, patch, MERGE), 422, "Invalid")
    assert [(c["field"], c["reason"]) for c in body["details"]["causes"]] == [
        ("signatures[0].type", "FieldValueRequired"),
        ("signatures[0].content", "FieldValueRequired"),
        ("signatures[0].type", "FieldValueForbidden"),
        ("signatures[0].content", "FieldValueForbidden"),
    ]


def test_json_patch_with_test_operations(client: FlaskClient, seeded: ImageStore) -> None:
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1002"},
        {"op": "test", "path": "/signatures/0/metadata/name", "value": f"{NAME}@sig0"},
        {"op": "add", "path": "/signatures/0/conditions", "value": conditions("False")},
        {"op": "add", "path": "/metadata/annotations/note", "value": "checked"},
    ]
    assert seeded.get_image(NAME)["metadata"]["resourceVersion"] == "1001"
    stale = _status(_patch(client, ops, JSON_PATCH), 422, "Invalid")
    assert stale["message"] == 'json patch: testing value "/metadata/resourceVersion" failed'
    ops[0]["value"] = "1001"
    response = _patch(client, ops, JSON_PATCH)
    assert response.status_code == 200
    written = response.get_json()
    assert written["signatures"][0]["conditions"] == conditions("False")
    assert written["metadata"]["annotations"]["note"] == "checked"
    assert written["x-unknown-member"] == {"kept": [1, 2.5, None, True]}


def test_resource_version_is_a_precondition(client: FlaskClient, seeded: ImageStore) -> None:
    patch = {"metadata": {"resourceVersion": "1000", "labels": {"a": "b"}}}
    body = _status(_patch(client, patch, MERGE), 409, "Conflict")
    assert body["message"] == (
        f'Operation cannot be fulfilled on images.image.openshift.io "{NAME}": the object has '
        "been modified; please apply your changes to the latest version and try again"
    )
    assert "labels" not in seeded.get_image(NAME)["metadata"]
    patch["metadata"]["resourceVersion"] = "1001"
    assert _patch(client, patch, MERGE).status_code == 200
    uid = {"metadata": {"uid": "someone-else"}}
    body = _status(_patch(client, uid, MERGE), 409, "Conflict")
    assert body["message"].startswith("Precondition failed: UID in precondition: someone-else")


def test_the_store_validation_applies_to_the_patched_image(client: FlaskClient) -> None:
    half = {
        "signatures": [{"metadata": {"name": f"{NAME}@sig0"}, "conditions": conditions("True")[:1]}]
    }
    body = _status(_patch(client, half, STRATEGIC), 422, "Invalid")
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: '…': missing \"ForImage\" condition type",
            "field": "signatures[0].conditions",
        }
    ]
    content = [{"op": "replace", "path": "/signatures/1/content", "value": "b3RoZXI="}]
    body = _status(_patch(client, content, JSON_PATCH), 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "signatures[1].content"


def test_immutable_fields_are_kept_as_a_put_keeps_them(
    client: FlaskClient, seeded: ImageStore
) -> None:
    before = seeded.get_image(NAME)
    layers = [{"op": "replace", "path": "/dockerImageLayers", "value": []}]
    written = _patch(
        client,
        [*layers, {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}],
        JSON_PATCH,
    )
    assert written.status_code == 200
    assert written.get_json()["dockerImageLayers"] == before["dockerImageLayers"]


@pytest.mark.parametrize(
    ("body", "kind", "code", "reason", "message"),
    [
        ('{"metadata": ', MERGE, 400, "BadRequest", None),
        ("[1]", MERGE, 400, "BadRequest", "the patched Image is not a JSON object"),
        (
            '{"kind": "Pod"}',
            MERGE,
            400,
            "BadRequest",
            "a patch cannot change kind or apiVersion (to 'Pod', 'image.openshift.io/v1')",
        ),
        ('{"metadata": {"name": "sha256:other"}}', MERGE, 400, "BadRequest", None),
        ('{"signatures": 5}', MERGE, 400, "BadRequest", None),
        (
            '{"op": "add"}',
            JSON_PATCH,
            400,
            "BadRequest",
            "json patch: the body must be an array of operations",
        ),
        ("{}", "application/json", 415, "UnsupportedMediaType", None),
        ("a: b", "application/apply-patch+yaml", 415, "UnsupportedMediaType", None),
    ],
)
def test_bad_patches(
    client: FlaskClient,
    seeded: ImageStore,
    body: str,
    kind: str,
    code: int,
    reason: str,
    message: str | None,
) -> None:
    response = client.patch(URL, data=body, content_type=kind)
    status = _status(response, code, reason)
    if message is not None:
        assert status["message"] == message
    if code == 415:
        assert status["message"] == (
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            f'application/strategic-merge-patch+json (got "{kind}")'
        )
    assert seeded.get_image(NAME)["metadata"]["resourceVersion"] == "1001"


def test_hostile_patches_are_bounded(
    client: FlaskClient, seeded: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = "[" * 150 + "]" * 150
    body = _status(client.patch(URL, data=deep, content_type=JSON_PATCH), 400, "BadRequest")
    assert (
        body["message"]
        == "[0]" * 100 + ": the body of the request is nested deeper than 100 levels"
    )
    ops = [{"op": "test", "path": "/kind", "value": "Image"}] * 1001
    body = _status(_patch(client, ops, JSON_PATCH), 422, "Invalid")
    assert body["message"] == "The allowed maximum operations in a JSON patch is 1000, got 1001"
    monkeypatch.setattr(rest, "MAX_DOCUMENT_BYTES", 64)
    body = _status(
        _patch(client, {"metadata": {"labels": {"a": "b" * 100}}}, MERGE),
        413,
        "RequestEntityTooLarge",
    )
    assert seeded.get_image(NAME)["metadata"]["resourceVersion"] == "1001"


def test_patch_where_nothing_is_patchable(client: FlaskClient) -> None:
    _status(
        client.patch(f"{API_PREFIX}/images/sha256:nope", data="{}", content_type=MERGE),
        404,
        "NotFound",
    )
    for path in ("/namespaces/demo/imagestreams/app", f"/imagesignatures/{NAME}@sig0", "/images"):
        _status(
            client.patch(API_PREFIX + path, data="{}", content_type=MERGE), 405, "MethodNotAllowed"
        )


def test_patch_tokens_need_write_access(seeded: ImageStore) -> None:
    client = create_store_app(seeded, tokens={"r": "read", "w": "write"}).test_client()
    denied = client.patch(URL, data="{}", content_type=MERGE, headers={"Authorization": "Bearer r"})
    body = _status(denied, 403, "Forbidden")
    assert 'cannot patch resource "images"' in body["message"]
    allowed = client.patch(
        URL, data="{}", content_type=MERGE, headers={"Authorization": "Bearer w"}
    )
    assert allowed.status_code == 200


# -- dryRun=All -------------------------------------------------------------------------


def _revision(client: FlaskClient) -> str:
    version: str = client.get(f"{API_PREFIX}/images").get_json()["metadata"]["resourceVersion"]
    return version


def test_dry_run_patch_and_put_answer_as_written_and_store_nothing(
    client: FlaskClient, seeded: ImageStore
) -> None:
    before = seeded.get_image(NAME)
    patch = {
        "signatures": [{"metadata": {"name": f"{NAME}@sig0"}, "conditions": conditions("True")}]
    }
    response = _patch(client, patch, STRATEGIC, "?dryRun=All")
    assert response.status_code == 200
    answered = response.get_json()
    assert answered["signatures"][0]["conditions"] == conditions("True")
    assert answered["metadata"]["resourceVersion"] == "1001"
    put = copy.deepcopy(before)
    put["signatures"][1]["conditions"] = conditions("False")
    response = client.put(URL + "?dryRun=All", json=put)
    assert response.status_code == 200
    assert response.get_json() == put
    assert seeded.get_image(NAME) == before
    assert _revision(client) == "1002"
    # Checks still run: a stale version is 409, an invalid image 422.
    stale = dict(put, metadata=dict(put["metadata"], resourceVersion="7"))
    _status(client.put(URL + "?dryRun=All", json=stale), 409, "Conflict")
    put["signatures"][1]["conditions"] = conditions("False")[:1]
    _status(client.put(URL + "?dryRun=All", json=put), 422, "Invalid")
    short = WatchLimits(poll_seconds=0.02, max_timeout_seconds=0.2)
    events = (
        create_store_app(seeded, watch_limits=short)
        .test_client()
        .get(f"{API_PREFIX}/images?watch=true&resourceVersion=1002")
        .get_data()
    )
    assert events == b""  # nothing reached the change log


def test_dry_run_signature_create_and_delete(client: FlaskClient, seeded: ImageStore) -> None:
    before = seeded.get_image(NAME)
    created = client.post(f"{API_PREFIX}/imagesignatures?dryRun=All", json=signature(NAME, "new"))
    assert created.status_code == 201
    assert created.get_json()["metadata"]["name"] == f"{NAME}@new"
    deleted = client.delete(f"{API_PREFIX}/imagesignatures/{NAME}@sig0?dryRun=All")
    assert deleted.status_code == 200 and deleted.get_json()["status"] == "Success"
    assert seeded.get_image(NAME) == before
    assert _revision(client) == "1002"
    _status(
        client.post(f"{API_PREFIX}/imagesignatures?dryRun=All", json=signature(NAME, "sig0")),
        409,
        "AlreadyExists",
    )
    _status(client.delete(f"{API_PREFIX}/imagesignatures/{NAME}@gone?dryRun=All"), 404, "NotFound")


@pytest.mark.parametrize("query", ["?dryRun=Server", "?dryRun=", "?dryRun=All&dryRun=all"])
def test_unknown_dry_run_values_are_400(
    client: FlaskClient, seeded: ImageStore, query: str
) -> None:
    bad = query.rsplit("=", 1)[1]
    message = f'dryRun: Unsupported value: "{bad}": supported values: "All"'
    for response in (
        client.patch(URL + query, data="{}", content_type=MERGE),
        client.put(URL + query, json=seeded.get_image(NAME)),
        client.post(f"{API_PREFIX}/imagesignatures{query}", json=signature(NAME, "new")),
        client.delete(f"{API_PREFIX}/imagesignatures/{NAME}@sig0{query}"),
    ):
        assert _status(response, 400, "BadRequest")["message"] == message
    assert _revision(client) == "1002"


# -- fieldValidation ----------------------------------------------------------------------


def test_field_validation_of_a_patch(client: FlaskClient, seeded: ImageStore) -> None:
    added = {"metadata": {"labels": {"a": "b"}}, "spec": {"replicas": 1}}
    strict = _status(_patch(client, added, MERGE, "?fieldValidation=Strict"), 400, "BadRequest")
    assert strict["message"] == 'strict decoding error: unknown field "spec"'
    assert "labels" not in seeded.get_image(NAME)["metadata"]
    warned = _patch(client, added, MERGE)  # Warn is the default
    assert warned.status_code == 200
    assert warned.headers.getlist("Warning") == ['299 - "unknown field \\"spec\\""']
    assert warned.get_json()["spec"] == {"replicas": 1}  # kept: the store is lossless
    quiet = _patch(client, {"spec": {"replicas": 2}}, MERGE, "?fieldValidation=Ignore")
    assert quiet.status_code == 200 and "Warning" not in quiet.headers
    # What the Image already holds (x-unknown-member, spec) is not the patch's doing.
    label = {"metadata": {"labels": {"c": "d"}}}
    assert _patch(client, label, STRATEGIC, "?fieldValidation=Strict").status_code == 200
    sig = [{"op": "add", "path": "/signatures/0/bogus", "value": 1}]
    body = _status(_patch(client, sig, JSON_PATCH, "?fieldValidation=Strict"), 400, "BadRequest")
    assert body["message"] == 'strict decoding error: unknown field "signatures[0].bogus"'


def test_field_validation_of_a_put_and_a_signature(client: FlaskClient, seeded: ImageStore) -> None:
    read = seeded.get_image(NAME)
    assert client.put(URL + "?fieldValidation=Strict", json=read).status_code == 200
    read = seeded.get_image(NAME)
    read["metadata"]["bogus"] = True
    body = _status(client.put(URL + "?fieldValidation=Strict", json=read), 400, "BadRequest")
    assert body["message"] == 'strict decoding error: unknown field "metadata.bogus"'
    extra = dict(signature(NAME, "new"), bogus=1)
    url = f"{API_PREFIX}/imagesignatures"
    body = _status(client.post(url + "?fieldValidation=Strict", json=extra), 400, "BadRequest")
    assert body["message"] == 'strict decoding error: unknown field "bogus"'
    warned = client.post(url + "?dryRun=All", json=extra)
    assert warned.status_code == 201
    assert warned.headers.getlist("Warning") == ['299 - "unknown field \\"bogus\\""']
    body = _status(client.put(URL + "?fieldValidation=strict", json=read), 400, "BadRequest")
    assert body["message"] == (
        'fieldValidation: Unsupported value: "strict": supported values: "Ignore", "Strict", "Warn"'
    )
