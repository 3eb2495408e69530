"""The real kubectl against a running ``sigverify serve`` (issue 14): discovery, reads, output
formats, selectors, explain. One server (HTTPS, the kubeconfig it wrote) for the module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.demo import APP, TOOLS, seeded_store
from tests.support.kube import KubeServer, kube_server

pytestmark = pytest.mark.slow


def _labelled_store(path: Path) -> ImageStore:
    """The demo data, with labels on both Images and the ``app`` stream."""
    store = seeded_store(path)
    for name, labels in ((APP, {"team": "payments", "tier": "prod"}), (TOOLS, {"team": "infra"})):
        image = store.get_image(name)
        image["metadata"]["labels"] = labels
        store.put_object(image)
    stream = store.get_imagestream("demo", "app")
    stream["metadata"]["labels"] = {"team": "payments"}
    store.put_object(stream)
    return store


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeServer]:
    folder = tmp_path_factory.mktemp("kube")
    store = _labelled_store(folder / "store.db")
    with kube_server(folder, store=store.path) as server:
        yield server


def _ok(kube: KubeServer, *args: str) -> str:
    result = kube.kubectl(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_kubeconfig_is_https_with_the_ca_and_the_admin_token(kube: KubeServer) -> None:
    text = kube.kubeconfig.read_text()
    assert kube.kubeconfig.stat().st_mode & 0o777 == 0o600
    assert f'server: "{kube.url}"' in text and kube.url.startswith("https://127.0.0.1:")
    assert "certificate-authority-data: " in text
    assert f'token: "{kube.served.token}"' in text
    config = json.loads(_ok(kube, "config", "view", "--raw", "-o", "json"))
    assert config["current-context"] == "sigverify"
    assert config["users"][0]["user"]["token"] == kube.served.token


def test_api_resources_lists_the_image_group_with_short_names(kube: KubeServer) -> None:
    lines = _ok(kube, "api-resources", "--api-group", "image.openshift.io", "-o", "wide")
    rows = [line.split() for line in lines.splitlines()]
    assert rows == [
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES"],
        ["images", "image.openshift.io/v1", "false", "Image", "get,list,patch,update,watch"],
        ["imagesignatures", "image.openshift.io/v1", "false", "ImageSignature", "create,delete"],
        [
            "imagestreamimages",
            "isimage",
            "image.openshift.io/v1",
            "true",
            "ImageStreamImage",
            "get",
        ],
        ["imagestreams", "is", "image.openshift.io/v1", "true", "ImageStream", "get,list,watch"],
        ["imagestreamtags", "istag", "image.openshift.io/v1", "true", "ImageStreamTag", "get"],
    ]


def test_version_and_api_versions(kube: KubeServer) -> None:
    version = json.loads(_ok(kube, "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == "v1.32.0+sigverify-0.1.0"
    assert _ok(kube, "api-versions") == "image.openshift.io/v1\n"


def test_get_images_names_both_images(kube: KubeServer) -> None:
    names = _ok(kube, "get", "images", "-o", "name").split()
    assert names == [f"image.image.openshift.io/{TOOLS}", f"image.image.openshift.io/{APP}"]
