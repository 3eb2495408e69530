"""Image resolution against the real embedded store (the same code that serves OpenShift's REST)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sigverify.admission.resolve import ResolutionKind, Resolver
from sigverify.imageapi.store.image_store import ImageStore
from tests.admission.builders import INTERNAL
from tests.imageapi.builders import digest_of, image, stream

APP = digest_of("app")
OLD = digest_of("app-old")
EXTERNAL = digest_of("external")
LOCAL = digest_of("local")


class Counting:
    """The store, counting the API calls admission makes."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.calls: list[str] = []

    def get_imagestreamimage(self, namespace: str, name: str) -> dict[str, Any]:
        self.calls.append(f"isi {namespace}/{name}")
        return self.store.get_imagestreamimage(namespace, name)

    def get_image(self, name: str) -> dict[str, Any]:
        self.calls.append(f"image {name}")
        return self.store.get_image(name)

    def get_imagestreamtag(self, namespace: str, name: str) -> dict[str, Any]:
        self.calls.append(f"istag {namespace}/{name}")
        return self.store.get_imagestreamtag(namespace, name)


@pytest.fixture
def api(tmp_path: Path) -> Counting:
    store = ImageStore(tmp_path / "store.db", clock=lambda: "2026-11-27T07:00:00Z")
    for seed in ("app", "app-old", "external", "local"):
        store.put_object(image(seed))
    store.put_object(stream("team", "app", {"v1": [APP, OLD]}))
    local = stream("team", "tools", {"latest": [LOCAL]})
    local["spec"]["lookupPolicy"] = {"local": True}
    local["spec"]["tags"][0]["referencePolicy"] = {"type": "Local"}
    local["status"]["dockerImageRepository"] = f"{INTERNAL}/team/tools"
    store.put_object(local)
    plain = stream("team", "plain", {"latest": [APP]})
    store.put_object(plain)
    return Counting(store)


def _resolver(api: Counting) -> Resolver:
    return Resolver(api, (INTERNAL,))


def test_internal_digest_goes_through_the_image_stream(api: Counting) -> None:
    result = _resolver(api).resolve(f"{INTERNAL}/team/app@{OLD}", "team")
    assert result.kind is ResolutionKind.IMAGE
    assert result.image is not None and result.image["metadata"]["name"] == OLD
    assert result.image["dockerImageReference"] == f"registry.example.com/demo/app-old@{OLD}"
    assert result.expected_identity is None  # the Image's own (imported-from) reference
    assert (result.pinned, result.digest) == (None, OLD)
    assert result.via == f"imagestreamimage team/app@{OLD}"
    assert api.calls == [f"isi team/app@{OLD}"]


def test_internal_digest_not_in_the_stream(api: Counting) -> None:
    result = _resolver(api).resolve(f"{INTERNAL}/team/app@{EXTERNAL}", "team")
    assert result.kind is ResolutionKind.NOT_FOUND
    assert result.message == f"image stream team/app holds no image {EXTERNAL}"
    assert result.digest == EXTERNAL
    result = _resolver(api).resolve(f"{INTERNAL}/team/nostream@{APP}", "team")
    assert result.message == f"image stream team/nostream holds no image {APP}"


def test_external_digest_is_the_image_by_digest(api: Counting) -> None:
    result = _resolver(api).resolve(f"quay.io/acme/web:1.0@{EXTERNAL}", "team")
    assert result.kind is ResolutionKind.IMAGE
    assert result.expected_identity == f"quay.io/acme/web@{EXTERNAL}"
    assert result.via == f"image {EXTERNAL}"
    assert api.calls == [f"image {EXTERNAL}"]
    unknown = digest_of("nobody")
    result = _resolver(api).resolve(f"quay.io/acme/web@{unknown}", "team")
    assert result.kind is ResolutionKind.NOT_FOUND
    assert result.message == (
        f"the cluster has no Image {unknown}, so it has no signatures to check"
    )


def test_internal_tag_resolves_and_pins(api: Counting) -> None:
    result = _resolver(api).resolve(f"{INTERNAL}/team/app:v1", "team")
    assert result.kind is ResolutionKind.IMAGE
    assert result.pinned == f"{INTERNAL}/team/app@{APP}"
    assert result.digest == APP
    assert result.image is not None
    assert result.image["dockerImageReference"] == f"registry.example.com/team/app@{APP}"
    assert api.calls == ["istag team/app:v1"]
    result = _resolver(api).resolve(f"{INTERNAL}/team/app", "team")  # implicit latest
    assert result.kind is ResolutionKind.UNPINNED
    assert result.message == "image stream tag team/app:latest does not exist"


def test_local_reference_policy_is_judged_as_the_stored_image(api: Counting) -> None:
    result = _resolver(api).resolve(f"{INTERNAL}/team/tools:latest", "team")
    assert result.kind is ResolutionKind.IMAGE
    assert result.pinned == f"{INTERNAL}/team/tools@{LOCAL}"
    assert result.image is not None
    # not the rewritten internal pull spec: the reference the image was imported as
    assert result.image["dockerImageReference"] == f"registry.example.com/demo/local@{LOCAL}"
    assert api.calls == ["istag team/tools:latest", f"isi team/tools@{LOCAL}"]


def test_short_names_use_local_lookup_only_when_enabled(api: Counting) -> None:
    result = _resolver(api).resolve("tools", "team")
    assert result.kind is ResolutionKind.IMAGE
    assert result.pinned == f"{INTERNAL}/team/tools@{LOCAL}"
    result = _resolver(api).resolve("plain:latest", "team")  # lookupPolicy.local is false
    assert result.kind is ResolutionKind.UNPINNED
    result = _resolver(api).resolve("busybox:1.36", "team")
    assert result.kind is ResolutionKind.UNPINNED
    assert result.message == "it names a tag, not a digest, and no image stream resolves it"


def test_external_tags_are_unpinned_without_asking(api: Counting) -> None:
    result = _resolver(api).resolve("quay.io/acme/web:1.0", "team")
    assert result.kind is ResolutionKind.UNPINNED
    assert api.calls == []


def test_invalid_reference(api: Counting) -> None:
    result = _resolver(api).resolve("Quay.io/UPPER:tag", "team")
    assert result.kind is ResolutionKind.INVALID
    assert result.message == "invalid reference format: repository name must be lowercase"
