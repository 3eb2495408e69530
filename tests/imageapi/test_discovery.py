"""Discovery as kube-apiserver answers it: ``/version``, ``/api``, ``/apis`` (plain and
aggregated), the group and the resource list (issue 14)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from sigverify.imageapi.store.discovery import RESOURCES, aggregated_version, resource_named
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import API_PREFIX, create_store_app

#: What kubectl 1.32 sends for /api and /apis.
KUBECTL_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)
GROUP_VERSION = {"groupVersion": "image.openshift.io/v1", "version": "v1"}


@pytest.fixture
def client(store: ImageStore) -> FlaskClient:
    return create_store_app(store).test_client()


def test_version(client: FlaskClient) -> None:
    body = client.get("/version").get_json()
    assert (body["major"], body["minor"], body["gitVersion"]) == (
        "1",
        "32",
        "v1.32.0+sigverify-0.1.0",
    )
    assert set(body) == {
        "major",
        "minor",
        "gitVersion",
        "gitCommit",
        "gitTreeState",
        "buildDate",
        "goVersion",
        "compiler",
        "platform",
    }


def test_plain_api_lists_no_core_versions(client: FlaskClient) -> None:
    response = client.get("/api", headers={"Accept": "application/json"})
    assert response.content_type == "application/json"
    assert response.headers["Vary"] == "Accept"
    assert response.get_json() == {
        "kind": "APIVersions",
        "versions": [],
        "serverAddressByClientCIDRs": [],
    }


def test_plain_apis_and_group(client: FlaskClient) -> None:
    group = {"name": "image.openshift.io", "versions": [GROUP_VERSION]}
    group["preferredVersion"] = GROUP_VERSION
    assert client.get("/apis").get_json() == {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [group],
    }
    assert client.get("/apis/image.openshift.io").get_json() == {
        "kind": "APIGroup",
        "apiVersion": "v1",
        **group,
    }


def test_aggregated_apis_when_asked(client: FlaskClient) -> None:
    response = client.get("/apis", headers={"Accept": KUBECTL_ACCEPT})
    assert response.headers["Content-Type"] == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    body = response.get_json()
    assert (body["kind"], body["apiVersion"]) == ("APIGroupDiscoveryList", "apidiscovery.k8s.io/v2")
    [group] = body["items"]
    assert group["metadata"] == {"name": "image.openshift.io", "creationTimestamp": None}
    [version] = group["versions"]
    assert (version["version"], version["freshness"]) == ("v1", "Current")
    streams = next(r for r in version["resources"] if r["resource"] == "imagestreams")
    assert streams == {
        "resource": "imagestreams",
        "responseKind": {"group": "image.openshift.io", "version": "v1", "kind": "ImageStream"},
        "scope": "Namespaced",
        "singularResource": "imagestream",
        "verbs": ["get", "list", "watch"],
        "shortNames": ["is"],
        "categories": ["all"],
    }
    images = next(r for r in version["resources"] if r["resource"] == "images")
    assert images["scope"] == "Cluster" and "shortNames" not in images
    legacy = client.get("/api", headers={"Accept": KUBECTL_ACCEPT}).get_json()
    assert legacy == {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [],
    }


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        (KUBECTL_ACCEPT, "v2"),
        ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", "v2beta1"),
        # Forms not served: the plain answer.
        ("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList", None),
        (KUBECTL_ACCEPT.replace("application/json", "application/vnd.kubernetes.protobuf"), None),
        ("application/json", None),
        ("application/json, " + KUBECTL_ACCEPT, None),
        ("*/*", None),
        ("", None),
    ],
)
def test_aggregated_version_follows_the_first_acceptable_range(
    accept: str, version: str | None
) -> None:
    assert aggregated_version(accept) == version


def test_an_unsupported_aggregated_version_gets_the_plain_list(client: FlaskClient) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"
    response = client.get("/apis", headers={"Accept": accept})
    assert response.content_type == "application/json"
    assert response.get_json()["kind"] == "APIGroupList"


def test_resource_list_has_kinds_scopes_verbs_and_short_names(client: FlaskClient) -> None:
    body = client.get(API_PREFIX).get_json()
    assert (body["kind"], body["apiVersion"], body["groupVersion"]) == (
        "APIResourceList",
        "v1",
        "image.openshift.io/v1",
    )
    by_name = {r["name"]: r for r in body["resources"]}
    assert by_name["imagestreamimages"] == {
        "name": "imagestreamimages",
        "singularName": "imagestreamimage",
        "namespaced": True,
        "kind": "ImageStreamImage",
        "verbs": ["get"],
        "shortNames": ["isimage"],
    }
    assert by_name["imagestreamtags"]["shortNames"] == ["istag"]
    assert by_name["imagestreams"]["categories"] == ["all"]
    assert [r["name"] for r in body["resources"] if "categories" in r] == ["imagestreams"]
    assert by_name["imagesignatures"]["verbs"] == ["create", "delete"]
    assert not by_name["images"]["namespaced"]
    assert [r["name"] for r in body["resources"]] == [r.name for r in RESOURCES]


def test_resource_named() -> None:
    assert resource_named("imagestreams").short_names == ("is",)
    with pytest.raises(KeyError):
        resource_named("pods")


def test_discovery_is_get_only(client: FlaskClient) -> None:
    assert client.post("/apis").status_code == 405
    assert client.get("/apis/apps").status_code == 404
