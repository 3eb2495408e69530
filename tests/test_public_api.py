"""The library face: ``import sigverify`` and verify, without the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sigverify
from sigverify.objects.documents import load_document

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "policies" / "demo.yaml"
SIGNED = REPO / "examples" / "demo" / "app-signed.json"
UNTRUSTED = REPO / "examples" / "demo" / "tools-untrusted.json"


def test_every_public_name_resolves() -> None:
    for name in sigverify.__all__:
        assert getattr(sigverify, name) is not None, name
    with pytest.raises(AttributeError):
        _ = sigverify.no_such_name  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", ["native", "gnupg"])
def test_a_signed_image_is_trusted_and_an_untrusted_one_says_why(backend: str) -> None:
    policy = sigverify.load_policy(POLICY)
    trusted = sigverify.verify_document(SIGNED.read_bytes(), policy, backend=backend)
    assert trusted.trusted is True
    assert trusted.reason is sigverify.Reason.TRUSTED
    assert [s.reason for s in trusted.signatures] == [sigverify.Reason.TRUSTED]

    denied = sigverify.verify_document(UNTRUSTED.read_bytes(), policy, backend=backend)
    assert denied.trusted is False
    assert denied.reason is not sigverify.Reason.TRUSTED
    assert {s.reason for s in denied.signatures} == {
        sigverify.Reason.UNTRUSTED_KEY,
        sigverify.Reason.DIGEST_MISMATCH,
        sigverify.Reason.IDENTITY_MISMATCH,
    }


def test_every_document_form_gives_the_same_verdict() -> None:
    text = SIGNED.read_text()
    forms = [text, text.encode(), json.loads(text), load_document(json.loads(text))]
    verdicts = [sigverify.verify_document(form, str(POLICY)) for form in forms]
    assert {(v.trusted, v.reason, v.image, v.reference) for v in verdicts} == {
        (True, sigverify.Reason.TRUSTED, verdicts[0].image, verdicts[0].reference)
    }


def test_bad_input_raises_the_error_family() -> None:
    with pytest.raises(sigverify.InputError, match="duplicate key"):
        sigverify.verify_document(b'{"kind": "Image", "kind": "Image"}', POLICY)
    with pytest.raises(sigverify.PolicyError, match="cannot read policy file"):
        sigverify.verify_document(SIGNED.read_bytes(), REPO / "no-such-policy.yaml")
    assert issubclass(sigverify.InputError, sigverify.SigverifyError)
    assert issubclass(sigverify.PolicyError, sigverify.SigverifyError)


def test_the_gate_raises_for_an_untrusted_image() -> None:
    loaded = sigverify.load_policy(POLICY)
    verifier = sigverify.verifier_for(loaded, "native")
    document = load_document(json.loads(UNTRUSTED.read_text()))
    image = document.image if isinstance(document, sigverify.ImageStreamImage) else document
    with pytest.raises(sigverify.UntrustedImage):
        verifier.require_trusted(image)


def test_importing_the_package_stays_cheap() -> None:
    probe = (
        "import sys, sigverify; "
        "print(sorted(m for m in ('sigverify.engine.verifier', 'marshmallow', 'flask', "
        "'kubernetes', 'cryptography') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert out == "[]"
