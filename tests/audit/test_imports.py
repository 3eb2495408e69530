"""What a plain ``sigverify audit`` of a store loads: not the registry client (only
``--images`` reaches registries), nor marshmallow, Flask or the Kubernetes client (a policy
without an ``admission:`` section, no ``--workloads``, no cluster)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.imageapi.demo import DEMO_POLICY, seeded_store

REPO = Path(__file__).resolve().parents[2]
NOT_LOADED = ("sigverify.sources", "http.client", "marshmallow", "flask", "kubernetes")


def _imported(*args: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGVERIFY_")}
    env.pop("KUBECONFIG", None)
    env["HOME"] = "/nonexistent"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sigverify", "audit", *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", done.stderr, re.M))


def test_a_store_audit_loads_no_registry_client_and_no_service(tmp_path: Path) -> None:
    store = seeded_store(tmp_path / "store.db")
    modules = _imported("--policy", str(DEMO_POLICY), "--store", str(store.path), "-o", "json")
    assert "sigverify.audit.keyfacts" in modules  # the parse of the list is right
    assert sorted(m for m in modules if m.split(".")[0] in NOT_LOADED or m in NOT_LOADED) == []
    help_modules = _imported("--help")
    assert sorted(m for m in help_modules if m in NOT_LOADED) == []
