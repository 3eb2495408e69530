"""The reconciler: paginated passes, write-back rules, failures counted, the CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from sigverify.cli import cli
from sigverify.cli._commands import register
from sigverify.imageapi.errors import ClusterUnreachable
from sigverify.imageapi.openshift import ClusterOptions, connect
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app, status_body
from sigverify.writeback.reconciler import Reconciler
from tests.imageapi.builders import image
from tests.imageapi.demo import APP, DEMO_POLICY, KEYS, TOOLS, Clock, demo_verifier, seeded_store
from tests.imageapi.servers import Faults, closed_port, serve_wsgi


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    store = seeded_store(tmp_path / "store.db")
    unsigned = image("unsigned", signatures=0)
    store.put_object(unsigned)
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _reconciler(api: object, clock: Clock, lines: list[str] | None = None) -> Reconciler:
    verifier = demo_verifier(clock)
    return Reconciler(
        api,  # type: ignore[arg-type]
        lambda: verifier,
        page_size=1,
        probe_interval=timedelta(minutes=10),
        clock=clock,
        progress=None if lines is None else lines.append,
    )


def test_a_pass_visits_every_page_and_records(store: ImageStore, clock: Clock) -> None:
    lines: list[str] = []
    summary = _reconciler(store, clock, lines).run_pass()
    assert (summary.images, summary.unsigned, summary.written, summary.unchanged) == (3, 1, 2, 0)
    assert (summary.trusted, summary.untrusted, summary.failed) == (1, 1, [])
    assert lines == [f"written    {TOOLS}  IdentityMismatch", f"written    {APP}  Trusted"]
    assert store.get_image(APP)["signatures"][0]["conditions"][0]["status"] == "True"
    assert summary.describe().startswith("3 images (1 unsigned): 2 written, 0 unchanged")


def test_a_second_pass_writes_only_after_the_probe_interval(
    store: ImageStore, clock: Clock
) -> None:
    reconciler = _reconciler(store, clock)
    reconciler.run_pass()
    clock.advance(minutes=5)
    assert (reconciler.run_pass().written, reconciler.run_pass().unchanged) == (0, 2)
    clock.advance(minutes=6)
    assert reconciler.run_pass().written == 2


@pytest.fixture
def faults(store: ImageStore) -> Faults:
    return Faults(create_store_app(store))


@pytest.fixture
def server(faults: Faults) -> Iterator[str]:
    with serve_wsgi(faults) as url:
        yield url


def test_one_failing_image_is_counted_and_the_pass_goes_on(
    server: str, faults: Faults, store: ImageStore, clock: Clock
) -> None:
    body = json.dumps(status_body(500, "InternalError", "disk full")).encode()
    faults.fail("PUT", f"/apis/image.openshift.io/v1/images/{TOOLS}", 500, body)
    summary = _reconciler(connect(ClusterOptions(server=server)), clock).run_pass()
    assert [name for name, _ in summary.failed] == [TOOLS]
    assert "disk full" in summary.failed[0][1]
    assert summary.written == 1 and not summary.ok
    assert "conditions" not in store.get_image(TOOLS)["signatures"][0]


def test_a_failing_list_ends_the_pass_and_run_goes_on(clock: Clock) -> None:
    api = connect(ClusterOptions(server=f"http://127.0.0.1:{closed_port()}"))
    reconciler = _reconciler(api, clock)
    with pytest.raises(ClusterUnreachable):
        reconciler.run_pass()
    reports: list[tuple[int, object, object]] = []
    done = reconciler.run(
        interval=0, passes=2, on_pass=lambda n, s, e: reports.append((n, s, type(e)))
    )
    assert done == [] and reports == [(1, None, ClusterUnreachable), (2, None, ClusterUnreachable)]


def test_run_stops_when_asked(store: ImageStore, clock: Clock) -> None:
    stop = threading.Event()
    reconciler = _reconciler(store, clock)
    done = reconciler.run(interval=3600, stop=stop, on_pass=lambda *_: stop.set())
    assert len(done) == 1


def _cli() -> CliRunner:
    register(cli)
    return CliRunner()


def test_reconcile_command_once(store: ImageStore, tmp_path: Path) -> None:
    args = ["reconcile", "--once", "--store", str(store.path), "--policy", str(DEMO_POLICY)]
    args += ["--keys", str(KEYS)]
    result = _cli().invoke(cli, args, env={"SIGVERIFY_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert f"written    {APP}  Trusted" in result.output
    assert "pass 1: 3 images (1 unsigned): 2 written, 0 unchanged, 0 failed" in result.output
    result = _cli().invoke(cli, [*args, "--quiet"])
    assert "pass 1: 3 images (1 unsigned): 0 written, 2 unchanged" in result.output
    assert "written " not in result.output


def test_reconcile_command_reports_a_dead_cluster(tmp_path: Path) -> None:
    args = ["reconcile", "--once", "--server", f"http://127.0.0.1:{closed_port()}"]
    args += ["--policy", str(DEMO_POLICY), "--keys", str(KEYS), "--api-timeout", "2"]
    result = _cli().invoke(cli, args)
    assert result.exit_code == 2
    assert "pass 1 failed: cannot reach the API server" in result.output


def test_reconcile_command_rejects_a_bad_interval() -> None:
    result = _cli().invoke(cli, ["reconcile", "--interval", "soon"])
    assert result.exit_code == 2
    assert "'soon' is not a duration" in result.output


@pytest.mark.parametrize("interval", ["0", "0s", "0m"])
def test_reconcile_command_refuses_a_zero_interval(interval: str) -> None:
    result = _cli().invoke(cli, ["reconcile", "--interval", interval], env={"SIGVERIFY_CONFIG": ""})
    assert result.exit_code == 2
    assert "invalid settings: reconcile_interval_seconds: must be positive" in result.output, (
        result.output
    )


@pytest.mark.slow
def test_reconcile_logs_one_json_line_per_condition_write(
    store: ImageStore, tmp_path: Path
) -> None:
    import subprocess
    import sys

    command = [str(Path(sys.executable).with_name("sigverify")), "reconcile", "--once", "-q"]
    command += ["--store", str(store.path), "--policy", str(DEMO_POLICY), "--keys", str(KEYS)]
    command += ["--log-format", "json"]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    writes = [entry for entry in lines if entry["message"] == "conditions written"]
    assert sorted(entry["image"] for entry in writes) == sorted([APP, TOOLS])
    for entry in writes:
        assert entry["logger"] == "sigverify.writeback" and entry["level"] == "info"
        assert (entry["attempts"], entry["conflicts"]) == (1, 0)
        assert isinstance(entry["resourceVersion"], str)
    assert {entry["image"]: entry["trusted"] for entry in writes}[APP] is True
