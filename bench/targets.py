"""Issue 12's targets, each a ratio measured in this run, printed PASS or FAIL:
``python -m bench.targets [--quick]`` (``make bench`` runs it after ``python -m bench``).

Whole commands are timed as processes, A and B in turn (A B A B …), and the median of the
pair ratios is quoted; in-process costs are CPU time, best of rounds, against a baseline of
the same process. The machines are shared: compare the ratios, not the absolute times.

1. ``sigverify verify -f`` (one RSA-4096 signature) against ``skopeo standalone-verify`` of
   the same signature, wall time: ≤ 4 (aim 3);
2. ``sigverify --help`` over ``python -c pass``: ≤ 60 ms;
3. per signature through the whole CLI ((N-signature image − 1-signature image) / (N − 1),
   N = 256, the most an Image may carry: the larger N, the less a process's start-up noise
   weighs) against the bare ``cryptography`` verify: ≤ 1.5, and the gnupg backend's per
   signature (N = 11) against it: ≥ 25;
4. in process, parse + verify + render of a 1-signature RSA-4096 Image against the bare
   verify: ≤ 2;
5. the store figures of :mod:`bench.store`;
6. the service figures of :mod:`bench.service` (a real ``sigverify serve`` under ``wrk``):
   warm GET by reference ≥ 0.5× and cold admission ≥ 0.3× the same server's ``/healthz`` rate.

The CLI runs from compiled bytecode, as an installed package does: when the environment
says not to write bytecode (``PYTHONDONTWRITEBYTECODE``), it is compiled once into
``.cache/pycache`` (``PYTHONPYCACHEPREFIX``) before the timed runs.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.fixture import CliFixture, make_cli_fixture

_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    target: float
    detail: str
    at_least: bool = False  # the target is a floor, not a ceiling
    unit: str = "x"

    @property
    def passed(self) -> bool:
        return self.value >= self.target if self.at_least else self.value <= self.target

    def line(self) -> str:
        bound = "≥" if self.at_least else "≤"
        return (
            f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.value:.2f}{self.unit} "
            f"(target {bound} {self.target:g}{self.unit}); {self.detail}"
        )


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None or "PYTHONPYCACHEPREFIX" in env:
        env.setdefault("PYTHONPYCACHEPREFIX", str(_ROOT / ".cache" / "pycache"))
    return env


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _pairs(
    a: list[str], b: list[str], runs: int, env_a: dict[str, str], env_b: dict[str, str]
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    _run(a, env_a), _run(b, env_b)  # warm-up: caches, bytecode
    first, second = [], []
    for _ in range(runs):
        first.append(_run(a, env_a))
        second.append(_run(b, env_b))
    return first, second


def _median(values: list[float]) -> float:
    return statistics.median(values)


def cli_vs_skopeo(fixture: CliFixture, runs: int, policy: str) -> Figure:
    env = _environment()
    skopeo_env = {**os.environ, **fixture.skopeo_env()}
    ours, theirs = _pairs(
        fixture.sigverify_argv(policy=policy), fixture.skopeo_argv(), runs, env, skopeo_env
    )
    ratio = _median([a[0] / b[0] for a, b in zip(ours, theirs, strict=True)])
    return Figure(
        f"sigverify verify -f (policy {policy}) vs skopeo standalone-verify (wall)",
        ratio,
        4.0,
        f"median wall {_median([a[0] for a in ours]) * 1e3:.0f} ms vs "
        f"{_median([b[0] for b in theirs]) * 1e3:.0f} ms; CPU "
        f"{_median([a[1] for a in ours]) * 1e3:.0f} ms vs "
        f"{_median([b[1] for b in theirs]) * 1e3:.0f} ms",
    )


def help_over_python(runs: int) -> Figure:
    env = _environment()
    sigverify = str(Path(sys.executable).parent / "sigverify")
    ours, bare = _pairs([sigverify, "--help"], [sys.executable, "-c", "pass"], runs, env, env)
    over = _median([a[0] - b[0] for a, b in zip(ours, bare, strict=True)]) * 1e3
    return Figure(
        "sigverify --help over python -c pass (wall)",
        over,
        60.0,
        f"median wall {_median([a[0] for a in ours]) * 1e3:.0f} ms vs "
        f"{_median([b[0] for b in bare]) * 1e3:.0f} ms; CPU "
        f"{_median([a[1] for a in ours]) * 1e3:.0f} ms vs "
        f"{_median([b[1] for b in bare]) * 1e3:.0f} ms",
        unit=" ms",
    )


def _bare_verifier(fixture: CliFixture) -> Callable[[], None]:
    from bench.backends import Sample, bare_verifier
    from sigverify.openpgp.keyring import Keyring, load_key_file

    sample = Sample(
        "rsa4096",
        (fixture.root / "signature").read_bytes(),
        Keyring(load_key_file(fixture.root / "keys" / "bench.gpg")),
    )
    return bare_verifier(sample)


def _bare_verify_seconds(fixture: CliFixture, *, rounds: int = 5) -> float:
    from bench.backends import time_per_call

    return time_per_call(_bare_verifier(fixture), 500, rounds=rounds)


def per_signature(fixture: CliFixture, runs: int, many: int, gnupg_many: int) -> list[Figure]:
    """The bare verify is timed beside every pair of runs (the host's speed drifts), and each
    pair's per-signature cost is taken against the bare verify of its own moment."""
    from bench.backends import time_per_call

    env = _environment()
    bare_call = _bare_verifier(fixture)
    costs: dict[str, list[float]] = {"native": [], "gnupg": []}
    bares: list[float] = []
    for backend, count in (("native", many), ("gnupg", gnupg_many)):
        argv_one = fixture.sigverify_argv(1, backend=backend)
        argv_many = fixture.sigverify_argv(count, backend=backend)
        _run(argv_one, env), _run(argv_many, env)  # warm-up
        for _ in range(runs):
            if backend == "native":
                bares.append(time_per_call(bare_call, 300, rounds=2))
            one, more = _run(argv_one, env), _run(argv_many, env)
            costs[backend].append((more[1] - one[1]) / (count - 1))
    native = _median(costs["native"])
    bare = _median(bares)
    ratios = [cost / b for cost, b in zip(costs["native"], bares, strict=True)]
    return [
        Figure(
            "per signature through the CLI (native) vs bare cryptography verify (CPU)",
            _median(ratios),
            1.5,
            f"{native * 1e6:.0f} µs vs {bare * 1e6:.0f} µs per signature "
            f"({many}- minus 1-signature image; median of {runs} pairs, each against the "
            "bare verify timed beside it)",
        ),
        Figure(
            "per signature through the CLI: gnupg backend over native (CPU)",
            _median(costs["gnupg"]) / native,
            25.0,
            f"{_median(costs['gnupg']) * 1e6:.0f} µs vs {native * 1e6:.0f} µs per signature",
            at_least=True,
        ),
    ]


def in_process(fixture: CliFixture) -> Figure:
    from bench.backends import time_per_call
    from sigverify.objects.documents import load_document
    from sigverify.policyfile.holder import load_verifier
    from sigverify.render import verdict_to_json

    verifier = load_verifier(str(fixture.root / "policy.yaml"), None, "native")[1]
    document = json.loads(fixture.image().read_text())

    def whole() -> str:
        verdict = verifier.verify_image(load_document(document))
        return json.dumps(verdict_to_json(verdict))

    assert json.loads(whole())["trusted"]
    bare, full = [], []
    for _ in range(5):
        bare.append(_bare_verify_seconds(fixture))
        full.append(time_per_call(whole, 500))
    ratios = [f / b for f, b in zip(full, bare, strict=True)]
    return Figure(
        "in process: load + verify + render JSON of a 1-signature Image vs bare verify (CPU)",
        _median(ratios),
        2.0,
        f"{_median(full) * 1e6:.0f} µs vs {_median(bare) * 1e6:.0f} µs (RSA-4096)",
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    quick = "--quick" in args
    runs = 7 if quick else 15
    if shutil.which("skopeo") is None:
        print("skopeo is not installed: the CLI comparison needs it", file=sys.stderr)
        return 2
    from bench.store import store_figures

    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="sv-bench-") as scratch:
        fixture = make_cli_fixture(Path(scratch), many=(256, 11))
        steps: list[Callable[[], list[Figure]]] = [
            lambda: [cli_vs_skopeo(fixture, runs, "policy.yaml")],
            lambda: [cli_vs_skopeo(fixture, runs, "policy.json")],
            lambda: [help_over_python(runs)],
            lambda: per_signature(fixture, runs, 256, 11),
            lambda: [in_process(fixture)],
        ]
        for step in steps:
            for figure in step():
                print(figure.line(), flush=True)
                figures.append(figure)
    for store_figure in store_figures(quick):
        figure = Figure(
            store_figure.name,
            store_figure.value,
            store_figure.target,
            store_figure.detail,
            unit=" s" if store_figure.name.endswith("wall s") else "x",
        )
        print(figure.line(), flush=True)
        figures.append(figure)
    if shutil.which("wrk") is None:
        print("SKIP  the service figures: wrk is not installed (scripts/bootstrap)", flush=True)
    else:
        from bench.service import service_figures

        for service_figure in service_figures(quick):
            figure = Figure(
                service_figure.name,
                service_figure.value,
                service_figure.target,
                service_figure.detail,
                at_least=True,
            )
            print(figure.line(), flush=True)
            figures.append(figure)
    missed = [figure.name for figure in figures if not figure.passed]
    print(f"\n{len(figures) - len(missed)} of {len(figures)} targets met")
    return 1 if missed and "--strict" in args else 0


if __name__ == "__main__":
    raise SystemExit(main())
