"""``python -m bench.service [--quick]``: the service's throughput against its own ``/healthz``.

Issue 12's service targets, measured on one real ``sigverify serve`` (gunicorn, 2 workers ×
4 threads, HTTPS and bearer tokens as it serves by default, the embedded store) on 127.0.0.1:

* **warm GET by reference** — ``GET /api/v1/namespaces/bench/imagestreamimages/app@DIGEST/
  verification`` with the admin token, the verdict cached: ≥ 0.5× the ``/healthz`` rate;
* **cold admission** — ``POST /admission/validate`` of a pod naming an image never asked
  about before (read from the store and verified): ≥ 0.3× the ``/healthz`` rate.

Load comes from ``wrk`` (keep-alive, C: its own cost per request is small beside the
server's), checking every answer (HTTP 200; ``"trusted":true`` / ``"allowed":true``). The
phases run alternately, ``/healthz`` right before each measured phase, for several rounds;
each round's ratio is taken against its own ``/healthz`` phase and the median is quoted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.admission import _LUA_COMMON, _review, _seed

_ROOT = Path(__file__).resolve().parents[1]
_SIGVERIFY = str(Path(sys.executable).with_name("sigverify"))
WARM_TARGET = 0.5
COLD_TARGET = 0.3


@dataclass(frozen=True)
class Phase:
    name: str
    requests: int
    seconds: float
    bad: int
    reused: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class ServiceFigure:
    name: str
    value: float
    target: float
    detail: str


def _stream(digest: str) -> dict[str, object]:
    return {
        "kind": "ImageStream",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": "app", "namespace": "bench"},
        "spec": {"tags": []},
        "status": {
            "dockerImageRepository": "quay.io/bench/app",
            "tags": [
                {"tag": "v1", "items": [{"image": digest, "created": "2026-01-01T00:00:00Z"}]}
            ],
        },
    }


def _lua(check: str, method: str, headers: dict[str, str], body: str | None = None) -> str:
    script = _LUA_COMMON.replace('wrk.method = "POST"', f'wrk.method = "{method}"')
    script = script.replace(
        """not string.find(body, '"allowed":true', 1, true)""",
        f"not string.find(body, '{check}', 1, true)" if check else "false",
    )
    for name, value in headers.items():
        script += f'wrk.headers["{name}"] = "{value}"\n'
    if body is not None:
        script += f"wrk.body = [==[{body}]==]\n"
    return script


def _cold_lua(digests: list[str], threads: int) -> str:
    prefix, suffix = _review("DIGEST").split("DIGEST")
    table = ",".join(f'"{d}"' for d in digests)
    return (
        _lua('"allowed":true', "POST", {"Content-Type": "application/json"})
        + f"digests = {{{table}}}\n"
        + f"prefix = [==[{prefix}]==]\nsuffix = [==[{suffix}]==]\nnthreads = {threads}\n"
        + r"""
sent = 0
function request()
  -- thread t sends digests t+1, t+1+nthreads, ...: every request a new image
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


def _wrk(name: str, script: str, url: str, root: Path, seconds: float, connections: int) -> Phase:
    path = root / f"{name}.lua"
    path.write_text(script)
    command = [
        "wrk",
        "--threads=1",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={path}",
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in reversed(out.stdout.splitlines()) if x.startswith("{"))
    data = json.loads(line)
    return Phase(
        name,
        data["requests"],
        data["duration_us"] / 1e6,
        data["errors"] + data["bad"],
        data["reused"],
    )


@dataclass
class _Serve:
    process: subprocess.Popen[bytes]
    url: str
    token: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _serve(root: Path, policy: Path, workers: int, threads: int) -> _Serve:
    ready = root / "ready"
    state = root / "state"
    command = [
        _SIGVERIFY,
        "serve",
        "--store",
        str(root / "store.db"),
        "--policy",
        str(policy),
        "--keys",
        str(policy.parent / "keys"),
        "--backend",
        "native",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        f"--workers={workers}",
        f"--threads={threads}",
        "--state-dir",
        str(state),
        "--log-level",
        "warning",
        "--ready-file",
        str(ready),
    ]
    log = (root / "serve.log").open("wb")
    process = subprocess.Popen(command, cwd=_ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not ready.exists() or not ready.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"sigverify serve did not start; see {root / 'serve.log'}")
        time.sleep(0.1)
    url = ready.read_text().split()[0]
    from sigverify.authn.statedir import admin_token_path, read_admin_token

    server = _Serve(process, url, read_admin_token(admin_token_path(state)))
    return server


def _wait_for_workers(url: str, workers: int) -> None:
    """Every worker answers (a worker still loading the app would slow the first phase)."""
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + 60
    answered = 0
    while answered < 20 * workers:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5, context=context):
                answered += 1
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def measure(
    *, rounds: int, seconds: float, cold_images: int, workers: int = 2, threads: int = 4
) -> list[ServiceFigure]:
    connections = workers * threads
    with tempfile.TemporaryDirectory(prefix="sv-bench-service-") as scratch:
        root = Path(scratch)
        policy, digests = _seed(root, cold_images + 1)
        from sigverify.imageapi.store.image_store import ImageStore

        warm_digest, cold_digests = digests[0], digests[1:]
        ImageStore(root / "store.db").put_objects([_stream(warm_digest)])
        server = _serve(root, policy, workers, threads)
        try:
            _wait_for_workers(server.url, workers)
            health = _lua("", "GET", {})
            warm_url = (
                f"{server.url}/api/v1/namespaces/bench/imagestreamimages/app@{warm_digest}"
                "/verification"
            )
            warm = _lua('"trusted":true', "GET", {"Authorization": f"Bearer {server.token}"})
            _wrk("warmup", warm, warm_url, root, 2, connections)  # every worker's cache
            per_round = len(cold_digests) // rounds
            phases: dict[str, list[tuple[Phase, Phase]]] = {"warm": [], "cold": []}
            for index in range(rounds):
                base = _wrk("health", health, server.url + "/healthz", root, seconds, connections)
                phases["warm"].append(
                    (_wrk("warm", warm, warm_url, root, seconds, connections), base)
                )
                base = _wrk("health", health, server.url + "/healthz", root, seconds, connections)
                batch = cold_digests[index * per_round : (index + 1) * per_round]
                cold = _wrk(
                    "cold",
                    _cold_lua(batch, 1),
                    server.url + "/admission/validate",
                    root,
                    seconds,
                    connections,
                )
                phases["cold"].append((cold, base))
                for name in ("warm", "cold"):
                    phase, against = phases[name][-1]
                    print(
                        f"  round {index + 1} {name}: {phase.rate:7.0f}/s vs /healthz "
                        f"{against.rate:7.0f}/s = {phase.rate / against.rate:.3f}"
                        f"{f'; {phase.bad} bad answers' if phase.bad else ''}"
                        f"{f'; {phase.reused} not cold (images ran out)' if phase.reused else ''}",
                        flush=True,
                    )
        finally:
            server.stop()
    figures = []
    for name, title, target in (
        ("warm", "service: warm GET by reference vs /healthz (rate)", WARM_TARGET),
        ("cold", "service: cold admission vs /healthz (rate)", COLD_TARGET),
    ):
        pairs = phases[name]
        ratios = [phase.rate / base.rate for phase, base in pairs]
        bad = sum(phase.bad for phase, _ in pairs)
        reused = sum(phase.reused for phase, _ in pairs)
        figures.append(
            ServiceFigure(
                title,
                statistics.median(ratios) if not bad else 0.0,
                target,
                f"median of {len(ratios)} rounds ({min(ratios):.2f}–{max(ratios):.2f}); "
                f"{statistics.median(p.rate for p, _ in pairs):.0f}/s vs "
                f"{statistics.median(b.rate for _, b in pairs):.0f}/s; gunicorn "
                f"{workers}×{threads}, wrk {connections} connections"
                + (f"; {bad} bad answers" if bad else "")
                + (f"; {reused} requests not cold" if reused else ""),
            )
        )
    return figures


def service_figures(quick: bool) -> list[ServiceFigure]:
    if quick:
        return measure(rounds=3, seconds=2, cold_images=1500)
    return measure(rounds=5, seconds=3, cold_images=4000)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if shutil.which("wrk") is None:
        print("wrk is not installed (scripts/bootstrap installs it)", file=sys.stderr)
        return 2
    os.environ.setdefault("PYTHONPATH", str(_ROOT))
    for figure in service_figures("--quick" in args):
        verdict = "PASS" if figure.value >= figure.target else "FAIL"
        print(
            f"{verdict}  {figure.name}: {figure.value:.2f}x (target ≥ {figure.target:g}x); "
            f"{figure.detail}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
