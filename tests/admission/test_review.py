from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from sigverify.admission.review import (
    AdmissionResponse,
    GroupVersionKind,
    parse_review,
    review_response,
)
from sigverify.errors import InputError
from tests.admission.builders import pod_spec, review, workload

POD = workload("Pod", pod_spec(("quay.io/a/web:1",)))


def _body(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_parses_a_real_review() -> None:
    request = parse_review(_body(review(POD, dry_run=True)))
    assert request.uid == "0df28fbd-5f5f-11e8-bc74-36e6bb280816"
    assert request.kind == GroupVersionKind("", "v1", "Pod")
    assert request.resource == "pods"
    assert (request.namespace, request.name, request.operation) == ("team", "web", "CREATE")
    assert request.object == POD
    assert request.old_object is None
    assert request.dry_run is True
    assert request.username == "alice"
    assert request.sub_resource == ""


def test_unknown_fields_are_ignored() -> None:
    document = review(POD)
    document["request"]["futureField"] = {"x": 1}
    document["extra"] = True
    assert parse_review(_body(document)).uid


def _without(path: str) -> dict[str, Any]:
    document = review(POD)
    node = document
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    del node[last]
    return document


def _with(path: str, value: Any) -> dict[str, Any]:
    document = review(POD)
    node = document
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return document


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"{not json", "the body is not JSON"),
        (b"[]", "the body must be a JSON object (an AdmissionReview)"),
        (
            _body(_with("apiVersion", "admission.k8s.io/v1beta1")),
            "apiVersion: Must be equal to admission.k8s.io/v1.",
        ),
        (_body(_with("kind", "Pod")), "kind: Must be equal to AdmissionReview."),
        (_body(_without("request")), "request: Missing data for required field."),
        (_body(_with("request", None)), "request: Field may not be null."),
        (_body(_without("request.uid")), "request.uid: Missing data for required field."),
        (_body(_with("request.uid", "")), "request.uid: Length must be between 1 and 256."),
        (_body(_with("request.uid", 7)), "request.uid: Not a valid string."),
        (
            _body(_with("request.operation", "PATCH")),
            "request.operation: Must be one of: CREATE, UPDATE, DELETE, CONNECT.",
        ),
        (_body(_without("request.kind")), "request.kind: Missing data for required field."),
        (
            _body(_with("request.kind", {"group": "", "version": "v1"})),
            "request.kind.kind: Missing data for required field.",
        ),
        (_body(_with("request.object", [])), "request.object: Not a valid mapping type."),
        (_body(_with("request.dryRun", "true")), "request.dryRun: Not a valid boolean."),
    ],
)
def test_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_review(body)
    assert message in str(caught.value)


def test_oversized_body() -> None:
    with pytest.raises(InputError, match="larger than 8388608 bytes"):
        parse_review(b" " * (8 * 1024 * 1024 + 1))


def test_response_envelope_allowed() -> None:
    out = review_response(AdmissionResponse("u-1", True, audit_annotations={"decision": "allow"}))
    assert out == {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "u-1", "allowed": True, "auditAnnotations": {"decision": "allow"}},
    }


def test_response_envelope_denied_with_patch_and_warnings() -> None:
    patch = [{"op": "replace", "path": "/spec/containers/0/image", "value": "x@sha256:1"}]
    out = review_response(AdmissionResponse("u-2", False, 403, "no", warnings=["w"], patch=patch))
    response = out["response"]
    assert response["status"] == {"code": 403, "message": "no"}
    assert response["warnings"] == ["w"]
    assert response["patchType"] == "JSONPatch"
    assert json.loads(base64.b64decode(response["patch"])) == patch
