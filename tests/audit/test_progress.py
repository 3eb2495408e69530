"""The audit's progress line: on stderr when it is a terminal (a real pty here), nothing at
all when it is not."""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pytest

from sigverify.cli._progress import ProgressBar, progress_for
from tests.imageapi.demo import DEMO_POLICY, seeded_store

REPO = Path(__file__).resolve().parents[2]
SIGVERIFY = REPO / ".venv" / "bin" / "sigverify"


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bar_with_a_total_is_throttled_and_wiped() -> None:
    out = io.StringIO()
    ticks = Ticks()
    bar = ProgressBar(out, interval=0.5, monotonic=ticks)
    ticks.now = 101.0
    bar(1, 4)  # first: drawn
    ticks.now = 101.2
    bar(2, 4)  # within the interval: not drawn
    ticks.now = 102.0
    bar(3, 4)
    ticks.now = 102.1
    bar(4, 4)  # the last: always drawn
    bar.close()
    assert out.getvalue() == (
        "\raudit [######..................] 1/4 images  1.0/s"
        "\raudit [##################......] 3/4 images  1.5/s"
        "\raudit [########################] 4/4 images  1.9/s"
        "\r" + " " * len("audit [########################] 4/4 images  1.9/s") + "\r"
    )


def test_bar_without_a_total_counts() -> None:
    out = io.StringIO()
    ticks = Ticks()
    bar = ProgressBar(out, interval=0.0, monotonic=ticks)
    ticks.now = 102.0
    bar(10, None)
    ticks.now = 104.0
    bar(9999, None)
    bar.close()
    assert out.getvalue() == (
        "\raudit 10 images  5.0/s\raudit 9999 images  2499.8/s\r"
        + " " * len("audit 9999 images  2499.8/s")
        + "\r"
    )


def test_nothing_drawn_nothing_wiped() -> None:
    out = io.StringIO()
    ProgressBar(out).close()
    assert out.getvalue() == ""


def test_only_a_terminal_gets_a_bar() -> None:
    assert progress_for(io.StringIO()) is None
    primary, secondary = os.openpty()
    try:
        with os.fdopen(secondary, "w", closefd=False) as terminal:
            assert isinstance(progress_for(terminal), ProgressBar)
    finally:
        os.close(primary)
        os.close(secondary)


def _audit(store: Path, *, terminal: bool) -> tuple[int, str, str]:
    """``sigverify audit`` with stderr on a pty (terminal) or a pipe; (status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGVERIFY_")}
    env.pop("KUBECONFIG", None)
    env["HOME"] = "/nonexistent"
    command = [str(SIGVERIFY), "audit", "--policy", str(DEMO_POLICY), "--store", str(store)]
    command += ["-n", "demo", "-o", "csv"]
    if not terminal:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=120, check=False
        )
        return done.returncode, done.stdout, done.stderr
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL, env=env
    )
    os.close(secondary)
    seen = b""
    try:
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(primary)
    stdout, _ = process.communicate(timeout=120)
    return process.returncode, stdout.decode(), seen.decode()


@pytest.mark.slow
def test_progress_on_a_terminal_and_none_on_a_pipe(tmp_path: Path) -> None:
    seeded_store(tmp_path / "store.db")
    status, report, progress = _audit(tmp_path / "store.db", terminal=True)
    quiet_status, quiet_report, quiet = _audit(tmp_path / "store.db", terminal=False)
    assert (status, quiet_status) == (1, 1)
    assert report == quiet_report  # the report itself is the same either way
    assert quiet == ""
    # Namespace demo: two tagged images, so the total is known.
    drawn = re.findall(r"\raudit \[([#.]{24})\] (\d)/2 images  [0-9.]+/s", progress)
    assert drawn[0] == ("#" * 12 + "." * 12, "1")
    assert drawn[-1] == ("#" * 24, "2")
    assert progress.endswith("\r")  # wiped before the report
    assert progress.replace("\r", "").strip(" ") == "".join(
        re.findall(r"audit \[[#.]{24}\] \d/2 images  [0-9.]+/s *", progress.replace("\r", ""))
    ).strip(" ")
