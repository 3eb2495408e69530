"""``sigverify verify`` and ``sigverify demo`` as a user runs them: real process, real gpg."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEMO_POLICY = ROOT / "policies" / "demo.yaml"
SIGNED = ROOT / "examples" / "demo" / "app-signed.json"
UNTRUSTED = ROOT / "examples" / "demo" / "tools-untrusted.json"
RELEASE_FPR = "66FB00D0E92B2A4511E7034843C6880E17BA57E9"


def sigverify(
    *args: str, stdin: bytes | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SIGVERIFY_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "sigverify", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sigverify: error: ") or lines[0].startswith("Error: "), lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


# Each test is a real process (about 0.7 s): the ones not marked slow are the quick
# (-m "not slow") run's end-to-end check of the CLI.
@pytest.mark.parametrize("backend", ["gnupg", "native"])
def test_trusted_image_exits_0(backend: str) -> None:
    result = sigverify(
        "verify", "--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--backend", backend
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("TRUSTED  registry.example.com/demo/app@sha256:")
    assert "Trusted" in result.stdout


def test_untrusted_image_exits_1_with_reasons() -> None:
    result = sigverify("verify", "--policy", str(DEMO_POLICY), "-f", str(UNTRUSTED))
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("NOT TRUSTED  registry.example.com/demo/tools@sha256:")
    for reason in ("UntrustedKey", "DigestMismatch", "IdentityMismatch"):
        assert reason in result.stdout


@pytest.mark.slow
def test_json_output_shape() -> None:
    result = sigverify(
        "verify", "--policy", str(DEMO_POLICY), "-f", str(UNTRUSTED), "--output", "json"
    )
    assert result.returncode == 1
    verdict = json.loads(result.stdout)
    source = json.loads(UNTRUSTED.read_text())
    assert verdict["trusted"] is False
    assert verdict["image"] == source["image"]["metadata"]["name"]
    assert verdict["reference"] == source["image"]["dockerImageReference"]
    assert verdict["scope"] == "registry.example.com/demo"
    assert [s["name"] for s in verdict["signatures"]] == [
        s["metadata"]["name"] for s in source["image"]["signatures"]
    ]
    assert [(s["trusted"], s["forImage"], s["reason"]) for s in verdict["signatures"]] == [
        (False, True, "UntrustedKey"),
        (False, False, "DigestMismatch"),
        (False, False, "IdentityMismatch"),
    ]
    assert verdict["signatures"][1]["signer"]["fingerprint"] == RELEASE_FPR
    assert verdict["signatures"][1]["signer"]["keyID"] == "0x" + RELEASE_FPR[-16:]


@pytest.mark.slow
def test_stdin_and_yaml_input() -> None:
    as_yaml = yaml.safe_dump(json.loads(SIGNED.read_text())).encode()
    result = sigverify(
        "verify", "--policy", str(DEMO_POLICY), "-f", "-", "-o", "json", stdin=as_yaml
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["trusted"] is True


@pytest.mark.slow
def test_expected_identity_changes_the_scope() -> None:
    result = sigverify(
        "verify",
        "--policy",
        str(DEMO_POLICY),
        "-f",
        str(SIGNED),
        "-o",
        "json",
        "--expected-identity",
        "registry.example.com/partner/app:1.0",
    )
    assert result.returncode == 1
    verdict = json.loads(result.stdout)
    assert (verdict["scope"], verdict["signatures"][0]["reason"]) == (
        "registry.example.com/partner",
        "UntrustedKey",
    )


def _strip_recorded(document: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(document)
    for signature in stripped["image"]["signatures"]:
        for field in (
            "conditions",
            "imageIdentity",
            "signedClaims",
            "created",
            "issuedBy",
            "issuedTo",
        ):
            signature.pop(field, None)
    return stripped


@pytest.mark.slow
def test_write_records_conditions_and_keeps_everything_else(tmp_path: Path) -> None:
    out = tmp_path / "written.json"
    result = sigverify(
        "verify", "--policy", str(DEMO_POLICY), "-f", str(UNTRUSTED), "--write", str(out)
    )
    assert result.returncode == 1
    source = json.loads(UNTRUSTED.read_text())
    written = json.loads(out.read_text())
    assert _strip_recorded(written) == source
    trusted_by_name = {
        s["metadata"]["name"]: [(c["type"], c["status"], c["reason"]) for c in s["conditions"]]
        for s in written["image"]["signatures"]
    }
    names = [s["metadata"]["name"] for s in source["image"]["signatures"]]
    assert trusted_by_name[names[0]] == [
        ("Trusted", "False", "UntrustedKey"),
        ("ForImage", "True", "ForImage"),
    ]
    assert trusted_by_name[names[1]][0] == ("Trusted", "False", "DigestMismatch")
    assert trusted_by_name[names[1]][1][:2] == ("ForImage", "False")
    first = written["image"]["signatures"][0]
    assert first["issuedTo"]["publicKeyID"] == "0x43E64D08F2489B7B"
    assert first["imageIdentity"] == "registry.example.com/demo/tools:2.1"
    assert first["signedClaims"]["docker-manifest-digest"] == source["image"]["metadata"]["name"]
    condition = first["conditions"][0]
    assert condition["lastProbeTime"] == condition["lastTransitionTime"]
    assert condition["lastProbeTime"].endswith("Z") and len(condition["lastProbeTime"]) == 20


@pytest.mark.slow
def test_write_to_stdout_sends_the_report_to_stderr() -> None:
    result = sigverify("verify", "--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--write", "-")
    assert result.returncode == 0
    written = json.loads(result.stdout)
    assert written["image"]["signatures"][0]["conditions"][0]["status"] == "True"
    assert result.stderr.startswith("TRUSTED  ")


@pytest.mark.slow
def test_rewriting_keeps_the_transition_time(tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    assert (
        sigverify(
            "verify", "--policy", str(DEMO_POLICY), "-f", str(SIGNED), "--write", str(first)
        ).returncode
        == 0
    )
    before = json.loads(first.read_text())
    condition = before["image"]["signatures"][0]["conditions"][0]
    condition["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    first.write_text(json.dumps(before))
    second = tmp_path / "second.json"
    assert (
        sigverify(
            "verify", "--policy", str(DEMO_POLICY), "-f", str(first), "--write", str(second)
        ).returncode
        == 0
    )
    after = json.loads(second.read_text())["image"]["signatures"][0]["conditions"][0]
    assert after["lastTransitionTime"] == "2020-01-01T00:00:00Z"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "line 1"),
        (b"\x00\x01\x02binary", "bad.json: not a text document (contains NUL bytes)"),
        (b"", "bad.json: document is empty"),
        (b"[]", "document must be a JSON object, not an array"),
        (
            b'{"kind": "Image", "metadata": {"name": "sha256:'
            + b"a" * 64
            + b'"}, "signatures": [{"metadata": {"name": "x"}, '
            + b'"type": "atomic", "content": "AA=="}]}',
            "signatures[0].metadata.name",
        ),
        (
            b'{"kind": "Image", "metadata": {"name": "sha256:'
            + b"a" * 64
            + b'"}, "signatures": [{"metadata": {"name": "sha256:'
            + b"a" * 64
            + b'@s"}, "type": "atomic", "content": "!!!"}]}',
            "signatures[0].content",
        ),
        (b"a: &x [1]\nb: *x\n", "YAML aliases are not allowed"),
    ],
    ids=[
        "truncated-json",
        "binary",
        "empty",
        "array",
        "bad-signature-name",
        "bad-base64",
        "yaml-alias",
    ],
)
def test_malformed_documents_exit_2(tmp_path: Path, content: bytes, fragment: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = sigverify("verify", "--policy", str(DEMO_POLICY), "-f", str(bad))
    assert_one_line_error(result, fragment)


@pytest.mark.slow
def test_oversized_document_exits_2(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b'{"pad": "' + b"x" * (17 * 1024 * 1024) + b'"}')
    assert_one_line_error(
        sigverify("verify", "--policy", str(DEMO_POLICY), "-f", str(big)),
        "document is larger than 16777216 bytes",
    )


def test_missing_input_file_exits_2(tmp_path: Path) -> None:
    result = sigverify("verify", "--policy", str(DEMO_POLICY), "-f", str(tmp_path / "nope.json"))
    assert_one_line_error(result, "nope.json")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ("apiVersion: sigverify/v1\nkind: TrustPolicy\ndefault: []\n", "default"),
        (
            "apiVersion: sigverify/v1\nkind: TrustPolicy\nkeysDirectory: keys\ndefault:\n"
            "  - {type: signedBy, keys: ['0x0123456789ABCDEF']}\n",
            "0x0123456789ABCDEF",
        ),
        ("{{{", "policy.yaml: invalid JSON"),
        (
            "apiVersion: sigverify/v1\nkind: TrustPolicy\ndefault: [{type: reject}]\nsurprise: 1\n",
            "surprise",
        ),
    ],
    ids=["empty-default", "unknown-key-id", "garbage", "unknown-field"],
)
def test_bad_policies_exit_2(tmp_path: Path, policy: str, fragment: str) -> None:
    (tmp_path / "keys").mkdir()
    path = tmp_path / "policy.yaml"
    path.write_text(policy)
    assert_one_line_error(sigverify("verify", "--policy", str(path), "-f", str(SIGNED)), fragment)


@pytest.mark.slow
def test_missing_policy_exits_2(tmp_path: Path) -> None:
    assert_one_line_error(
        sigverify("verify", "--policy", str(tmp_path / "none.yaml"), "-f", str(SIGNED)), "none.yaml"
    )


@pytest.mark.slow
def test_usage_errors_exit_2() -> None:
    assert sigverify("verify", "-f", str(SIGNED)).returncode == 2  # --policy is required
    assert sigverify("verify", "--policy", str(DEMO_POLICY), "--backend", "magic").returncode == 2
    assert sigverify("verify", "--policy", str(DEMO_POLICY), "--output", "xml").returncode == 2


@pytest.mark.slow
def test_containers_policy_json(tmp_path: Path) -> None:
    policy = {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                "registry.example.com/demo": [
                    {
                        "type": "signedBy",
                        "keyType": "GPGKeys",
                        "keyPath": str(ROOT / "keys" / "demo-release.asc"),
                    }
                ]
            }
        },
    }
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    assert sigverify("verify", "--policy", str(path), "-f", str(SIGNED)).returncode == 0
    assert sigverify("verify", "--policy", str(path), "-f", str(UNTRUSTED)).returncode == 1


@pytest.mark.slow
def test_demo_shows_both_outcomes() -> None:
    result = sigverify("demo")
    assert result.returncode == 0, result.stderr
    assert "== app-signed.json\nTRUSTED  " in result.stdout
    assert "== tools-untrusted.json\nNOT TRUSTED  " in result.stdout


@pytest.mark.slow
def test_help_lists_the_commands() -> None:
    result = sigverify("--help")
    assert result.returncode == 0
    assert "verify" in result.stdout and "demo" in result.stdout
