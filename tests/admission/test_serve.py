"""The admission webhook as deployed: ``sigverify serve`` (gunicorn, real port) with the
webhook configured from the policy file's ``admission:`` section, which reloads with it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigverify.errors import PolicyError
from sigverify.policyfile.admission import Mode, NamespaceRule
from sigverify.policyfile.loader import load_policy
from tests.service.processes import Served, poll, serve

ROOT = Path(__file__).resolve().parents[2]
SIGVERIFY = str(Path(sys.executable).with_name("sigverify"))


def digest_of(example: str) -> str:
    return str(
        json.loads((ROOT / "examples" / "demo" / example).read_text())["image"]["metadata"]["name"]
    )


APP = f"registry.example.com/demo/app@{digest_of('app-signed.json')}"
TOOLS = f"registry.example.com/demo/tools@{digest_of('tools-untrusted.json')}"


def write_policy(folder: Path, admission: str) -> Path:
    text = (
        (ROOT / "policies" / "demo.yaml")
        .read_text()
        .replace("keysDirectory: ../keys", "keysDirectory: keys")
    )
    path = folder / "policy.yaml"
    path.write_text(text + admission)
    return path


ADMISSION = """\
admission:
  namespaces:
    sandbox: {mode: warn}
  exemptNamespaces: [infra]
"""


def review(namespace: str, *images: str) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "dev"},
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "namespace": namespace},
                "spec": {
                    "containers": [
                        {"name": f"c{i}", "image": image} for i, image in enumerate(images)
                    ]
                },
            },
            "dryRun": False,
        },
    }


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    shutil.copytree(ROOT / "keys", tmp_path / "keys")
    policy = write_policy(tmp_path, ADMISSION)
    store = tmp_path / "store.db"
    loaded = subprocess.run(
        [SIGVERIFY, "store", "load", "--store", str(store), str(ROOT / "examples" / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    with serve(
        [
            "--store",
            str(store),
            "--policy",
            str(policy),
            "--keys",
            str(tmp_path / "keys"),
            "--workers",
            "1",
        ],
        cwd=tmp_path,
    ) as server:
        yield server, policy


def admit(server: Served, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = server.request("POST", "/admission/validate", body=body)
    assert status == 200
    assert answer["response"]["uid"] == body["request"]["uid"]
    return dict(answer["response"])


def test_enforce_allows_trusted_and_denies_untrusted(served: tuple[Served, Path]) -> None:
    server, _ = served
    assert admit(server, review("shop", APP))["allowed"] is True
    denied = admit(server, review("shop", APP, TOOLS))
    assert denied["allowed"] is False
    assert denied["status"]["code"] == 403
    assert TOOLS in denied["status"]["message"]


@pytest.mark.slow
def test_warn_mode_and_exemptions_come_from_the_policy(served: tuple[Served, Path]) -> None:
    server, _ = served
    warned = admit(server, review("sandbox", TOOLS))
    assert warned["allowed"] is True
    assert warned["warnings"] and all(len(w) <= 120 for w in warned["warnings"])
    assert admit(server, review("infra", TOOLS))["allowed"] is True


@pytest.mark.slow
def test_policy_reload_changes_the_admission_modes(served: tuple[Served, Path]) -> None:
    server, policy = served
    policy.write_text(
        policy.read_text().replace("sandbox: {mode: warn}", "sandbox: {mode: enforce}")
    )
    server.hup()
    assert poll(lambda: admit(server, review("sandbox", TOOLS))["allowed"] is False, attempts=100)


def test_a_broken_admission_section_is_a_policy_error(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "keys", tmp_path / "keys")
    policy = write_policy(tmp_path, "admission:\n  mode: yolo\n")
    with pytest.raises(
        PolicyError, match=r"policy.yaml: admission: mode: Must be one of: enforce, warn, audit"
    ):
        load_policy(policy)
    admission = load_policy(write_policy(tmp_path, ADMISSION)).admission
    assert admission is not None
    assert admission.namespaces == {"sandbox": NamespaceRule(mode=Mode.WARN)}
    assert admission.exempt_namespaces == frozenset({"infra"})


@pytest.mark.slow
def test_admissions_are_counted_in_the_service_metrics(served: tuple[Served, Path]) -> None:
    server, _ = served
    for _ in range(3):
        admit(server, review("shop", APP))
    admit(server, review("shop", TOOLS))
    status, text = server.request("GET", "/metrics")
    assert status == 200
    lines = set(text.splitlines())
    assert (
        'sigverify_admission_requests_total{decision="allow",reason="Trusted",webhook="validate"}'
        " 3.0" in lines
    )
    denied = [
        line
        for line in lines
        if line.startswith("sigverify_admission_requests_total{") and 'decision="deny"' in line
    ]
    assert len(denied) == 1 and denied[0].endswith(" 1.0")
