"""``python -m bench.admission``: admissions per second and p50/p99 latency of the webhook.

Real servers on 127.0.0.1 only: the embedded store behind its OpenShift REST (gunicorn), and
the admission webhook (gunicorn, gthread workers) reading it through the OpenShift client,
verifying with the native backend. Load comes from ``wrk`` with a Lua script (``apt-get
install wrk``); each answer is checked (HTTP 200 and ``"allowed":true``) and any other counts
as an error.

* **warm**: one pod, digest-pinned, whose verdict is cached; every admission still fetches the
  Image (its signatures are part of the cache key). Targets: >= 1,000 admissions/s, p99 < 20 ms.
* **cold**: every admission names a new image (fetched over the store's REST and verified).
  Target: p99 < 50 ms.

Everything is torn down at the end; each phase is bounded by wrk's ``--duration``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
_PYTHON = sys.executable
_GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
_WARM_TARGET_RPS = 1000.0
_WARM_TARGET_P99_MS = 20.0
_COLD_TARGET_P99_MS = 50.0
_POLICY = """\
apiVersion: sigverify/v1
kind: TrustPolicy
keysDirectory: keys
default:
  - type: reject
scopes:
  quay.io/bench:
    - type: signedBy
      keys: ["{fingerprint}"]
"""
_ENV_STORE = "SIGVERIFY_BENCH_STORE"
_ENV_STORE_URL = "SIGVERIFY_BENCH_STORE_URL"
_ENV_POLICY = "SIGVERIFY_BENCH_POLICY"


# -- the WSGI applications gunicorn runs (``bench.admission:store_app()`` etc.) ---------------


def store_app() -> Any:
    """The embedded store at ``$SIGVERIFY_BENCH_STORE`` behind its OpenShift REST."""
    from sigverify.imageapi.store.image_store import ImageStore
    from sigverify.imageapi.store.rest import create_store_app

    return create_store_app(ImageStore(os.environ[_ENV_STORE]))


def webhook_app() -> Any:
    """The sigverify service (``create_app``, which serves the admission endpoints), verifying
    Images read through the OpenShift client from the store's REST at
    ``$SIGVERIFY_BENCH_STORE_URL``."""
    from sigverify.service.app import create_app
    from sigverify.settings import Settings

    policy = Path(os.environ[_ENV_POLICY])
    settings = Settings(
        policy=str(policy),
        keys=str(policy.parent / "keys"),
        backend="native",
        server=os.environ[_ENV_STORE_URL],
        api_timeout_seconds=5,
        insecure_no_auth=True,  # the benchmark drives the webhook, which has no bearer auth
    )
    return create_app(settings)


# -- set-up --------------------------------------------------------------------------------


def _digest(seed: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _image(digest: str, blob: bytes, reference: str) -> dict[str, Any]:
    import base64

    return {
        "kind": "Image",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": digest},
        "dockerImageReference": f"{reference}@{digest}",
        "dockerImageMetadata": {"kind": "DockerImage", "apiVersion": "image.openshift.io/1.0"},
        "dockerImageMetadataVersion": "1.0",
        "dockerImageLayers": [{"name": _digest(digest + "-layer"), "size": 1024, "mediaType": "x"}],
        "signatures": [
            {
                "metadata": {"name": f"{digest}@{digest[7:39]}"},
                "type": "atomic",
                "content": base64.b64encode(blob).decode(),
            }
        ],
    }


def _seed(root: Path, images: int) -> tuple[Path, list[str]]:
    """Key, policy and ``images`` signed Images in a store; returns the policy and digests."""
    sys.path.insert(0, str(_ROOT))
    from sigverify.imageapi.store.image_store import ImageStore
    from tests.support.gpgfactory import GpgFactory, KeySpec, atomic_payload

    factory = GpgFactory()
    try:
        key = factory.key(KeySpec("ed25519", name="bench"))
        (root / "keys").mkdir()
        (root / "keys" / "bench.gpg").write_bytes(key.public_material)
        policy = root / "policy.yaml"
        policy.write_text(_POLICY.format(fingerprint=key.fingerprint))
        digests = [_digest(f"bench-{i}") for i in range(images)]

        def sign(digest: str) -> dict[str, Any]:
            reference = "quay.io/bench/app"
            blob = factory.sign(key, atomic_payload(digest, f"{reference}:v1"))
            return _image(digest, blob, reference)

        with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            documents = list(pool.map(sign, digests))
    finally:
        factory.close()
    ImageStore(root / "store.db").put_objects(documents)
    return policy, digests


def _review(digest: str) -> str:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bench", "namespace": "bench"},
        "spec": {"containers": [{"name": "app", "image": f"quay.io/bench/app@{digest}"}]},
    }
    request = {
        "uid": "b0b0b0b0-0000-4000-8000-000000000000",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "bench",
        "name": "bench",
        "operation": "CREATE",
        "userInfo": {"username": "bench"},
        "object": pod,
        "oldObject": None,
        "dryRun": False,
    }
    return json.dumps(
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request},
        separators=(",", ":"),
    )


# -- servers -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, ``grace`` seconds to drain, then SIGKILL (the servers the benches start)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass
class _Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        stop_process(self.process, 10)


def _gunicorn(
    app: str, env: dict[str, str], log: Path, *, workers: int, threads: int, probe: str
) -> _Server:
    port = _free_port()
    command = [
        _GUNICORN,
        f"--bind=127.0.0.1:{port}",
        "--worker-class=gthread",
        f"--workers={workers}",
        f"--threads={threads}",
        "--keep-alive=30",
        "--backlog=2048",
        "--log-level=warning",
        app,
    ]
    handle = log.open("wb")
    process = subprocess.Popen(
        command, cwd=_ROOT, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT
    )
    server = _Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{app} exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(server.url + probe, timeout=2):
                return server
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{app} did not start within 30 s; see {log}")


# -- load ----------------------------------------------------------------------------------

_LUA_COMMON = r"""
reused = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
bad = 0
answered = 0
function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 or not string.find(body, '"allowed":true', 1, true) then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local b = 0
  local r = 0
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    r = r + (t:get("reused") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"bad":%d,"reused":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout, b, r))
end
"""


def _baseline_script() -> str:
    # The same server's cheapest route: what any request costs through gunicorn and Flask.
    return _LUA_COMMON.replace('wrk.method = "POST"', 'wrk.method = "GET"').replace(
        """not string.find(body, '"allowed":true', 1, true)""", "false"
    )


def _warm_script(body: str) -> str:
    return _LUA_COMMON + f"wrk.body = [==[{body}]==]\n"


def _cold_script(digests: list[str], threads: int) -> str:
    prefix, suffix = _review("DIGEST").split("DIGEST")
    table = ",".join(f'"{d}"' for d in digests)
    return (
        _LUA_COMMON
        + f"digests = {{{table}}}\n"
        + f"prefix = [==[{prefix}]==]\nsuffix = [==[{suffix}]==]\nnthreads = {threads}\n"
        + r"""
sent = 0
reused = 0
function request()
  -- thread t sends digests t+1, t+1+nthreads, ...: every request a different image
  local i = sent * nthreads + id + 1
  sent = sent + 1
  if i > #digests then
    reused = reused + 1
    i = #digests
  end
  return wrk.format(nil, nil, nil, prefix .. digests[i] .. suffix)
end
"""
    )


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    reused: int = 0  # cold requests that ran out of new images (then not cold)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _wrk(
    name: str, script: str, url: str, root: Path, *, threads: int, connections: int, seconds: float
) -> Result:
    path = root / f"{name}.lua"
    path.write_text(script)
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={path}",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in reversed(out.stdout.splitlines()) if x.startswith("{"))
    data = json.loads(line)
    return Result(
        name,
        data["requests"],
        data["duration_us"] / 1e6,
        data["p50_us"] / 1e3,
        data["p99_us"] / 1e3,
        data["errors"] + data["bad"],
        data["reused"],
    )


def _print(result: Result) -> None:
    print(
        f"{result.name:<6}{result.requests:>9}{result.rate:>12.0f}{result.p50_ms:>10.2f}"
        f"{result.p99_ms:>10.2f}{result.errors:>8}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.admission", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="warm phase length")
    parser.add_argument("--cold-seconds", type=float, default=5.0, help="cold phase length")
    parser.add_argument(
        "--cold-images", type=int, default=2500, help="new images for the cold phase"
    )
    parser.add_argument("--connections", type=int, default=4, help="warm wrk connections")
    parser.add_argument("--cold-connections", type=int, default=2, help="cold wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="webhook gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per webhook worker")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    connections = max(args.connections, args.wrk_threads)
    cold_connections = max(args.cold_connections, args.wrk_threads)
    with tempfile.TemporaryDirectory(prefix="sigverify-bench-") as tmp:
        root = Path(tmp)
        print(f"signing {args.cold_images + 1} images…", flush=True)
        policy, digests = _seed(root, args.cold_images + 1)
        warm_digest, cold_digests = digests[0], digests[1:]
        servers: list[_Server] = []
        try:
            store = _gunicorn(
                "bench.admission:store_app()",
                {_ENV_STORE: str(root / "store.db")},
                root / "store.log",
                workers=1,
                threads=8,
                probe=f"/apis/image.openshift.io/v1/images/{warm_digest}",
            )
            servers.append(store)
            webhook = _gunicorn(
                "bench.admission:webhook_app()",
                {_ENV_STORE_URL: store.url, _ENV_POLICY: str(policy)},
                root / "webhook.log",
                workers=args.workers,
                threads=args.threads,
                probe="/metrics",
            )
            servers.append(webhook)
            url = webhook.url + "/admission/validate"
            load = {"threads": args.wrk_threads, "connections": connections}
            print(
                f"webhook: gunicorn gthread {args.workers}x{args.threads}; wrk "
                f"{args.wrk_threads} threads, {connections} connections warm, "
                f"{cold_connections} cold; {os.cpu_count()} CPUs\n"
            )
            print(
                f"{'phase':<6}{'requests':>9}{'admits/s':>12}{'p50 ms':>10}{'p99 ms':>10}"
                f"{'errors':>8}"
            )
            warm_script = _warm_script(_review(warm_digest))
            _wrk("warmup", warm_script, url, root, seconds=2, **load)  # fills every worker's cache
            baseline = _wrk(
                "health",
                _baseline_script(),
                webhook.url + "/healthz",
                root,
                seconds=args.seconds,
                **load,
            )
            _print(baseline)
            warm = _wrk("warm", warm_script, url, root, seconds=args.seconds, **load)
            _print(warm)
            cold_script = _cold_script(cold_digests, args.wrk_threads)
            cold = _wrk(
                "cold",
                cold_script,
                url,
                root,
                seconds=args.cold_seconds,
                threads=args.wrk_threads,
                connections=cold_connections,
            )
            _print(cold)
            if cold.reused:
                print(f"  ({cold.reused} cold requests found no new image: give --cold-images)")
            print(
                f"\nagainst GET /healthz on the same server (same process, same load): warm "
                f"admissions run at {warm.rate / baseline.rate:.2f}x its rate, p50 "
                f"{warm.p50_ms / baseline.p50_ms:.2f}x; cold at {cold.rate / baseline.rate:.2f}x "
                f"its rate, p50 {cold.p50_ms / baseline.p50_ms:.2f}x"
            )
        finally:
            for server in reversed(servers):
                server.stop()
    met = (
        warm.rate >= _WARM_TARGET_RPS
        and warm.p99_ms < _WARM_TARGET_P99_MS
        and cold.p99_ms < _COLD_TARGET_P99_MS
        and warm.errors == cold.errors == cold.reused == 0
    )
    print(
        f"\ntargets: warm >= {_WARM_TARGET_RPS:.0f}/s and p99 < {_WARM_TARGET_P99_MS:.0f} ms, "
        f"cold p99 < {_COLD_TARGET_P99_MS:.0f} ms, no errors: {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
