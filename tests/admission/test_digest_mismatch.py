"""Admission denies an image whose Image is not the one its digest names (issue 9): an API
answer for ``get_image(D)`` that carries another Image (a faithful API server never does;
a compromised or buggy one might) is DigestMismatch, never trusted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from sigverify.admission.controller import AdmissionController
from sigverify.admission.review import parse_review
from sigverify.policyfile.admission import parse_admission_config
from tests.admission.builders import pod_spec, review, workload
from tests.imageapi.demo import APP, Clock, demo_verifier, seeded_store

OTHER = "sha256:" + "b" * 64


class SwappingAPI:
    """An API server double that answers a request for the Image ``OTHER`` with APP's."""

    def __init__(self, image: dict[str, Any]) -> None:
        self.image = image

    def get_image(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.image)

    def get_imagestreamimage(self, namespace: str, name: str) -> dict[str, Any]:
        raise AssertionError("not asked")

    def get_imagestreamtag(self, namespace: str, name: str) -> dict[str, Any]:
        raise AssertionError("not asked")


def _decide(tmp_path: Path, digest: str) -> Any:
    store = seeded_store(tmp_path / "store.db")
    verifier = demo_verifier(Clock())
    controller = AdmissionController(
        parse_admission_config({}), SwappingAPI(store.get_image(APP)), lambda: verifier
    )
    pod = workload("Pod", pod_spec((f"registry.example.com/demo/app@{digest}",)))
    body = json.dumps(review(pod, namespace="shop")).encode()
    return controller.validate(parse_review(body))


def test_the_image_the_digest_names_is_admitted(tmp_path: Path) -> None:
    decision = _decide(tmp_path, APP)
    assert (decision.decision, decision.response.allowed) == ("allow", True)


def test_another_digest_is_denied_digest_mismatch(tmp_path: Path) -> None:
    decision = _decide(tmp_path, OTHER)
    assert (decision.decision, decision.reason, decision.response.allowed) == (
        "deny",
        "DigestMismatch",
        False,
    )
