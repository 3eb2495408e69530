"""Raw Image / ImageStream / ImageSignature JSON objects for the image API tests."""

from __future__ import annotations

import base64
import hashlib
from typing import Any


def digest_of(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def signature(image: str, suffix: str, blob: bytes | None = None, **extra: Any) -> dict[str, Any]:
    """An ImageSignature as the import controller writes it (no conditions yet)."""
    content = blob if blob is not None else f"blob-{image}-{suffix}".encode()
    return {
        "metadata": {"name": f"{image}@{suffix}", "creationTimestamp": "2026-11-20T10:00:00Z"},
        "type": "atomic",
        "content": base64.b64encode(content).decode(),
        **extra,
    }


def image(seed: str, *, signatures: int = 1, **extra: Any) -> dict[str, Any]:
    """An Image named by ``digest_of(seed)``, with ``signatures`` unverified signatures."""
    name = digest_of(seed)
    body: dict[str, Any] = {
        "kind": "Image",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {
            "name": name,
            "annotations": {"image.openshift.io/dockerLayersOrder": "ascending"},
        },
        "dockerImageReference": f"registry.example.com/demo/{seed}@{name}",
        "dockerImageMetadata": {"kind": "DockerImage", "apiVersion": "image.openshift.io/1.0"},
        "dockerImageMetadataVersion": "1.0",
        "dockerImageManifest": '{"schemaVersion":2}',
        "dockerImageConfig": '{"architecture":"amd64"}',
        "dockerImageLayers": [
            {"name": digest_of(seed + "-layer"), "size": 2811478, "mediaType": "x"}
        ],
        "signatures": [signature(name, f"sig{i}") for i in range(signatures)],
        "x-unknown-member": {"kept": [1, 2.5, None, True]},
    }
    body.update(extra)
    return body


def stream(namespace: str, name: str, tags: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    """An ImageStream whose status tags point at the given digests (newest first)."""
    return {
        "kind": "ImageStream",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "lookupPolicy": {"local": False},
            "tags": [{"name": tag, "referencePolicy": {"type": "Source"}} for tag in sorted(tags)],
        },
        "status": {
            "dockerImageRepository": f"image-registry.local:5000/{namespace}/{name}",
            "tags": [
                {
                    "tag": tag,
                    "items": [
                        {
                            "created": "2026-11-20T10:00:00Z",
                            "dockerImageReference": f"registry.example.com/{namespace}/{name}@{d}",
                            "image": d,
                            "generation": 1,
                        }
                        for d in digests
                    ],
                }
                for tag, digests in sorted(tags.items())
            ],
        },
        **extra,
    }


def conditions(status: str, *, when: str = "2026-11-27T07:00:00Z") -> list[dict[str, Any]]:
    """A Trusted + ForImage pair in the order the server's validation needs."""
    return [
        {
            "type": kind,
            "status": status,
            "lastProbeTime": when,
            "lastTransitionTime": when,
            "reason": "Test",
            "message": "set by a test",
        }
        for kind in ("Trusted", "ForImage")
    ]
