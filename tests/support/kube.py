"""A real ``sigverify serve`` (embedded store, HTTPS, generated admin token) and the real
``kubectl`` pointed at it through the kubeconfig ``serve`` writes in its state folder.

For the kubectl tests of any area (discovery, tables, selectors, watch, patch, dry run)::

    with kube_server(tmp_path, store=seeded_store(tmp_path / "store.db").path) as kube:
        result = kube.kubectl("get", "images", "-o", "json")
        assert result.returncode == 0, result.stderr

Each server gets its own state folder, HOME and kubectl cache (``--cache-dir``), so no
test sees another's discovery cache or the user's ``~/.kube``. kubectl runs with a timeout;
its output is text (``stdout``, ``stderr``). Tests using this are slow (real processes):
mark them ``@pytest.mark.slow``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.imageapi.demo import DEMO_POLICY, KEYS
from tests.service.processes import Served, serve

__all__ = ["KUBECTL", "KubeServer", "kube_server", "kubectl_minor"]

#: The kubectl on the path (scripts/bootstrap installs Debian's ``kubernetes-client`` when
#: there is none); ``$KUBECTL`` names another, e.g. to check an older client.
KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl") or "/usr/bin/kubectl"
#: Seconds one kubectl command may take before the test fails.
KUBECTL_TIMEOUT = 60.0


@cache
def kubectl_minor() -> int:
    """The client's minor version (Debian bookworm's kubernetes-client is 1.20; newer
    kubectls read OpenAPI v3 and aggregated discovery, and print some things differently)."""
    result = subprocess.run(
        [KUBECTL, "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=KUBECTL_TIMEOUT,
        check=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    minor = json.loads(result.stdout)["clientVersion"]["minor"]
    return int("".join(c for c in minor if c.isdigit()))


@dataclass
class KubeServer:
    """A running ``sigverify serve`` and how kubectl reaches it."""

    served: Served
    #: The kubeconfig ``serve`` wrote (HTTPS server, its CA, the admin token).
    kubeconfig: Path
    #: HOME and kubectl's cache for this server's kubectl runs.
    home: Path

    @property
    def url(self) -> str:
        return self.served.url

    def env(self, **extra: str) -> dict[str, str]:
        """The environment kubectl runs with (``extra`` added, e.g. ``EDITOR``)."""
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("KUBE", "SIGVERIFY_"))
        }
        environment.update(HOME=str(self.home), KUBECONFIG=str(self.kubeconfig), **extra)
        return environment

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = KUBECTL_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl ARGS`` against the server; never raises for a non-zero exit."""
        return subprocess.run(
            [KUBECTL, "--cache-dir", str(self.home / "kube-cache"), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env(**(env or {})),
            timeout=timeout,
            check=False,
        )


@contextmanager
def kube_server(
    cwd: Path,
    *,
    store: Path | None = None,
    demo: bool = False,
    args: tuple[str, ...] = (),
) -> Iterator[KubeServer]:
    """``sigverify serve`` on a free loopback port, secure by default, until the block ends.

    ``store``: the store file to serve (default ``cwd/store.db``); ``demo``: seed an empty
    one with the bundled samples; ``args``: more ``serve`` flags.
    """
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    serve_args = [
        "--store",
        str(store or cwd / "store.db"),
        "--policy",
        str(DEMO_POLICY),
        "--keys",
        str(KEYS),
        "--workers",
        "1",
        *(["--demo"] if demo else []),
        *args,
    ]
    environment = {"XDG_STATE_HOME": str(cwd / "xdg"), "HOME": str(home)}
    with serve(serve_args, cwd=cwd, env=environment, secure=True) as served:
        assert served.state is not None
        kubeconfig = served.state / "kubeconfig"
        assert kubeconfig.is_file(), served.log.read_text()
        yield KubeServer(served, kubeconfig, home)
