"""``sigverify serve`` as a real process (gunicorn, real port), for integration tests."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIGVERIFY = str(Path(sys.executable).with_name("sigverify"))
STARTUP_POLLS = 300  # x 0.1 s


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    #: The state folder (``--state-dir``) of a server that authenticates, else None.
    state: Path | None = None
    #: Sent as ``Authorization: Bearer`` unless a request says otherwise.
    token: str | None = None
    #: Trusts the server's CA (its generated one, under ``state``), for HTTPS.
    context: ssl.SSLContext | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        context: ssl.SSLContext | None = None,
        token: str | None = "",
    ) -> tuple[int, Any]:
        """``token``: "" sends the server's own (if any), None sends none, else that one."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        bearer = self.token if token == "" else token
        if bearer:
            request.add_header("Authorization", f"Bearer {bearer}")
        context = context or self.context
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:
                raw = response.read()
                status = response.status
                kind = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            raw, status, kind = exc.read(), exc.code, exc.headers.get_content_type()
        return status, (json.loads(raw) if kind == "application/json" else raw.decode())

    def hup(self) -> None:
        os.kill(self.process.pid, signal.SIGHUP)


def poll(check: Callable[[], bool], *, attempts: int = 100, pause: float = 0.1) -> bool:
    """Call ``check`` until it is true, at most ``attempts`` times."""
    for _ in range(attempts):
        if check():
            return True
        time.sleep(pause)
    return False


@contextmanager
def serve(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None, secure: bool = False
) -> Iterator[Served]:
    """``sigverify serve ARGS`` on a free loopback port until the block ends.

    Tests that are not about who may call run ``--insecure-no-auth`` (loopback, plain HTTP
    unless they give a certificate); ``secure=True`` serves as by default, with the state
    folder ``cwd/xdg/sigverify`` — where clients with ``XDG_STATE_HOME=cwd/xdg`` look — (its
    admin token and CA are then the Served's ``token`` and ``context``).
    """
    state = cwd / "xdg" / "sigverify" if secure else None
    args = [*args, "--state-dir", str(state)] if state else ["--insecure-no-auth", *args]
    ready = cwd / "ready.txt"
    log = cwd / "serve.log"
    ready.unlink(missing_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIGVERIFY_")}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    environment.update(env or {})
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                SIGVERIFY,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--ready-file",
                str(ready),
                *args,
            ],
            cwd=cwd,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        started = poll(
            lambda: process.poll() is not None or (ready.exists() and ready.read_text().strip()),
            attempts=STARTUP_POLLS,
        )
        if process.poll() is not None or not started:
            raise RuntimeError(f"sigverify serve did not start:\n{log.read_text()}")
        url = ready.read_text().split()[0]
        served = Served(url, process, log, state=state)
        if state is not None:
            admin = state / "admin.token"
            served.token = admin.read_text().strip() if admin.exists() else None
            if (state / "ca.crt").exists():
                served.context = ssl.create_default_context(cafile=str(state / "ca.crt"))
        assert poll(lambda: _ready(served), attempts=STARTUP_POLLS), log.read_text()
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _ready(served: Served) -> bool:
    context = None
    if served.url.startswith("https://"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # only "is it up?"; tests verify TLS themselves
    try:
        status, _ = served.request("GET", "/healthz", context=context)
    except OSError:
        return False
    return status == 200
