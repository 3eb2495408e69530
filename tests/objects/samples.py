"""Hand-written documents shared by the API tests."""

from __future__ import annotations

from typing import Any

DIGEST = "sha256:" + "ab" * 32


def full_image() -> dict[str, Any]:
    """An Image with every member sigverify knows and an unknown one at every level."""
    return {
        "kind": "Image",
        "apiVersion": "image.openshift.io/v1",
        "x-top": {"nested": [1, 2.5, None, True]},
        "metadata": {
            "name": DIGEST,
            "resourceVersion": "7",
            "uid": "u-1",
            "creationTimestamp": "2016-03-17T18:12:57Z",
            "labels": {"a": "b"},
            "annotations": {"image.openshift.io/dockerLayersOrder": "ascending"},
            "managedFields": [{"manager": "m", "fieldsV1": {"f:metadata": {}}}],
            "x-meta": 1,
        },
        "dockerImageReference": f"registry.example.com/a/b@{DIGEST}",
        "dockerImageMetadata": {"kind": "DockerImage", "Size": 10, "x": [None]},
        "dockerImageMetadataVersion": "1.0",
        "dockerImageManifest": '{"schemaVersion": 2}',
        "dockerImageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "dockerImageConfig": "{}",
        "dockerImageLayers": [
            {"name": "sha256:" + "0" * 64, "size": 0, "mediaType": "m", "x-layer": "kept"},
        ],
        "dockerImageSignatures": ["AAEC"],
        "dockerImageManifests": [
            {
                "digest": "sha256:" + "1" * 64,
                "mediaType": "m",
                "manifestSize": 2,
                "architecture": "amd64",
                "os": "linux",
                "variant": "v8",
                "x-manifest": {},
            }
        ],
        "signatures": [
            {
                "metadata": {"name": f"{DIGEST}@one", "x-sig-meta": "kept"},
                "type": "atomic",
                "content": "aGVsbG8=",
                "x-sig": ["kept"],
                "conditions": [
                    {
                        "type": "Trusted",
                        "status": "True",
                        "lastProbeTime": "2016-03-17T18:12:57+01:00",
                        "lastTransitionTime": "2016-03-17T18:12:57.123456789Z",
                        "reason": "r",
                        "message": "m",
                        "x-cond": 3,
                    },
                    {"type": "ForImage", "status": "True", "lastProbeTime": None},
                ],
                "imageIdentity": "registry.example.com/a/b:latest",
                "signedClaims": {"docker-reference": "registry.example.com/a/b:latest"},
                "created": "2016-03-17T18:35:13Z",
                "issuedBy": {"organization": "o", "commonName": "c", "x-by": 1},
                "issuedTo": {"organization": "o", "commonName": "c", "publicKeyID": "0x1", "x": 2},
            }
        ],
    }
