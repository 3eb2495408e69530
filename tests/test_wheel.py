"""The built wheel, installed into a fresh venv outside the checkout: it carries its sample
policies, keys and images (sigverify/_data), and no default reads the working directory.

Offline: the wheel is built with this venv's setuptools (``--no-build-isolation``); the new
venv has no pip and no dependencies of its own, and reaches this venv's site-packages for them
through a ``.pth`` file placed after its own site-packages (so the wheel's ``sigverify``, not
the checkout's, is imported; a ``.pth`` in a directory named by a ``.pth`` is not processed,
so this venv's editable install of sigverify is not seen).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SITE_PACKAGES = sysconfig.get_paths()["purelib"]
READY_POLLS = 600  # × 0.1 s: a cold start on a busy 2-core machine


def run(args: list[str], *, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin/ folder."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    # symlinks=False: sigverify/_data's links to policies/, keys/, examples/ are copied as
    # the files they point to, as a source distribution would hold them.
    shutil.copytree(
        REPO / "sigverify",
        source / "sigverify",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(root / "dist"),
            str(source),
        ],
        cwd=root,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("sigverify-*.whl")
    venv = root / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=root,
    ).stdout.strip()
    # "zz": after anything the wheel installs, so its sigverify comes first on sys.path
    (Path(purelib) / "zz-dependencies.pth").write_text(SITE_PACKAGES + "\n")
    done = run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            "-q",
            str(wheel),
        ],
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    where = run([str(python), "-c", "import sigverify; print(sigverify.__file__)"], cwd=root)
    assert where.stdout.strip().startswith(purelib), where.stdout
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder with nothing of sigverify's, but a keys/ that must not be read."""
    folder = tmp_path / "elsewhere"
    (folder / "keys").mkdir(parents=True)
    return folder


def test_the_wheel_carries_the_samples(installed: Path, elsewhere: Path) -> None:
    demo = run([str(installed / "sigverify"), "demo"], cwd=elsewhere)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.count("== ") == 2
    assert "TRUSTED  registry.example.com/demo/app@" in demo.stdout
    assert "(3 trusted keys)" in demo.stdout
    assert str(REPO) not in demo.stdout  # the installed copy, not the checkout


def test_the_oc_plugin_names_are_installed(installed: Path) -> None:
    for name in ("sigverify", "oc-sigverify", "kubectl-sigverify"):
        assert (installed / name).is_file(), name


@pytest.fixture
def policy_outside(tmp_path: Path) -> Path:
    """The demo policy and its keys in a folder of their own (keysDirectory: ../keys)."""
    etc = tmp_path / "etc"
    (etc / "policy").mkdir(parents=True)
    shutil.copy(REPO / "policies" / "demo.yaml", etc / "policy" / "demo.yaml")
    shutil.copytree(REPO / "keys", etc / "keys")
    return etc / "policy" / "demo.yaml"


@pytest.fixture
def served(installed: Path, elsewhere: Path, policy_outside: Path) -> Iterator[str]:
    ready = elsewhere / "ready.txt"
    log = elsewhere / "serve.log"
    args = [str(installed / "sigverify"), "serve", "--policy", str(policy_outside)]
    args += ["--host", "127.0.0.1", "--port", "0", "--workers", "1", "--ready-file", str(ready)]
    helps = run([str(installed / "sigverify"), "serve", "--help"], cwd=elsewhere).stdout
    if "--insecure-no-auth" in helps:
        args.append("--insecure-no-auth")  # plain HTTP on loopback: who may call is not tested here
    with log.open("wb") as output:
        process = subprocess.Popen(
            args,
            cwd=elsewhere,
            # the default store lives in the state folder: this test's, not the account's
            env={**os.environ, "XDG_STATE_HOME": str(elsewhere / "state")},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(READY_POLLS):
            if process.poll() is not None or (ready.exists() and ready.read_text().strip()):
                break
            time.sleep(0.1)
        assert process.poll() is None and ready.exists(), log.read_text()
        yield ready.read_text().split()[0]
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def readyz(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_finds_the_policy_keys_from_another_folder(served: str, policy_outside: Path) -> None:
    status, body = readyz(served)
    assert status == 200, body
    policy = body["policy"]
    assert isinstance(policy, dict)
    assert policy["loaded"] is True and policy["source"] == str(policy_outside)
