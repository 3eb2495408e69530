"""``sigverify serve`` as it runs by default (issue 9): HTTPS with a generated CA, a generated
admin token in the state folder (0600, never logged), every non-open endpoint refused without
it; the CLI's --server mode and ``reconcile --server`` find the token and the CA themselves.
Real processes (gunicorn, the sigverify CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.demo import APP, DEMO_POLICY, KEYS, seeded_store
from tests.service.processes import serve

pytestmark = pytest.mark.slow

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"
SIGVERIFY = str(Path(sys.executable).with_name("sigverify"))


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIGVERIFY_")}
    environment.pop("KUBECONFIG", None)
    environment.update(env)
    return subprocess.run(
        [SIGVERIFY, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=120,
        check=False,
    )


def test_serve_by_default_is_https_with_a_generated_admin_token(tmp_path: Path) -> None:
    store: ImageStore = seeded_store(tmp_path / "store.db")
    args = ["--store", str(store.path), "--policy", str(DEMO_POLICY), "--keys", str(KEYS)]
    args += ["--serve-store-api", "--workers", "1"]
    xdg = {"XDG_STATE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    with serve(args, cwd=tmp_path, env=xdg, secure=True) as served:
        assert served.url.startswith("https://127.0.0.1:")
        assert served.state == tmp_path / "xdg" / "sigverify"
        token_file = served.state / "admin.token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert served.token is not None and served.context is not None

        status, body = served.request("GET", APP_PATH, token=None)
        assert (status, body["kind"], body["reason"], body["code"]) == (
            401,
            "Status",
            "Unauthorized",
            401,
        )
        assert served.request("GET", APP_PATH, token="forged")[0] == 401
        status, body = served.request("GET", APP_PATH)
        assert (status, body["trusted"]) == (200, True)
        for open_path in ("/healthz", "/readyz", "/openapi.json"):
            assert served.request("GET", open_path, token=None)[0] == 200

        # The CLI finds the token and the CA in the state folder ($XDG_STATE_HOME).
        ref = f"demo/app@{APP}"
        result = _cli("verify", ref, "--server", served.url, "-o", "json", cwd=tmp_path, env=xdg)
        assert result.returncode == 0, result.stderr
        assert '"trusted": true' in result.stdout
        wrong = _cli(
            "verify", ref, "--server", served.url, cwd=tmp_path, env={**xdg, "SIGVERIFY_TOKEN": "x"}
        )
        assert wrong.returncode == 2
        assert "Unauthorized" in wrong.stderr and "Traceback" not in wrong.stderr
        # No state folder, no token: refused.
        elsewhere = {"XDG_STATE_HOME": str(tmp_path / "other"), "HOME": str(tmp_path / "home")}
        refused = _cli("verify", ref, "--server", served.url, cwd=tmp_path, env=elsewhere)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr

        reconciled = _cli(
            "reconcile",
            "--once",
            "--server",
            served.url,
            "--policy",
            str(DEMO_POLICY),
            "--keys",
            str(KEYS),
            cwd=tmp_path,
            env=xdg,
        )
        assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
        assert "2 written, 0 unchanged, 0 failed" in reconciled.stdout

    log = (tmp_path / "serve.log").read_text()
    assert f"the admin token (group sigverify:admin) is in {token_file}" in log
    assert served.token not in log


def test_insecure_no_auth_is_refused_off_loopback(tmp_path: Path) -> None:
    result = _cli("serve", "--insecure-no-auth", "--host", "0.0.0.0", cwd=tmp_path, env={})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "sigverify: error: invalid settings: insecure_no_auth: refused on '0.0.0.0'; only a "
        "loopback address may serve without authentication"
    )
