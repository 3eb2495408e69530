"""A reference or expected identity with a digest must name the Image's digest (issue 9):
otherwise the image is not trusted, reason DigestMismatch — in the engine, the CLI and the
HTTP API (admission and audit call the same ``verify_image``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from sigverify.core.verdict import Reason
from sigverify.objects.documents import image_of, read_document_file
from sigverify.objects.types import Image
from tests.cli.test_cli import DEMO_POLICY, SIGNED, sigverify
from tests.imageapi.demo import APP, Clock, demo_verifier

SHA512 = "sha512:" + "a" * 128
OTHER_SHA256 = "sha256:" + "b" * 64
NAME = "registry.example.com/demo/app"


def _app_image() -> Image:
    return image_of(read_document_file(str(SIGNED)))


@pytest.mark.parametrize("digest", [SHA512, OTHER_SHA256])
def test_an_expected_identity_naming_another_digest_is_digest_mismatch(digest: str) -> None:
    verifier = demo_verifier(Clock())
    image = _app_image()
    assert verifier.verify_image(image, expected_identity=f"{NAME}@{APP}").trusted is True
    verdict = verifier.verify_image(image, expected_identity=f"{NAME}@{digest}")
    why = f"{NAME}@{digest} names digest {digest}, not this image {APP}"
    assert (verdict.trusted, verdict.reason, verdict.message) == (
        False,
        Reason.DIGEST_MISMATCH,
        f"{NAME}@{digest} is not trusted (scope registry.example.com/demo): {why}",
    )
    [signature] = verdict.signatures
    assert (signature.trusted, signature.for_image, signature.reason) == (
        False,
        False,
        Reason.DIGEST_MISMATCH,
    )
    assert signature.message.endswith(f"; but {why}")


def test_a_docker_image_reference_naming_another_digest_is_digest_mismatch() -> None:
    image = _app_image()
    image = replace(image, docker_image_reference=f"{NAME}@{SHA512}")
    verdict = demo_verifier(Clock()).verify_image(image)
    assert (verdict.trusted, verdict.reason) == (False, Reason.DIGEST_MISMATCH)


def test_a_tag_reference_is_not_a_digest_check() -> None:
    verdict = demo_verifier(Clock()).verify_image(_app_image(), expected_identity=f"{NAME}:1.0")
    assert (verdict.trusted, verdict.reason) == (True, Reason.TRUSTED)


def test_the_cli_exits_1_for_another_digest() -> None:
    result = sigverify(
        "verify",
        "--policy",
        str(DEMO_POLICY),
        "-f",
        str(SIGNED),
        "-o",
        "json",
        "--expected-identity",
        f"{NAME}@{SHA512}",
    )
    assert result.returncode == 1, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["trusted"], verdict["reason"]) == (False, "DigestMismatch")


def test_the_audit_reports_digest_mismatch(tmp_path: Path) -> None:
    from sigverify.cli.audit import audit_image_api
    from sigverify.imageapi.store.image_store import ImageStore
    from tests.imageapi.demo import demo_verifier, seeded_store

    store: ImageStore = seeded_store(tmp_path / "store.db")
    document = store.get_image(APP)
    document["dockerImageReference"] = f"{NAME}@{SHA512}"
    document["metadata"].pop("resourceVersion", None)
    store.put_object(document)
    report = audit_image_api(store, demo_verifier(Clock()), policy="demo.yaml")
    assert (Reason.DIGEST_MISMATCH, 1) in report.reasons
    [row] = [r for r in report.images if r.image == APP]
    assert (row.trusted, row.reason) == (False, Reason.DIGEST_MISMATCH)
