from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sigverify.engine.cache import (
    CachedImageLookup,
    Lookup,
    Origin,
    SignatureKey,
    VerdictCache,
    VerdictKey,
    verdict_key,
)
from sigverify.imageapi.errors import ClusterUnreachable, NotFoundError
from sigverify.objects.types import Image, ImageSignature, ObjectMeta


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cache(clock: Clock, max_entries: int = 3) -> VerdictCache[str]:
    return VerdictCache(
        max_entries=max_entries,
        ttl_seconds=60,
        negative_ttl_seconds=5,
        is_negative=lambda value: value.startswith("bad"),
        clock=clock,
    )


_NOW = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)


def _image(
    name: str = "sha256:1",
    reference: str | None = "quay.io/a/b:1",
    signatures: tuple[tuple[str, str, bytes], ...] = (("atomic", "sha256:1@a", b"abc"),),
) -> Image:
    return Image(
        metadata=ObjectMeta(name=name),
        docker_image_reference=reference,
        signatures=[
            ImageSignature(metadata=ObjectMeta(name=n), type=t, content=c) for t, n, c in signatures
        ],
    )


def _key(image: Image, **changes: Any) -> VerdictKey:
    arguments: dict[str, Any] = {
        "origin": Origin.STORED,
        "expected_identity": None,
        "revision": "rev1",
        "now": _NOW,
        "bucket_seconds": 300.0,
    }
    arguments.update(changes)
    return verdict_key(image, **arguments)


def test_key_names_everything_a_verdict_reads() -> None:
    key = _key(_image())
    assert key == VerdictKey(
        origin=Origin.STORED,
        digest="sha256:1",
        reference="quay.io/a/b:1",
        identity=None,
        signatures=(
            SignatureKey(
                "atomic",
                "sha256:1@a",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ),
        revision="rev1",
        time_bucket=int(_NOW.timestamp()) // 300,
    )
    others = [
        _key(_image(), origin=Origin.POSTED),
        _key(_image(), origin=Origin.REGISTRY),
        _key(_image(name="sha256:2")),
        _key(_image(reference="quay.io/a/c:1")),
        _key(_image(reference=None)),
        _key(_image(), expected_identity="quay.io/a/b:1"),
        _key(_image(signatures=(("AtomicImageV1", "sha256:1@a", b"abc"),))),
        _key(_image(signatures=(("atomic", "sha256:1@b", b"abc"),))),
        _key(_image(signatures=(("atomic", "sha256:1@a", b"abd"),))),
        _key(_image(signatures=())),
        _key(_image(signatures=(("atomic", "sha256:1@a", b"abc"),) * 2)),
        _key(_image(), revision="rev2"),
        _key(_image(), now=_NOW + timedelta(seconds=300)),
    ]
    assert len({key, *others}) == len(others) + 1


def test_the_time_bucket_follows_the_bucket_size() -> None:
    start = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)  # a multiple of 300 s
    assert _key(_image(), now=start) == _key(_image(), now=start + timedelta(seconds=299))
    assert _key(_image(), now=start) != _key(_image(), now=start + timedelta(seconds=300))
    whole = _key(_image(), now=start, bucket_seconds=0).time_bucket
    assert whole == int(start.timestamp())
    assert _key(_image(), now=start + timedelta(seconds=1), bucket_seconds=0).time_bucket == (
        whole + 1
    )


def test_hit_miss_and_ttls() -> None:
    clock = Clock()
    cache = _cache(clock)
    calls: list[str] = []

    def compute(value: str) -> str:
        calls.append(value)
        return value

    assert cache.get_or_compute("good", lambda: compute("good")) == ("good", Lookup.MISS)
    assert cache.get_or_compute("good", lambda: compute("x")) == ("good", Lookup.HIT)
    assert cache.get_or_compute("bad", lambda: compute("bad")) == ("bad", Lookup.MISS)
    clock.now += 5  # the negative TTL has passed, the positive one has not
    assert cache.get_or_compute("bad", lambda: compute("bad2")) == ("bad2", Lookup.MISS)
    assert cache.get_or_compute("good", lambda: compute("x")) == ("good", Lookup.HIT)
    clock.now += 60
    assert cache.get_or_compute("good", lambda: compute("good3")) == ("good3", Lookup.MISS)
    assert calls == ["good", "bad", "bad2", "good3"]


def test_size_bound_evicts_least_recently_used() -> None:
    cache = _cache(Clock(), max_entries=2)
    cache.get_or_compute("a", lambda: "a")
    cache.get_or_compute("b", lambda: "b")
    cache.get_or_compute("a", lambda: "A")  # touch a
    cache.get_or_compute("c", lambda: "c")  # evicts b
    assert len(cache) == 2
    assert cache.get_or_compute("a", lambda: "A") == ("a", Lookup.HIT)
    assert cache.get_or_compute("b", lambda: "B") == ("B", Lookup.MISS)


def test_errors_are_not_cached() -> None:
    cache = _cache(Clock())

    def boom() -> str:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", boom)
    assert cache.get_or_compute("k", lambda: "ok") == ("ok", Lookup.MISS)


def test_concurrent_lookups_are_coalesced() -> None:
    cache = _cache(Clock())
    started = threading.Event()
    release = threading.Event()
    calls = []

    def slow() -> str:
        calls.append(1)
        started.set()
        release.wait(10)
        return "value"

    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(cache.get_or_compute, "k", slow)
        assert started.wait(10)
        others = [pool.submit(cache.get_or_compute, "k", slow, timeout=10) for _ in range(4)]
        release.set()
        assert first.result(10) == ("value", Lookup.MISS)
        assert [f.result(10) for f in others] == [("value", Lookup.COALESCED)] * 4
    assert calls == [1]


def test_coalesced_waiter_times_out_and_sees_errors() -> None:
    cache = _cache(Clock())
    started = threading.Event()
    release = threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        raise RuntimeError("verifier crashed")

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(cache.get_or_compute, "k", slow)
        assert started.wait(10)
        with pytest.raises(FutureTimeout):
            cache.get_or_compute("k", slow, timeout=0.01)
        waiter = pool.submit(cache.get_or_compute, "k", slow, timeout=10)
        release.set()
        with pytest.raises(RuntimeError, match="verifier crashed"):
            first.result(10)
        with pytest.raises(RuntimeError, match="verifier crashed"):
            waiter.result(10)


class FlakyAPI:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.down = False

    def _answer(self, what: str) -> dict[str, Any]:
        self.calls.append(what)
        if self.down:
            raise ClusterUnreachable("down")
        if "missing" in what:
            raise NotFoundError(f"{what} not found")
        return {"asked": what}

    def get_imagestreamimage(self, namespace: str, name: str) -> dict[str, Any]:
        return self._answer(f"isi {namespace}/{name}")

    def get_image(self, name: str) -> dict[str, Any]:
        return self._answer(f"image {name}")

    def get_imagestreamtag(self, namespace: str, name: str) -> dict[str, Any]:
        return self._answer(f"istag {namespace}/{name}")


def test_image_lookup_keeps_found_objects_for_the_ttl() -> None:
    clock = Clock()
    api = FlakyAPI()
    seen: list[Lookup] = []
    cached = CachedImageLookup(
        api, ttl_seconds=2, max_entries=10, clock=clock, on_lookup=seen.append
    )
    assert cached.get_image("a") == {"asked": "image a"}
    assert cached.get_image("a") == {"asked": "image a"}
    assert cached.get_imagestreamimage("ns", "a") == {"asked": "isi ns/a"}
    assert cached.get_imagestreamtag("ns", "a") == {"asked": "istag ns/a"}
    assert api.calls == ["image a", "isi ns/a", "istag ns/a"]
    assert seen == [Lookup.MISS, Lookup.HIT, Lookup.MISS, Lookup.MISS]
    clock.now += 2
    cached.get_image("a")
    assert api.calls[-1] == "image a" and len(api.calls) == 4


def test_image_lookup_never_keeps_not_found_or_errors() -> None:
    api = FlakyAPI()
    cached = CachedImageLookup(api, ttl_seconds=60, max_entries=10, clock=Clock())
    for _ in range(2):
        with pytest.raises(NotFoundError):
            cached.get_image("missing")
    api.down = True
    for _ in range(2):
        with pytest.raises(ClusterUnreachable):
            cached.get_image("b")
    assert api.calls == ["image missing"] * 2 + ["image b"] * 2
