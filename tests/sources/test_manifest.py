"""The manifest a registry serves: media type, digest from the bytes, refusals."""

from __future__ import annotations

import hashlib
import json

import pytest

from sigverify.sources.errors import SourceError
from sigverify.sources.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    read_manifest,
)

IMAGE = json.dumps(
    {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {}, "layers": []}
).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_digest_is_computed_from_the_bytes() -> None:
    manifest = read_manifest("r/x:1", IMAGE, DOCKER_MANIFEST, None)
    assert (manifest.digest, manifest.media_type, manifest.is_list) == (
        sha256(IMAGE),
        DOCKER_MANIFEST,
        False,
    )


def test_sha512_when_the_pull_spec_names_it() -> None:
    digest = "sha512:" + hashlib.sha512(IMAGE).hexdigest()
    assert read_manifest("r/x", IMAGE, DOCKER_MANIFEST, digest).digest == digest


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_MANIFEST_LIST])
def test_lists(media_type: str) -> None:
    body = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": []}).encode()
    assert read_manifest("r/x:1", body, media_type, None).is_list is True


def test_the_type_is_read_from_the_body_when_served_as_plain_json() -> None:
    oci = json.dumps({"schemaVersion": 2, "config": {}, "layers": []}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert read_manifest("r/x:1", oci, "application/json", None).media_type == OCI_MANIFEST
    assert read_manifest("r/x:1", index, None, None).media_type == OCI_INDEX


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (IMAGE, DOCKER_MANIFEST, "the registry served a manifest whose bytes hash to"),
        (
            b'{"schemaVersion": 1, "fsLayers": []}',
            "application/json",
            "Docker schema 1 manifests are refused",
        ),
        (IMAGE, OCI_MANIFEST, "the manifest says it is"),
        (b'{"schemaVersion": 3}', OCI_MANIFEST, "unsupported manifest schemaVersion 3"),
        (b'{"schemaVersion": 2}', "text/html", "unsupported manifest type 'text/html'"),
        (b"<html>", OCI_MANIFEST, "the manifest is not valid JSON"),
        (b'{"a": 1, "a": 2}', OCI_MANIFEST, 'duplicate key "a"'),
        (b"\xff", OCI_MANIFEST, "the manifest is not UTF-8 text"),
        (b"[]", OCI_MANIFEST, "the manifest is not a JSON object"),
    ],
)
def test_refusals(body: bytes, content_type: str, message: str) -> None:
    expected = sha256(b"other") if message.startswith("the registry served") else None
    with pytest.raises(SourceError) as caught:
        read_manifest("r/x", body, content_type, expected)
    assert str(caught.value).startswith("r/x: ")
    assert message in str(caught.value)
