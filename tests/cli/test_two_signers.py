"""``sigverify verify`` on an image that meets one of two signedBy requirements (issue 15):
exit 1, a reason other than Trusted, the unmet requirement named, conditions written False."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import SIGNED, sigverify
from tests.support.two_signers import (
    PARTNER_REQUIREMENT,
    RELEASE_REQUIREMENT,
    UNMET,
    both_signers_policy,
)


def test_json_verdict_is_untrusted_with_the_unmet_requirements_reason(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(both_signers_policy())
    out = tmp_path / "written.json"
    result = sigverify(
        "verify", "--policy", str(policy), "-f", str(SIGNED), "-o", "json", "--write", str(out)
    )
    assert result.returncode == 1, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["trusted"], verdict["reason"]) == (False, "UntrustedKey")
    assert f"is not trusted (scope registry.example.com/demo): {UNMET}" in verdict["message"]
    assert [(r["requirement"], r["satisfied"]) for r in verdict["requirements"]] == [
        (RELEASE_REQUIREMENT, True),
        (PARTNER_REQUIREMENT, False),
    ]
    [signature] = verdict["signatures"]
    assert (signature["trusted"], signature["forImage"], signature["reason"]) == (
        False,
        True,
        "UntrustedKey",
    )
    assert signature["acceptedBy"] == RELEASE_REQUIREMENT

    [written] = json.loads(out.read_text())["image"]["signatures"]
    trusted, for_image = written["conditions"]
    assert (trusted["type"], trusted["status"], trusted["reason"]) == (
        "Trusted",
        "False",
        "UntrustedKey",
    )
    assert f"but the image also needs {PARTNER_REQUIREMENT}" in trusted["message"]
    assert (for_image["type"], for_image["status"], for_image["reason"]) == (
        "ForImage",
        "True",
        "ForImage",
    )


@pytest.mark.slow
def test_text_verdict_says_not_trusted(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(both_signers_policy())
    result = sigverify("verify", "--policy", str(policy), "-f", str(SIGNED), "--backend", "native")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("NOT TRUSTED  registry.example.com/demo/app@sha256:")
    assert "UntrustedKey" in result.stdout
    assert PARTNER_REQUIREMENT in result.stdout
