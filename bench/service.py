"""``python -m bench.service [--quick]``: the service's throughput against its own ``/healthz``.

Issue 12's service targets, measured on one real ``sigverify serve`` (gunicorn, 2 workers ×
4 threads, HTTPS and bearer tokens as it serves by default, the embedded store) on 127.0.0.1:

* **warm GET by reference** — ``GET /api/v1/namespaces/bench/imagestreamimages/app@DIGEST/
  verification`` with the admin token, the verdict cached: ≥ 0.5× the ``/healthz`` rate;
* **cold admission** — ``POST /admission/validate`` of a pod naming an image never asked
  about before (read from the store and verified): ≥ 0.3× the ``/healthz`` rate.

The server runs with its defaults (log level ``info``: every admission decision is logged,
to ``serve.log`` in the scratch folder). Beside each rate it prints the server's CPU time per
request (its processes' user + system time over the phase, from ``/proc``): on a shared host
the rates swing with other work, the CPU per request much less.

Load comes from ``wrk`` (keep-alive, C: its own cost per request is small beside the
server's), checking every answer (HTTP 200; ``"trusted":true`` / ``"allowed":true``). The
phases run alternately, ``/healthz`` right before each measured phase, for several rounds;
each round's ratio is taken against its own ``/healthz`` phase and the median is quoted.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.admission import _LUA_COMMON, _POLICY, _digest, _image, _review, stop_process

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
    server_cpu: float = 0.0  # CPU seconds of the server's processes during the phase

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_request(self) -> float:
        return self.server_cpu / self.requests if self.requests else 0.0


_TICK = os.sysconf("SC_CLK_TCK")


def _tree_cpu(root_pid: int) -> float:
    """CPU seconds (user + system) of ``root_pid`` and its descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICK
    tree = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(times.get(pid, 0.0) for pid in tree)


@dataclass(frozen=True)
class ServiceFigure:
    name: str
    value: float
    target: float
    detail: str


def _seed(root: Path, images: int) -> tuple[Path, list[str]]:
    """Key, policy and ``images`` signed Images in ``root/store.db``: the key made by gpg, the
    signatures made in-process with its secret (as gpg makes them: compressed one-pass
    messages), so thousands take seconds."""
    sys.path.insert(0, str(_ROOT))
    from sigverify.imageapi.store.image_store import ImageStore
    from tests.support.forge import Forger
    from tests.support.gpgfactory import GpgFactory, KeySpec, atomic_payload

    factory = GpgFactory()
    try:
        key = factory.key(KeySpec("ed25519", name="bench"))
        forger = Forger(factory, key)
        (root / "keys").mkdir()
        (root / "keys" / "bench.gpg").write_bytes(key.public_material)
    finally:
        factory.close()
    policy = root / "policy.yaml"
    policy.write_text(_POLICY.format(fingerprint=key.fingerprint))
    digests = [_digest(f"bench-{i}") for i in range(images)]
    created = int(time.time())  # not before the key: GnuPG calls that a time conflict
    reference = "quay.io/bench/app"
    documents = [
        _image(
            digest,
            forger.message(atomic_payload(digest, f"{reference}:v1"), created=created, compress=1),
            reference,
        )
        for digest in digests
    ]
    ImageStore(root / "store.db").put_objects(documents)
    return policy, digests


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


def _settle(pid: int, *, quiet: float = 0.01, longest: float = 10.0) -> None:
    """Wait until the server is idle (under ``quiet`` CPU seconds in 0.3 s): what one phase
    leaves running (a full garbage collection after the cold phase's thousands of new
    verdicts) must not be counted in the next one."""
    deadline = time.monotonic() + longest
    before = _tree_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        after = _tree_cpu(pid)
        if after - before < quiet:
            return
        before = after


def _wrk(
    name: str,
    script: str,
    url: str,
    root: Path,
    seconds: float,
    connections: int,
    server: int | None = None,
) -> Phase:
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
    cpu_before = _tree_cpu(server) if server else 0.0
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    cpu = _tree_cpu(server) - cpu_before if server else 0.0
    line = next(x for x in reversed(out.stdout.splitlines()) if x.startswith("{"))
    data = json.loads(line)
    return Phase(
        name,
        data["requests"],
        data["duration_us"] / 1e6,
        data["errors"] + data["bad"],
        data["reused"],
        cpu,
    )


@dataclass
class _Serve:
    process: subprocess.Popen[bytes]
    url: str
    token: str

    def stop(self) -> None:
        stop_process(self.process, 20)


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
    *, rounds: int, seconds: float, workers: int = 2, threads: int = 4
) -> list[ServiceFigure]:
    connections = workers * threads
    # Enough new images for every cold phase at 2,500 admissions/s, far above what it does.
    cold_images = rounds * round(seconds) * 2500
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
            pid = server.process.pid

            def run(name: str, script: str, url: str) -> Phase:
                _settle(pid)
                return _wrk(name, script, url, root, seconds, connections, pid)

            for index in range(rounds):
                base = run("health", health, server.url + "/healthz")
                phases["warm"].append((run("warm", warm, warm_url), base))
                base = run("health", health, server.url + "/healthz")
                batch = cold_digests[index * per_round : (index + 1) * per_round]
                cold = run("cold", _cold_lua(batch, 1), server.url + "/admission/validate")
                phases["cold"].append((cold, base))
                for name in ("warm", "cold"):
                    phase, against = phases[name][-1]
                    print(
                        f"  round {index + 1} {name}: {phase.rate:6.0f}/s vs /healthz "
                        f"{against.rate:6.0f}/s = {phase.rate / against.rate:.3f}; server CPU "
                        f"{phase.cpu_per_request * 1e6:5.0f} vs "
                        f"{against.cpu_per_request * 1e6:4.0f} µs a request = "
                        f"{against.cpu_per_request / phase.cpu_per_request:.3f}"
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
        cpu_ratios = [base.cpu_per_request / phase.cpu_per_request for phase, base in pairs]
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
                f"{workers}×{threads}, wrk {connections} connections; server CPU a request "
                f"{statistics.median(p.cpu_per_request for p, _ in pairs) * 1e6:.0f} vs "
                f"{statistics.median(b.cpu_per_request for _, b in pairs) * 1e6:.0f} µs "
                f"({statistics.median(cpu_ratios):.2f}×)"
                + (f"; {bad} bad answers" if bad else "")
                + (f"; {reused} requests not cold" if reused else ""),
            )
        )
    return figures


def service_figures(quick: bool) -> list[ServiceFigure]:
    if quick:
        return measure(rounds=3, seconds=2)
    return measure(rounds=5, seconds=3)


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
