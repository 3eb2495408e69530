"""A report document with every part the HTML page renders, in the agreed JSON contract
(issue 13: keys, unsigned, signatureDetails, comparison, workloads), with hostile names:
a user ID that is a ``<script>`` element and a tag that closes an attribute and opens an
``<img onerror>``. The HTML tests and the browser test render it."""

from __future__ import annotations

import copy
from typing import Any

SCRIPT_USER_ID = "<script>document.title='pwned'</script> <evil@example.com>"
IMG_TAG = 'evil/app:"><img src=x onerror="document.title=\'pwned\'">'
ANGLE_MESSAGE = "signature claims </td></tr></table><b>bold</b> & more"

RELEASE_FPR = "66FB00D0E92B2A4511E7034843C6880E17BA57E9"
TEAM_FPR = "1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E"
OLD_FPR = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"


def _digest(n: int) -> str:
    return "sha256:" + f"{n:02x}" * 32


def _detail(
    n: int, signer: str | None, reason: str, age: int | None, source: str
) -> dict[str, Any]:
    return {
        "name": f"{_digest(n)}@sig{n}",
        "signer": signer,
        "identity": f"registry.example.com/team/app{n}:1",
        "created": None if age is None else "2026-06-01T10:00:00Z",
        "ageDays": age,
        "source": source,
        "reason": reason,
    }


def _image(
    n: int,
    tags: list[str],
    trusted: bool,
    reason: str,
    details: list[dict[str, Any]],
    message: str = "",
) -> dict[str, Any]:
    signers = sorted({"0x" + d["signer"][-16:] for d in details if d["signer"]})
    return {
        "image": _digest(n),
        "reference": f"registry.example.com/team/app{n}@{_digest(n)}",
        "scope": "registry.example.com/team",
        "trusted": trusted,
        "reason": reason,
        "message": message or ("trusted" if trusted else f"denied: {reason}"),
        "signatures": len(details),
        "signers": signers,
        "tags": tags,
        "signatureDetails": details,
    }


def _images() -> list[dict[str, Any]]:
    images = [
        _image(
            1,
            ["prod/app1:1", "team/app1:latest"],
            True,
            "Trusted",
            [_detail(1, RELEASE_FPR, "Trusted", 3, "image")],
        ),
        _image(
            2,
            ["team/app2:1"],
            False,
            "IdentityMismatch",
            [
                _detail(2, TEAM_FPR, "IdentityMismatch", 40, "lookaside"),
                _detail(3, None, "UnknownKey", None, "registry")
                | {"claimedKeyID": "0x1234567890ABCDEF", "message": "no public key"},
            ],
            ANGLE_MESSAGE,
        ),
        _image(4, ["team/batch:1"], False, "NotSigned", [], "no signature"),
        _image(
            5, [IMG_TAG], False, "UntrustedKey", [_detail(5, OLD_FPR, "UntrustedKey", 800, "image")]
        ),
        _image(6, [], True, "Accepted", [], "insecureAcceptAnything"),
    ]
    for n in range(7, 19):  # more trusted images in two namespaces, for the charts and sorting
        namespace = "prod" if n % 2 else "staging"
        images.append(
            _image(
                n,
                [f"{namespace}/svc{n}:v{n}"],
                True,
                "Trusted",
                [_detail(n, RELEASE_FPR, "Trusted", n * 9, "image")],
            )
        )
    return images


def html_document() -> dict[str, Any]:
    """A fresh copy (tests may change it)."""
    images = _images()
    denied = [image for image in images if not image["trusted"]]
    return copy.deepcopy(
        {
            "schemaVersion": "sigverify.audit/v2",
            "policy": "policies/prod.yaml",
            "namespace": None,
            "generatedAt": "2026-12-01T08:00:00Z",
            "expiryWarningDays": 90,
            "totals": {
                "images": len(images),
                "trusted": len(images) - len(denied),
                "denied": len(denied),
                "unsigned": 2,
                "unreferenced": 1,
                "tags": sum(len(image["tags"]) for image in images),
                "failed": 1,
            },
            "reasons": {"Trusted": 13, "IdentityMismatch": 1, "NotSigned": 1, "UntrustedKey": 1},
            "signatureReasons": {"Trusted": 13, "IdentityMismatch": 1, "UnknownKey": 1},
            "scopes": [
                {
                    "scope": "registry.example.com/team",
                    "requirements": [f"signedBy 0x{RELEASE_FPR[-16:]} (matchRepoDigestOrExact)"],
                    "images": len(images),
                    "trusted": len(images) - len(denied),
                    "denied": len(denied),
                }
            ],
            "signers": [
                {
                    "publicKeyID": "0x" + RELEASE_FPR[-16:],
                    "userID": "release <security@example.com>",
                    "fingerprint": RELEASE_FPR,
                    "images": 13,
                    "scopes": [
                        {"scope": "registry.example.com/team", "images": 13, "trusted": True}
                    ],
                }
            ],
            "unknownKeys": {
                "signatures": 1,
                "images": 1,
                "keyIDs": {"0x1234567890ABCDEF": 1},
                "note": "key IDs as the signatures claim them: unverified",
            },
            "keys": [
                {
                    "fingerprint": RELEASE_FPR,
                    "publicKeyID": "0x" + RELEASE_FPR[-16:],
                    "userIDs": ["release <security@example.com>"],
                    "algorithm": "RSA",
                    "bits": 4096,
                    "created": "2025-01-01T00:00:00Z",
                    "expires": "2028-01-01T00:00:00Z",
                    "daysLeft": 395,
                    "expiryWarning": False,
                    "revoked": False,
                    "trusted": True,
                    "scopes": ["registry.example.com/team"],
                    "validImages": 13,
                    "subkeys": [
                        {
                            "fingerprint": "5" * 40,
                            "publicKeyID": "0x" + "5" * 16,
                            "algorithm": "RSA",
                            "bits": 3072,
                            "created": "2025-01-01T00:00:00Z",
                            "expires": "2027-01-31T00:00:00Z",
                            "daysLeft": 61,
                            "expired": False,
                            "revoked": False,
                            "canSign": True,
                        },
                        {
                            "fingerprint": "6" * 40,
                            "publicKeyID": "0x" + "6" * 16,
                            "algorithm": "ECDH",
                            "bits": 256,
                            "created": "2025-01-01T00:00:00Z",
                            "expires": None,
                            "daysLeft": None,
                            "expired": False,
                            "revoked": True,
                            "canSign": False,
                        },
                    ],
                },
                {
                    "fingerprint": TEAM_FPR,
                    "publicKeyID": "0x" + TEAM_FPR[-16:],
                    "userIDs": [SCRIPT_USER_ID],
                    "algorithm": "EdDSA",
                    "bits": 256,
                    "created": "2026-01-01T00:00:00Z",
                    "expires": "2027-01-31T00:00:00Z",
                    "daysLeft": 30,
                    "expiryWarning": True,
                    "revoked": False,
                    "trusted": True,
                    "scopes": ["registry.example.com/team"],
                    "validImages": 0,
                },
                {
                    "fingerprint": OLD_FPR,
                    "publicKeyID": "0x" + OLD_FPR[-16:],
                    "userIDs": ["old <old@example.com>"],
                    "algorithm": "DSA",
                    "bits": 2048,
                    "created": "2019-01-01T00:00:00Z",
                    "expires": "2026-11-01T00:00:00Z",
                    "daysLeft": -31,
                    "expiryWarning": True,
                    "revoked": False,
                    "trusted": False,
                    "scopes": [],
                    "validImages": 0,
                },
                {
                    "fingerprint": "AB" * 20,
                    "publicKeyID": "0x" + "AB" * 8,
                    "userIDs": ["forever <forever@example.com>"],
                    "algorithm": "ECDSA",
                    "bits": 256,
                    "created": "2024-05-01T00:00:00Z",
                    "expires": None,
                    "daysLeft": None,
                    "expiryWarning": False,
                    "revoked": True,
                    "trusted": False,
                    "scopes": [],
                    "validImages": 0,
                },
            ],
            "unsigned": [
                {"image": _digest(4), "tags": ["team/batch:1"], "namespaces": ["team"]},
                {"image": _digest(6), "tags": [], "namespaces": []},
            ],
            "comparison": {
                "policy": "policies/prod.yaml",
                "comparePolicy": "policies/strict.yaml",
                "images": 17,
                "unchanged": 16,
                "newlyDenied": [
                    {
                        "image": _digest(7),
                        "tags": ["prod/svc7:v7"],
                        "current": {"trusted": True, "reason": "Trusted", "message": "trusted"},
                        "new": {"trusted": False, "reason": "UntrustedKey", "message": "no key"},
                    }
                ],
                "newlyAdmitted": [],
            },
            "workloads": {
                "namespaces": [
                    {
                        "namespace": "prod",
                        "mode": "warn",
                        "exempt": False,
                        "workloads": 4,
                        "containers": 5,
                        "wouldDeny": 0,
                        "readyForEnforce": True,
                    },
                    {
                        "namespace": "team",
                        "mode": "enforce",
                        "exempt": True,
                        "workloads": 2,
                        "containers": 2,
                        "wouldDeny": 1,
                        "readyForEnforce": False,
                    },
                ],
                "denied": [
                    {
                        "namespace": "team",
                        "kind": "Deployment",
                        "name": "batch",
                        "container": "main",
                        "image": f"registry.example.com/team/batch@{_digest(4)}",
                        "reason": "NotSigned",
                        "message": "no signature",
                    }
                ],
            },
            "denied": denied,
            "failures": [
                {"subject": "team/broken", "message": "status.tags is not a list", "tags": []}
            ],
            "images": images,
        }
    )
