"""The audit's progress line: on stderr when it is a terminal (a real pty here), nothing at
all when it is not."""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pytest

from sigverify.audit.scan import audit_image_api
from sigverify.cli._progress import ProgressBar, progress_for
from sigverify.imageapi.openshift import ClusterOptions, connect
from sigverify.imageapi.protocol import CountedImageList
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app
from tests.imageapi.demo import DEMO_POLICY, Clock, demo_verifier, seeded_store
from tests.imageapi.servers import serve_wsgi

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


def _progress_of(api: object, page_size: int) -> list[tuple[int, int | None]]:
    told: list[tuple[int, int | None]] = []
    report = audit_image_api(
        api,  # type: ignore[arg-type]
        demo_verifier(Clock()),
        policy="p",
        page_size=page_size,
        progress=lambda done, total: told.append((done, total)),
    )
    assert report.totals.images == 3
    return told


def _with_an_untagged_image(path: Path) -> ImageStore:
    store = seeded_store(path)
    image = store.get_image(next(iter(store.list_images()[0]))["metadata"]["name"])
    image["metadata"] = {"name": "sha256:" + "e" * 64}
    image.pop("signatures", None)
    store.put_object(image)
    return store


def test_a_whole_cluster_audit_has_a_total_when_the_list_says_how_many_are_left(
    tmp_path: Path,
) -> None:
    """kube-apiserver (and the store's REST) answer a paged list with
    ``metadata.remainingItemCount``: the first page gives the total."""
    store = _with_an_untagged_image(tmp_path / "store.db")
    with serve_wsgi(create_store_app(store, tokens={"sa": "read"})) as url:
        cluster = connect(ClusterOptions(server=url, token="sa", timeout=10))
        assert isinstance(cluster, CountedImageList)
        assert cluster.list_images_counted(limit=1) == (
            [store.list_images(limit=1)[0][0]],
            cluster.list_images(limit=1)[1],
            2,
        )
        assert _progress_of(cluster, page_size=2) == [(1, 3), (2, 3), (3, 3)]
    # The embedded store's ImageAPI does not say (yet): done and rate only, as before.
    assert not isinstance(store, CountedImageList)
    assert _progress_of(store, page_size=2) == [(1, None), (2, None), (3, None)]


def test_the_total_counts_what_is_left_page_by_page() -> None:
    """A count that is missing on a page (None) hides the total again; the last page has
    none left."""

    pages = {None: (["a", "b"], "1", 3), "1": (["c"], "2", None), "2": (["d", "e"], None, 0)}

    class Listing:
        def list_imagestreams(self, *args: object, **kwargs: object) -> object:
            return [], None

        def list_images_counted(self, limit: object, continue_token: str | None) -> object:
            names, token, left = pages[continue_token]
            return [{"metadata": {"name": name}} for name in names], token, left

        def list_images(self, *args: object, **kwargs: object) -> object:
            raise AssertionError("the counted list is used")

    class Verifier:  # every Image a failure (not an Image document): only the ticks matter
        def verify_image(self, image: object) -> object:
            raise AssertionError("not reached")

    told: list[tuple[int, int | None]] = []
    audit_image_api(
        Listing(),  # type: ignore[arg-type]
        Verifier(),  # type: ignore[arg-type]
        policy="p",
        progress=lambda done, total: told.append((done, total)),
    )
    assert told == [(1, 5), (2, 5), (3, None), (4, 5), (5, 5)]
