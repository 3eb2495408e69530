"""openshift-apiserver ``validateImageSignature`` as transcribed for the embedded store.

The store applies it on every write (tests/imageapi/test_store.py, through updates); these
call it directly, on the cases a write cannot reach at once: several causes together, a
path-segment name, the crashing condition order.
"""

from __future__ import annotations

from typing import Any

import pytest

from sigverify.imageapi.errors import Cause
from sigverify.imageapi.validation import ConditionScanCrash, validate_signature

DIGEST = "sha256:" + "ab" * 32
UNSET = "must be unset for unknown signature state"
PRIOR = {
    "imageIdentity": "old/identity:1",
    "signedClaims": {"docker-reference": "old/identity:1"},
    "issuedBy": {"commonName": "8BB46CC8", "x-by": True},
    "issuedTo": {"publicKeyID": "0x8BB46CC8"},
}


def sig(**members: Any) -> dict[str, Any]:
    return {"metadata": {"name": f"{DIGEST}@a"}, "type": "atomic", "content": "aGVsbG8=", **members}


def messages(signature: dict[str, Any]) -> list[str]:
    return [f"{c.field}: {c.message}" for c in validate_signature(signature, "sig")]


def test_accepts_a_bare_signature() -> None:
    assert validate_signature(sig(), "sig") == []


def test_reports_every_claim_without_trusted() -> None:
    assert messages(sig(**PRIOR)) == [
        f"sig.imageIdentity: Invalid value: 'old/identity:1': {UNSET}",
        f"sig.signedClaims: Invalid value: {{'docker-reference': 'old/identity:1'}}: {UNSET}",
        f"sig.issuedBy: Invalid value: {{'commonName': '8BB46CC8', 'x-by': True}}: {UNSET}",
        f"sig.issuedTo: Invalid value: {{'publicKeyID': '0x8BB46CC8'}}: {UNSET}",
    ]


def test_reports_claims_with_unknown_trusted() -> None:
    conditions = [{"type": "Trusted", "status": "Unknown"}, {"type": "ForImage", "status": "True"}]
    assert messages(sig(conditions=conditions, imageIdentity="x")) == [
        f"sig.imageIdentity: Invalid value: 'x': {UNSET}"
    ]


def test_reports_trusted_without_forimage_and_vice_versa() -> None:
    assert messages(sig(conditions=[{"type": "Trusted", "status": "True"}])) == [
        "sig.conditions: Invalid value: '…': missing \"ForImage\" condition type"
    ]
    assert messages(sig(conditions=[{"type": "ForImage", "status": "True"}])) == [
        "sig.conditions: Invalid value: '…': missing \"Trusted\" condition type"
    ]


def test_the_crashing_condition_order_raises() -> None:
    conditions = [
        {"type": "Trusted", "status": "True"},
        {"type": "Expired", "status": "False"},
        {"type": "ForImage", "status": "True"},
    ]
    with pytest.raises(ConditionScanCrash, match="'Expired' before any ForImage"):
        validate_signature(sig(conditions=conditions), "sig")


def test_reports_labels_annotations_names_type_and_content() -> None:
    metadata = {"name": "a/b@c", "labels": {"a": "b"}, "annotations": {"c": "d"}}
    assert validate_signature(sig(metadata=metadata, type="", content=""), "") == [
        Cause(
            "FieldValueInvalid",
            "Invalid value: 'a/b@c': may not contain '/' or '%'",
            ".metadata.name",
        ),
        Cause(
            "FieldValueForbidden", "Forbidden: signature labels cannot be set", ".metadata.labels"
        ),
        Cause(
            "FieldValueForbidden",
            "Forbidden: signature annotations cannot be set",
            ".metadata.annotations",
        ),
        Cause("FieldValueRequired", "Required value", ".type"),
        Cause("FieldValueRequired", "Required value", ".content"),
    ]
    assert messages(sig(metadata={"name": "nope"})) == [
        "sig.metadata.name: Invalid value: 'nope': name must be of format "
        "<imageName>@<signatureName>"
    ]
    assert messages(sig(metadata={})) == [
        "sig.metadata.name: Required value",
        "sig.metadata.name: Invalid value: '': name must be of format <imageName>@<signatureName>",
    ]
