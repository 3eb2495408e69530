"""``sigverify serve`` for real: gunicorn workers on a loopback port, over the embedded store
and over the OpenShift client; SIGHUP reloads, TLS certificate reload, graceful shutdown."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app
from tests.imageapi.demo import APP, KEYS, PARTNER_ONLY_POLICY, TOOLS, seeded_store
from tests.imageapi.servers import self_signed_certificate, serve_wsgi
from tests.service.processes import SIGVERIFY, Served, poll, serve

# Real gunicorn processes; the quick run keeps tests/cli/test_reference.py's service check.
pytestmark = pytest.mark.slow

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"
TOOLS_PATH = f"/api/v1/namespaces/demo/imagestreamimages/tools@{TOOLS}/verification"
RECORD = "?record=true"


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return seeded_store(tmp_path / "store.db")


def _verifications(served: Served) -> float:
    status, text = served.request("GET", "/metrics")
    assert status == 200
    return sum(
        float(value)
        for value in re.findall(r"^sigverify_verifications_total\{[^}]*\} (\S+)$", text, re.M)
    )


def _conditions(store: ImageStore) -> list[dict[str, Any]]:
    conditions: list[dict[str, Any]] = store.get_image(APP)["signatures"][0]["conditions"]
    return conditions


def test_serve_over_the_embedded_store(
    tmp_path: Path, store: ImageStore, policy_file: Path
) -> None:
    args = ["--store", str(store.path), "--policy", str(policy_file), "--keys", str(KEYS)]
    args += ["--workers", "2"]
    home = tmp_path / "home"
    home.mkdir()
    env = {"SIGVERIFY_PROBE_INTERVAL_SECONDS": "0", "SIGVERIFY_POLICY_RELOAD_SECONDS": "3600"}
    env |= {"HOME": str(home), "XDG_RUNTIME_DIR": str(home)}
    with serve(args, cwd=tmp_path, env=env) as served:
        # No gunicorn control socket (it could stop or resize the server).
        assert [p for p in home.rglob("*") if "gunicorn" in p.name] == []
        # Each worker froze its start-up objects (the modules and the app: tens of thousands).
        loaded = r"app loaded in worker \d+ \((\d+) start-up objects frozen\)"
        assert poll(lambda: len(re.findall(loaded, served.log.read_text())) >= 2, attempts=300)
        frozen = re.findall(loaded, served.log.read_text())
        assert len(frozen) == 2 and all(int(count) > 10_000 for count in frozen), frozen
        status, body = served.request("GET", APP_PATH)
        assert status == 200 and body["trusted"] is True and body["recorded"] is None
        assert "conditions" not in store.get_image(APP)["signatures"][0]  # GET wrote nothing

        status, body = served.request("POST", APP_PATH + RECORD)
        assert status == 200 and body["recorded"]["written"] is True
        first = _conditions(store)
        assert [(c["type"], c["status"]) for c in first] == [
            ("Trusted", "True"),
            ("ForImage", "True"),
        ]
        assert first[0]["lastProbeTime"] == first[0]["lastTransitionTime"]

        # A re-probe (probe interval 0: a record in a later second writes) keeps the
        # transition time.
        assert poll(lambda: _now_text(served) != first[0]["lastProbeTime"], attempts=30)
        status, body = served.request("POST", APP_PATH + RECORD)
        assert body["recorded"]["written"] is True
        again = _conditions(store)
        assert [c["lastTransitionTime"] for c in again] == [c["lastTransitionTime"] for c in first]
        assert [c["lastProbeTime"] for c in again] != [c["lastProbeTime"] for c in first]

        # The policy flips (SIGHUP; the file watch is off for this test).
        revision = served.request("GET", "/readyz")[1]["policy"]["revision"]
        policy_file.write_text(PARTNER_ONLY_POLICY)
        served.hup()
        assert poll(lambda: _all_workers_on_a_new_revision(served, revision))
        status, body = served.request("POST", APP_PATH + RECORD)
        assert status == 200 and body["trusted"] is False
        flipped = _conditions(store)
        for old, new in zip(first, flipped, strict=True):
            assert new["status"] == "False"
            assert new["lastTransitionTime"] == new["lastProbeTime"]
            assert new["lastTransitionTime"] != old["lastTransitionTime"]

        # A broken policy on SIGHUP is refused; the old one keeps answering.
        good_revision = served.request("GET", "/readyz")[1]["policy"]["revision"]
        policy_file.write_text("default: [")
        served.hup()
        assert poll(lambda: _all_workers_show_an_error(served))
        status, body = served.request("GET", "/readyz")
        assert status == 200 and body["ready"] is True
        assert body["policy"]["revision"] == good_revision
        # Still the partner-only policy: the partner's signature on tools is now accepted.
        status, body = served.request("GET", TOOLS_PATH)
        assert status == 200 and body["trusted"] is True
        assert [s["trusted"] for s in body["signatures"]] == [True, False, False]

        # Every worker's metrics are in /metrics: the 5 verifications made, whichever
        # worker answered each.
        assert _verifications(served) == 5.0

        served.process.terminate()
        assert served.process.wait(timeout=60) == 0
    assert "Shutting down: Master" in served.log.read_text()


def _now_text(served: Served) -> str:
    import datetime

    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _readiness_samples(served: Served, count: int = 6) -> list[dict[str, Any]]:
    # Several requests: the workers take turns, so each one is (very likely) asked.
    return [served.request("GET", "/readyz")[1] for _ in range(count)]


def _all_workers_on_a_new_revision(served: Served, old: str) -> bool:
    return all(r["policy"]["revision"] != old for r in _readiness_samples(served))


def _all_workers_show_an_error(served: Served) -> bool:
    return all(r["policy"]["error"] for r in _readiness_samples(served))


def test_serve_over_the_openshift_client(
    tmp_path: Path, store: ImageStore, policy_file: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("sigverify-writer\n")
    rest = create_store_app(store, tokens={"sigverify-writer": "write"})
    with serve_wsgi(rest) as api_url:
        args = [
            "--server",
            api_url,
            "--token-file",
            str(token),
            "--policy",
            str(policy_file),
            "--keys",
            str(KEYS),
            "--workers",
            "1",
        ]
        with serve(args, cwd=tmp_path) as served:
            status, body = served.request("GET", "/readyz")
            assert status == 200 and body["imageAPI"]["kind"] == "openshift"
            status, body = served.request("POST", TOOLS_PATH + RECORD)
            assert status == 200 and body["trusted"] is False
            assert body["recorded"]["written"] is True
            signatures = store.get_image(TOOLS)["signatures"]
            assert [s["conditions"][0]["reason"] for s in signatures] == [
                "UntrustedKey",
                "DigestMismatch",
                "IdentityMismatch",
            ]
            assert (
                body["recorded"]["resourceVersion"]
                == (store.get_image(TOOLS)["metadata"]["resourceVersion"])
            )


def _peer_certificate(url: str) -> bytes:
    host, port = url.removeprefix("https://").split(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # loopback test: we compare the certificate itself
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw) as tls,
    ):
        certificate = tls.getpeercert(binary_form=True)
    assert certificate is not None
    return certificate


def _der(pem: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.read_text())


@pytest.fixture
def tls_files(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    first = self_signed_certificate(tmp_path / "tls-a")
    yield first.cert, first.key


def test_serve_tls_and_reload_the_certificate(
    tmp_path: Path, store: ImageStore, policy_file: Path, tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files
    args = [
        "--store",
        str(store.path),
        "--policy",
        str(policy_file),
        "--keys",
        str(KEYS),
        "--workers",
        "1",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
    ]
    with serve(args, cwd=tmp_path) as served:
        assert served.url.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(cert))
        status, body = served.request("GET", APP_PATH, context=trusted)
        assert status == 200 and body["trusted"] is True
        assert _peer_certificate(served.url) == _der(cert)
        second = self_signed_certificate(tmp_path / "tls-b")
        key.write_bytes(second.key.read_bytes())
        cert.write_bytes(second.cert.read_bytes())
        assert poll(lambda: _peer_certificate(served.url) == _der(second.cert), attempts=50)
        renewed = ssl.create_default_context(cafile=str(second.cert))
        assert served.request("GET", "/healthz", context=renewed)[0] == 200


def test_a_sighup_while_workers_start_kills_none(
    tmp_path: Path, store: ImageStore, policy_file: Path
) -> None:
    # gunicorn leaves SIGHUP at "terminate" in a worker until its app is loaded; the worker
    # class catches it from the start, so a reload asked during startup loses no worker.
    ready = tmp_path / "ready.txt"
    log = tmp_path / "serve.log"
    args = [SIGVERIFY, "serve", "--insecure-no-auth", "--host", "127.0.0.1", "--port", "0"]
    args += ["--ready-file", str(ready), "--workers", "3", "--store", str(store.path)]
    args += ["--policy", str(policy_file), "--keys", str(KEYS)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIGVERIFY_")}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    environment |= {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    with log.open("wb") as output:
        process = subprocess.Popen(
            args, cwd=tmp_path, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        assert poll(lambda: ready.exists() and bool(ready.read_text().strip()), attempts=300)
        for _ in range(5):  # while the workers load the app
            process.send_signal(signal.SIGHUP)
            time.sleep(0.02)
        served = Served(ready.read_text().split()[0], process, log)
        assert poll(lambda: _healthy(served), attempts=300), log.read_text()
        # Every worker has booted and loaded the app (one line each once it is loaded).
        assert poll(lambda: log.read_text().count("app loaded in worker") >= 3, attempts=300)
        text = log.read_text()
        assert process.poll() is None
        assert "was sent SIGHUP" not in text and "exited with code" not in text, text
    finally:
        process.terminate()
        process.wait(timeout=60)


def _healthy(served: Served) -> bool:
    try:
        return served.request("GET", "/healthz")[0] == 200
    except OSError:
        return False
