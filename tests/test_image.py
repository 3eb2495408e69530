"""The container image, built and run here with no container registry (``make image-test``).

The base is made from Debian's packages (scripts/image-base: debootstrap, imported with
buildah) and substituted for the Containerfile's ``FROM`` by its ``BASE`` build argument; the
Python packages are the wheels of this checkout and its dependencies. The server runs in the
image as an arbitrary non-root UID in group 0 (as OpenShift's restricted SCC runs it), on the
host's loopback (``buildah run --network host``): ``/healthz``, then one verification.

Minutes of work and root with buildah: run only when asked (``SIGVERIFY_IMAGE_TEST=1``, which
``make image-test`` sets); docs/install.md says why it is not part of ``make test``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IMAGE = "localhost/sigverify:test"
BASE = "localhost/sigverify-base:bookworm"
# The sample ImageStreamImage `serve --demo` seeds: demo/app, signed by the demo release key.
APP_DIGEST = "sha256:c4e5019a67fa8a84c297e556e955033fa5fe79190dcafba42ed83d0780ee66f7"
ARBITRARY_UID = "1000680000"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SIGVERIFY_IMAGE_TEST") != "1",
        reason="builds a container image (minutes, root, buildah): make image-test",
    ),
]


# chroot isolation: no OCI runtime (crun refuses this machine's hybrid cgroups), the host's
# network; the image and its user are the same.
ENV = {**os.environ, "BUILDAH_ISOLATION": os.environ.get("BUILDAH_ISOLATION", "chroot")}


def run(args: list[str], *, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def image() -> str:
    assert shutil.which("buildah"), "buildah is missing (make image-test installs it)"
    base = run(["scripts/image-base", BASE])
    assert base.returncode == 0, base.stderr + base.stdout
    built = run(["make", "--no-print-directory", "image", f"IMAGE={IMAGE}", f"BASE={BASE}"])
    assert built.returncode == 0, built.stderr[-4000:] + built.stdout[-4000:]
    return IMAGE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def served(image: str) -> Iterator[str]:
    container = run(["buildah", "from", "--pull-never", image]).stdout.strip()
    assert container
    port = free_port()
    serve = ["sigverify", "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)]
    serve += ["--workers", "1"]
    if (
        "--insecure-no-auth"
        in run(["buildah", "run", container, "sigverify", "serve", "--help"]).stdout
    ):
        serve.append("--insecure-no-auth")  # who may call is tested elsewhere
    process = subprocess.Popen(
        ["buildah", "run", "--network", "host", "--user", f"{ARBITRARY_UID}:0", container, *serve],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=ENV,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                break
            try:
                if get(f"{url}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"the server in the image exited:\n{output}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        run(["buildah", "rm", container])


def test_the_image_serves_health_and_a_verification(served: str) -> None:
    assert get(f"{served}/healthz")[0] == 200
    status, body = get(
        f"{served}/api/v1/namespaces/demo/imagestreamimages/app@{APP_DIGEST}/verification"
    )
    assert status == 200, body
    verdict = json.loads(body)
    assert verdict["trusted"] is True and verdict["image"] == APP_DIGEST


def test_the_image_runs_as_non_root_with_group_zero_state(image: str) -> None:
    config = json.loads(run(["buildah", "inspect", "--type", "image", image]).stdout)
    oci = config["OCIv1"]["config"]
    assert oci["User"] == "1001:0"
    assert oci["Entrypoint"] == ["sigverify"] and oci["Cmd"][0] == "serve"
    labels = oci["Labels"]
    assert labels["org.opencontainers.image.title"] == "sigverify"
    assert labels["org.opencontainers.image.version"]
    container = run(["buildah", "from", "--pull-never", image]).stdout.strip()
    try:
        probe = run(
            [
                "buildah",
                "run",
                "--user",
                f"{ARBITRARY_UID}:0",
                container,
                "sh",
                "-c",
                "id -u; touch /var/lib/sigverify/x && echo writable; gpg --version | head -n1",
            ]
        )
    finally:
        run(["buildah", "rm", container])
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.splitlines()
    assert lines[0] == ARBITRARY_UID and lines[1] == "writable"
    assert lines[2].startswith("gpg (GnuPG)")
