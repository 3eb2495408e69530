"""The embedded store's scans: ``python -m bench.store [--quick]``.

Each figure is a ratio of two costs measured in this process, alternately (A B A B …), the
median of the rounds; CPU seconds unless said otherwise.

* list scaling: per-image cost of paging through every Image (limit 500) of a store of 100k
  (``--quick``: 20k) against one of 1k — target ≤ 1.5;
* store load: ``sigverify store load`` of 10k Images (2k with ``--quick``, scaled), whole
  process wall time — target ≤ 15 s;
* GET by reference: ``get_imagestreamimage(stream@digest)`` on a stream with 1,000 tags
  against one with 1 tag — target ≤ 1.2;
* reconcile vs audit: a reconcile pass with nothing to write against an audit of the same
  store (signed Images, the native backend) — target ≤ 1.2.
"""

from __future__ import annotations

import base64
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["StoreFigure", "store_figures"]

_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StoreFigure:
    name: str
    value: float
    target: float
    detail: str

    @property
    def passed(self) -> bool:
        return self.value <= self.target


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _image(seed: str, content: str | None = None, reference: str | None = None) -> dict[str, Any]:
    name = _digest(seed)
    blob = content or base64.b64encode(f"blob-{seed}".encode()).decode()
    return {
        "kind": "Image",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": name, "annotations": {"bench": seed}},
        "dockerImageReference": reference or f"registry.example.com/bench/app@{name}",
        "dockerImageMetadata": {"kind": "DockerImage", "apiVersion": "image.openshift.io/1.0"},
        "dockerImageLayers": [{"name": _digest(seed + "-layer"), "size": 1234, "mediaType": "x"}],
        "signatures": [
            {"metadata": {"name": f"{name}@sig0"}, "type": "atomic", "content": blob},
        ],
    }


def _images(count: int, prefix: str = "i") -> Iterator[dict[str, Any]]:
    return (_image(f"{prefix}{index}") for index in range(count))


def _cpu() -> float:
    return time.process_time()


def _alternate(a: Callable[[], float], b: Callable[[], float], rounds: int) -> float:
    """Median of a()/b() over ``rounds`` alternating pairs (each call returns its cost)."""
    ratios = []
    for _ in range(rounds):
        ratios.append(a() / b())
    return statistics.median(ratios)


def _per_image_list_cost(store: Any, count: int) -> Callable[[], float]:
    def run() -> float:
        start = _cpu()
        token = None
        seen = 0
        while True:
            items, token = store.list_images(limit=500, continue_token=token)
            seen += len(items)
            if token is None:
                break
        assert seen == count, (seen, count)
        return (_cpu() - start) / count

    return run


def list_scaling(root: Path, large: int) -> StoreFigure:
    from sigverify.imageapi.store.image_store import ImageStore

    small_store = ImageStore(root / "small.db")
    small_store.put_objects(_images(1000))
    large_store = ImageStore(root / "large.db")
    large_store.put_objects(_images(large))
    small_run = _per_image_list_cost(small_store, 1000)
    large_run = _per_image_list_cost(large_store, large)
    costs: dict[str, list[float]] = {"small": [], "large": []}

    def small() -> float:
        costs["small"].append(small_run())
        return costs["small"][-1]

    def large_cost() -> float:
        costs["large"].append(large_run())
        return costs["large"][-1]

    ratio = _alternate(large_cost, small, 3)
    return StoreFigure(
        f"store list: per-image cost, {large // 1000}k vs 1k images",
        ratio,
        1.5,
        f"{statistics.median(costs['large']) * 1e6:.1f} µs vs "
        f"{statistics.median(costs['small']) * 1e6:.1f} µs per image",
    )


def store_load(root: Path, count: int) -> StoreFigure:
    seed = root / "seed.json"
    seed.write_text(json.dumps({"kind": "List", "items": list(_images(count, "load"))}))
    database = root / "load.db"
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "sigverify", "store", "load", str(seed), "--store", str(database)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    seconds = (time.monotonic() - started) * 10_000 / count
    return StoreFigure(
        "store load: 10k images, wall s",
        seconds,
        15.0,
        f"{count} images in {seconds * count / 10_000:.2f} s"
        + (f" (scaled to 10k: {seconds:.2f} s)" if count != 10_000 else ""),
    )


def get_by_reference(root: Path) -> StoreFigure:
    from sigverify.imageapi.store.image_store import ImageStore

    store = ImageStore(root / "streams.db")
    images = list(_images(1000, "tag"))
    store.put_objects(images)
    names = [image["metadata"]["name"] for image in images]

    def stream(name: str, tagged: list[str]) -> dict[str, Any]:
        return {
            "kind": "ImageStream",
            "apiVersion": "image.openshift.io/v1",
            "metadata": {"name": name, "namespace": "bench"},
            "spec": {"tags": []},
            "status": {
                "tags": [
                    {
                        "tag": f"t{index}",
                        "items": [{"image": digest, "created": "2026-01-01T00:00:00Z"}],
                    }
                    for index, digest in enumerate(tagged)
                ]
            },
        }

    store.put_objects([stream("one", names[:1]), stream("many", names)])
    target = names[0]

    def timed(stream_name: str) -> Callable[[], float]:
        def run() -> float:
            start = _cpu()
            for _ in range(200):
                store.get_imagestreamimage("bench", f"{stream_name}@{target}")
            return (_cpu() - start) / 200

        return run

    many, one = timed("many"), timed("one")
    costs: dict[str, list[float]] = {"many": [], "one": []}

    def a() -> float:
        costs["many"].append(many())
        return costs["many"][-1]

    def b() -> float:
        costs["one"].append(one())
        return costs["one"][-1]

    ratio = _alternate(a, b, 9)
    return StoreFigure(
        "GET by reference: 1,000 tags vs 1 tag",
        ratio,
        1.2,
        f"{statistics.median(costs['many']) * 1e3:.3f} ms vs "
        f"{statistics.median(costs['one']) * 1e3:.3f} ms",
    )


def reconcile_vs_audit(root: Path, count: int) -> StoreFigure:
    sys.path.insert(0, str(_ROOT))
    from bench.fixture import REFERENCE, make_cli_fixture
    from sigverify.cli.audit import audit_image_api
    from sigverify.imageapi.store.image_store import ImageStore
    from sigverify.policyfile.holder import load_verifier
    from sigverify.writeback.reconciler import Reconciler

    fixture = make_cli_fixture(root / "fixture", many=())
    blob = json.loads(fixture.image().read_text())["signatures"][0]["content"]
    store = ImageStore(root / "reconcile.db")
    store.put_objects(_image(f"r{index}", blob, REFERENCE) for index in range(count))
    verifier = load_verifier(str(fixture.root / "policy.yaml"), None, "native")[1]
    reconciler = Reconciler(store, lambda: verifier, page_size=500)
    first = reconciler.run_pass()  # writes the conditions once
    assert first.written == count, first.describe()
    costs: dict[str, list[float]] = {"reconcile": [], "audit": []}

    def reconcile() -> float:
        start = _cpu()
        summary = reconciler.run_pass()
        assert summary.written == 0, summary.describe()
        costs["reconcile"].append(_cpu() - start)
        return costs["reconcile"][-1]

    def audit() -> float:
        start = _cpu()
        audit_image_api(store, verifier, policy="bench", page_size=500)
        costs["audit"].append(_cpu() - start)
        return costs["audit"][-1]

    ratio = _alternate(reconcile, audit, 3)
    return StoreFigure(
        f"reconcile pass with nothing to write vs audit ({count} images)",
        ratio,
        1.2,
        f"{statistics.median(costs['reconcile']) / count * 1e6:.0f} µs vs "
        f"{statistics.median(costs['audit']) / count * 1e6:.0f} µs per image",
    )


def store_figures(quick: bool) -> list[StoreFigure]:
    with tempfile.TemporaryDirectory(prefix="sv-bench-store-") as scratch:
        root = Path(scratch)
        return [
            list_scaling(root, 20_000 if quick else 100_000),
            store_load(root, 2_000 if quick else 10_000),
            get_by_reference(root),
            reconcile_vs_audit(root, 300 if quick else 1_000),
        ]


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    for figure in store_figures(quick):
        verdict = "PASS" if figure.passed else "FAIL"
        shown = f"{figure.value:.2f} (target ≤ {figure.target:g})"
        print(f"{verdict}  {figure.name}: {shown}; {figure.detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
