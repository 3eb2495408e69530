"""``sigverify verify docker://… --store S --record``: the signatures found in the registry's
lookaside are written onto the store's Image of that digest, with their conditions, and
nothing else of the Image changes (what OpenShift's importer does for registries that serve
signatures)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.builders import image, signature
from tests.sources.conftest import World
from tests.sources.test_cli_registry import sigverify

pytestmark = pytest.mark.slow


def test_registry_signatures_are_recorded_on_the_image(world: World, tmp_path: Path) -> None:
    digest = world.digests["app"]
    store_file = tmp_path / "store.db"
    store = ImageStore(store_file)
    document = image(
        "app", signatures=0, dockerImageReference=f"{world.registry.host}/ns/app@{digest}"
    )
    document["metadata"]["name"] = digest
    document["signatures"] = [signature(digest, "imported")]  # an unverifiable blob
    store.put_objects([document])
    args = [
        "verify",
        world.ref("app"),
        "--policy",
        str(world.policy),
        "--registries-d",
        str(world.registries_d_file),
        "--authfile",
        str(world.authfile),
        "--cert-dir",
        str(world.registry.certs),
        "--store",
        str(store_file),
        "--record",
        "-o",
        "json",
    ]
    result = sigverify(*args)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["trusted"] is True
    assert body["recorded"]["written"] is True
    assert [(s["source"], s["reason"]) for s in body["signatures"]] == [
        ("image", "InvalidSignature"),
        ("lookaside", "Trusted"),
    ]
    stored = ImageStore(store_file).get_image(digest)
    blob = (world.signature_dir("app") / "signature-1").read_bytes()
    imported, found = stored["signatures"]
    assert imported["metadata"]["name"] == f"{digest}@imported"
    assert found["type"] == "atomic"
    assert base64.b64decode(found["content"]) == blob
    assert found["metadata"]["name"] == body["signatures"][1]["name"]
    assert [(c["type"], c["status"]) for c in found["conditions"]] == [
        ("Trusted", "True"),
        ("ForImage", "True"),
    ]
    assert stored["x-unknown-member"] == document["x-unknown-member"]
    # Again: the signature is on the Image now (source image), nothing new to write.
    again = json.loads(sigverify(*args).stdout)
    assert [s["source"] for s in again["signatures"]] == ["image", "image"]
    assert again["recorded"]["written"] is False


def test_recording_needs_the_image_in_the_cluster(world: World, tmp_path: Path) -> None:
    store_file = tmp_path / "empty.db"
    ImageStore(store_file)
    result = sigverify(
        "verify",
        world.ref("app"),
        "--policy",
        str(world.policy),
        "--registries-d",
        str(world.registries_d_file),
        "--authfile",
        str(world.authfile),
        "--cert-dir",
        str(world.registry.certs),
        "--store",
        str(store_file),
        "--record",
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"sigverify: error: the cluster has no Image {world.digests['app']} to record the "
        "signatures on (import the image first)\n"
    )


def test_a_store_without_record_is_a_usage_error(world: World, tmp_path: Path) -> None:
    result = sigverify("verify", world.ref("app"), "--policy", str(world.policy), "--store", "x")
    assert result.returncode == 2
    assert "--record needs --kubeconfig or --store" in result.stderr
