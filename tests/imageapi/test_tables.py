"""Server-side printing (Table, PartialObjectMetadata) and selectors on the store's REST, as
kube-apiserver answers kubectl (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import API_PREFIX, create_store_app
from sigverify.imageapi.store.tables import (
    NotAcceptable,
    Rendering,
    human_duration,
    negotiate,
    table,
    tags_up_to_width,
    verification_state,
)
from tests.imageapi.builders import conditions, digest_of, image, signature, stream

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
META = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
META_LIST = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
#: What kubectl get sends.
KUBECTL_TABLE = f"{TABLE},application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
APP = digest_of("app")
LIB = digest_of("lib")


@pytest.mark.parametrize(
    ("accept", "listing", "rendering"),
    [
        ("", False, Rendering()),
        ("application/json", False, Rendering()),
        ("*/*", True, Rendering()),
        (KUBECTL_TABLE, True, Rendering("table", "v1")),
        ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", False, Rendering("table", "v1beta1")),
        (META, False, Rendering("metadata")),
        (META_LIST, True, Rendering("metadata")),
        # A form this server does not make is skipped for the next one.
        (f"{META_LIST},application/json", False, Rendering()),
        ("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", True, Rendering()),
        ("application/vnd.kubernetes.protobuf,application/json", True, Rendering()),
    ],
)  # fmt: skip
def test_negotiate(accept: str, listing: bool, rendering: Rendering) -> None:
    assert negotiate(accept, listing=listing) == rendering


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.kubernetes.protobuf",
        "application/yaml",
        "application/json;as=Table;v=v1;g=other.io",
        "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",  # a list asks ...List
    ],
)
def test_nothing_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate(accept, listing=True)


def _signed(*statuses: str | None, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    signatures = []
    for i, status in enumerate(statuses):
        sig = signature(APP, f"s{i}")
        if status is not None:
            sig["conditions"] = conditions(status) + (extra or [])
        signatures.append(sig)
    return {"signatures": signatures}


@pytest.mark.parametrize(
    ("obj", "state"),
    [
        ({}, "Unsigned"),
        ({"signatures": []}, "Unsigned"),
        (_signed(None), "Unverified"),
        (_signed("True"), "Trusted"),
        (_signed("False"), "Untrusted"),
        (_signed("False", "True"), "Trusted"),
        (_signed("False", None), "Unverified"),
        (_signed("Unknown"), "Unverified"),
        (_signed("True", extra=[{"type": "Expired", "status": "True"}]), "Untrusted"),
        (_signed("True", extra=[{"type": "Revoked", "status": "True"}]), "Untrusted"),
        (_signed("True", extra=[{"type": "Expired", "status": "False"}]), "Trusted"),
        ({"signatures": [{"conditions": [{"type": "Trusted", "status": "True"}]}]}, "Unverified"),
    ],
)
def test_verification_state(obj: dict[str, Any], state: str) -> None:
    assert verification_state(obj) == state


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (5399, "About an hour"),
        (5400, "2 hours"),
        (47 * 3600, "47 hours"),
        (48 * 3600, "2 days"),
        (13 * 86400, "13 days"),
        (14 * 86400, "2 weeks"),
        (59 * 86400, "8 weeks"),
        (60 * 86400, "2 months"),
        (729 * 86400, "24 months"),
        (730 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("tags", "text"),
    [
        ([], ""),
        (["latest"], "latest"),
        (["a" * 50, "b"], "a" * 50 + " + 1 more..."),
        ([f"v{i}.0" for i in range(5)], "v0.0,v1.0,v2.0,v3.0,v4.0"),
        ([f"tag-{i:03d}" for i in range(8)], "tag-000,tag-001,tag-002,tag-003,tag-004 + 3 more..."),
    ],
)
def test_tags_up_to_width(tags: list[str], text: str) -> None:
    assert tags_up_to_width(tags) == text


NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def test_stream_columns_newest_tag_first() -> None:
    body = stream("demo", "app", {"old": [APP], "new": [LIB]})
    body["status"]["tags"][0]["items"][0]["created"] = "2026-11-27T09:00:00Z"  # "new"
    rows = table("ImageStream", [body], {}, include="None", now=NOW)
    assert [c["name"] for c in rows["columnDefinitions"]] == [
        "Name",
        "Image Repository",
        "Tags",
        "Updated",
    ]
    assert rows["rows"] == [
        {
            "cells": ["app", "image-registry.local:5000/demo/app", "new,old", "About an hour ago"],
            "object": None,
        }
    ]


def test_stream_repository_prefers_the_public_one() -> None:
    body = stream("demo", "app", {})
    body["status"]["publicDockerImageRepository"] = "public.example.com/demo/app"
    [row] = table("ImageStream", [body], {}, include="None", now=NOW)["rows"]
    assert row["cells"] == ["app", "public.example.com/demo/app", "", ""]


# -- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def client(store: ImageStore) -> FlaskClient:
    trusted = image("app", signatures=1)
    trusted["signatures"][0]["conditions"] = conditions("True")
    trusted["metadata"]["labels"] = {"team": "payments"}
    store.put_object(trusted)
    store.put_object(image("lib", signatures=2))
    store.put_object(stream("demo", "app", {"1.0": [APP]}))
    return create_store_app(store).test_client()


def _status(response: Any, code: int, reason: str) -> dict[str, Any]:
    assert response.status_code == code, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert (body["kind"], body["status"], body["reason"], body["code"]) == (
        "Status",
        "Failure",
        reason,
        code,
    )
    return body


def test_image_list_as_a_table(client: FlaskClient) -> None:
    response = client.get(f"{API_PREFIX}/images", headers={"Accept": KUBECTL_TABLE})
    body = response.get_json()
    assert (body["kind"], body["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert body["metadata"]["resourceVersion"]
    assert [(c["name"], c["type"], c["priority"]) for c in body["columnDefinitions"]] == [
        ("Name", "string", 0),
        ("Image Reference", "string", 0),
        ("Verification", "string", 0),
        ("Signatures", "integer", 1),
    ]
    assert body["columnDefinitions"][0]["format"] == "name"
    cells = sorted(row["cells"] for row in body["rows"])
    assert cells == sorted(
        [
            [APP, f"registry.example.com/demo/app@{APP}", "Trusted", 1],
            [LIB, f"registry.example.com/demo/lib@{LIB}", "Unverified", 2],
        ]
    )
    metadata = {row["object"]["metadata"]["name"]: row["object"] for row in body["rows"]}
    assert metadata[APP]["kind"] == "PartialObjectMetadata"
    assert metadata[APP]["apiVersion"] == "meta.k8s.io/v1"
    assert metadata[APP]["metadata"]["labels"] == {"team": "payments"}
    assert "signatures" not in metadata[APP]


@pytest.mark.parametrize(
    ("include", "object_kind"),
    [("Object", "Image"), ("None", None), ("PartialObjectMetadata", "PartialObjectMetadata")],
)
def test_include_object(client: FlaskClient, include: str, object_kind: str | None) -> None:
    response = client.get(
        f"{API_PREFIX}/images/{APP}",
        headers={"Accept": TABLE},
        query_string={"includeObject": include},
    )
    [row] = response.get_json()["rows"]
    if object_kind is None:
        assert row["object"] is None
    else:
        assert row["object"]["kind"] == object_kind
    if include == "Object":
        assert row["object"]["signatures"][0]["conditions"][0]["type"] == "Trusted"
    listed = client.get(
        f"{API_PREFIX}/images",
        headers={"Accept": TABLE},
        query_string={"includeObject": include},
    ).get_json()
    if include == "Object":  # list items are typed in rows, as the server sends them
        assert [row["object"]["kind"] for row in listed["rows"]] == ["Image", "Image"]
        assert {row["object"]["apiVersion"] for row in listed["rows"]} == {"image.openshift.io/v1"}


def test_a_bad_include_object_is_a_400(client: FlaskClient) -> None:
    response = client.get(
        f"{API_PREFIX}/images", headers={"Accept": TABLE}, query_string={"includeObject": "All"}
    )
    assert _status(response, 400, "BadRequest")["message"] == (
        'unrecognized includeObject value: "All"'
    )


def test_single_objects_as_tables(client: FlaskClient) -> None:
    stream_image = client.get(
        f"{API_PREFIX}/namespaces/demo/imagestreamimages/app@{APP}", headers={"Accept": TABLE}
    ).get_json()
    assert [c["name"] for c in stream_image["columnDefinitions"]] == [
        "Name",
        "Updated",
        "Verification",
        "Image Reference",
        "Image Name",
        "Signatures",
    ]
    [row] = stream_image["rows"]
    assert row["cells"][0] == f"app@{APP}" and row["cells"][1].endswith(" ago")
    assert row["cells"][2:] == ["Trusted", f"registry.example.com/demo/app@{APP}", APP, 1]
    tag = client.get(
        f"{API_PREFIX}/namespaces/demo/imagestreamtags/app:1.0", headers={"Accept": TABLE}
    ).get_json()
    [row] = tag["rows"]
    assert [c["name"] for c in tag["columnDefinitions"]][:3] == [
        "Name",
        "Image Reference",
        "Updated",
    ]
    assert row["cells"][0] == "app:1.0" and row["cells"][3:] == ["Trusted", APP, 1]
    one = client.get(f"{API_PREFIX}/namespaces/demo/imagestreams/app", headers={"Accept": TABLE})
    assert one.get_json()["metadata"]["resourceVersion"]
    assert one.get_json()["rows"][0]["cells"][:3] == [
        "app",
        "image-registry.local:5000/demo/app",
        "1.0",
    ]


def test_partial_object_metadata(client: FlaskClient) -> None:
    accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    body = client.get(f"{API_PREFIX}/images", headers={"Accept": accept}).get_json()
    assert (body["kind"], body["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    assert sorted(item["metadata"]["name"] for item in body["items"]) == sorted([APP, LIB])
    assert {item["kind"] for item in body["items"]} == {"PartialObjectMetadata"}
    accept = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
    one = client.get(f"{API_PREFIX}/images/{APP}", headers={"Accept": accept}).get_json()
    assert one["kind"] == "PartialObjectMetadata" and set(one) == {
        "kind",
        "apiVersion",
        "metadata",
    }


def test_nothing_acceptable_is_a_406(client: FlaskClient) -> None:
    response = client.get(
        f"{API_PREFIX}/images", headers={"Accept": "application/vnd.kubernetes.protobuf"}
    )
    assert _status(response, 406, "NotAcceptable")["message"].startswith(
        "only the following media types are accepted: application/json"
    )


def test_lists_honour_selectors(client: FlaskClient) -> None:
    def names(**query: str) -> list[str]:
        body = client.get(f"{API_PREFIX}/images", query_string=query).get_json()
        assert body["kind"] == "ImageList", body
        return [item["metadata"]["name"] for item in body["items"]]

    assert names(labelSelector="team=payments") == [APP]
    assert names(labelSelector="team!=payments") == [LIB]
    assert names(labelSelector="team in (infra)") == []
    assert names(fieldSelector=f"metadata.name={LIB}") == [LIB]
    assert names(labelSelector="team", fieldSelector=f"metadata.name={LIB}") == []
    streams = client.get(
        f"{API_PREFIX}/imagestreams", query_string={"fieldSelector": "metadata.namespace=demo"}
    ).get_json()
    assert [s["metadata"]["name"] for s in streams["items"]] == ["app"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"labelSelector": "a b"}, "unable to parse requirement: found 'b'"),
        ({"fieldSelector": "spec.x=1"}, "field label not supported: spec.x"),
        ({"fieldSelector": "dockerImageReference=x"}, "field label not supported: docker"),
        ({"labelSelector": ["a", "b"]}, "labelSelector given more than once"),
    ],
)
def test_unsupported_selectors_are_a_400(
    client: FlaskClient, query: dict[str, Any], message: str
) -> None:
    response = client.get(f"{API_PREFIX}/images", query_string=query)
    assert message in _status(response, 400, "BadRequest")["message"]
