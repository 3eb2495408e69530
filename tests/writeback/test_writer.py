"""Condition write-back: exact conditions, nothing else touched, conflicts retried."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sigverify.errors import NotFoundError
from sigverify.imageapi.openshift import ClusterOptions, connect
from sigverify.imageapi.protocol import JSONObject, Page
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app, status_body
from sigverify.writeback.writer import ConditionWriter, WriteConflictError
from tests.imageapi.demo import (
    APP,
    PARTNER_ONLY_POLICY,
    TOOLS,
    TOOLS_SIGNATURES,
    Clock,
    demo_verifier,
    seeded_store,
    time_text,
)
from tests.imageapi.servers import Faults, serve_wsgi

CONFLICT = json.dumps(
    status_body(409, "Conflict", "Operation cannot be fulfilled: the object has been modified")
).encode()


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return seeded_store(tmp_path / "store.db")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _writer(api: Any, clock: Clock, **options: Any) -> ConditionWriter:
    options.setdefault("sleep", lambda _: None)
    return ConditionWriter(api, demo_verifier(clock), clock=clock, **options)


def _without_signatures(image: JSONObject) -> JSONObject:
    rest = copy.deepcopy(image)
    rest.pop("signatures")
    rest["metadata"].pop("resourceVersion")
    return rest


def test_record_writes_exact_conditions_and_claims(store: ImageStore, clock: Clock) -> None:
    before = store.get_image(APP)
    result = _writer(store, clock).record(APP)
    assert result.written and result.attempts == 1 and result.conflicts == 0
    assert result.verdict.trusted
    after = store.get_image(APP)
    assert after == result.image
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert _without_signatures(after) == _without_signatures(before)
    (signature,) = after["signatures"]
    (original,) = before["signatures"]
    now = time_text(clock.now)
    assert [c["type"] for c in signature["conditions"]] == ["Trusted", "ForImage"]
    trusted, for_image = signature["conditions"]
    assert trusted["status"] == "True" and for_image["status"] == "True"
    assert trusted["reason"] == "Trusted"
    assert trusted["lastProbeTime"] == trusted["lastTransitionTime"] == now
    assert for_image["lastProbeTime"] == for_image["lastTransitionTime"] == now
    assert signature["imageIdentity"] == "registry.example.com/demo/app:1.0"
    assert signature["issuedTo"]["publicKeyID"] == "0x43C6880E17BA57E9"
    assert signature["signedClaims"]
    for key in ("metadata", "type", "content"):
        assert signature[key] == original[key]


def test_no_write_within_the_probe_interval(store: ImageStore, clock: Clock) -> None:
    writer = _writer(store, clock, probe_interval=timedelta(minutes=10))
    first = writer.record(APP)
    clock.advance(minutes=5)
    second = writer.record(APP)
    assert not second.written and second.attempts == 0
    assert store.get_image(APP) == first.image


def test_a_re_probe_keeps_the_transition_time(store: ImageStore, clock: Clock) -> None:
    writer = _writer(store, clock, probe_interval=timedelta(minutes=10))
    first_time = time_text(clock.now)
    writer.record(APP)
    clock.advance(minutes=11)
    result = writer.record(APP)
    assert result.written
    for condition in store.get_image(APP)["signatures"][0]["conditions"]:
        assert condition["lastProbeTime"] == time_text(clock.now)
        assert condition["lastTransitionTime"] == first_time


def test_a_status_flip_changes_the_transition_time(
    store: ImageStore, clock: Clock, tmp_path: Path
) -> None:
    _writer(store, clock).record(APP)
    clock.advance(minutes=1)
    policy = tmp_path / "partner-only.yaml"
    policy.write_text(PARTNER_ONLY_POLICY)
    flipped = ConditionWriter(store, demo_verifier(clock, policy), clock=clock)
    result = flipped.record(APP)
    assert result.written and not result.verdict.trusted
    trusted, for_image = store.get_image(APP)["signatures"][0]["conditions"]
    # The new policy's keyring lacks the release key: the signature no longer verifies.
    assert (trusted["status"], trusted["reason"]) == ("False", "UnknownKey")
    assert (for_image["status"], for_image["reason"]) == ("False", "UnknownKey")
    for condition in (trusted, for_image):
        assert condition["lastTransitionTime"] == condition["lastProbeTime"] == time_text(clock.now)
    # Unauthenticated now: the claims recorded when it verified are left as they were.
    assert store.get_image(APP)["signatures"][0]["imageIdentity"] == (
        "registry.example.com/demo/app:1.0"
    )


def test_untrusted_signatures_are_recorded_and_none_is_lost(
    store: ImageStore, clock: Clock
) -> None:
    before = store.get_image(TOOLS)
    result = _writer(store, clock).record(TOOLS)
    assert not result.verdict.trusted
    after = store.get_image(TOOLS)
    assert [s["metadata"]["name"] for s in after["signatures"]] == list(TOOLS_SIGNATURES)
    statuses = [
        (s["conditions"][0]["status"], s["conditions"][0]["reason"], s["conditions"][1]["status"])
        for s in after["signatures"]
    ]
    assert statuses == [
        ("False", "UntrustedKey", "True"),
        ("False", "DigestMismatch", "False"),
        ("False", "IdentityMismatch", "False"),
    ]
    for old, new in zip(before["signatures"], after["signatures"], strict=True):
        assert (new["content"], new["type"], new["metadata"]) == (
            old["content"],
            old["type"],
            old["metadata"],
        )


def test_only_records_the_named_signatures(store: ImageStore, clock: Clock) -> None:
    before = store.get_image(TOOLS)
    _writer(store, clock).record(TOOLS, only=[TOOLS_SIGNATURES[1]])
    after = store.get_image(TOOLS)
    assert after["signatures"][0] == before["signatures"][0]
    assert after["signatures"][2] == before["signatures"][2]
    assert after["signatures"][1]["conditions"][0]["reason"] == "DigestMismatch"
    with pytest.raises(NotFoundError, match="has no signature named nope"):
        _writer(store, clock).record(TOOLS, only=["nope"])


# -- conflicts ------------------------------------------------------------------------------


class _Interleaved:
    """The real store, with another writer's whole operation run right after our first read
    (so our first PUT carries a stale resourceVersion)."""

    def __init__(self, store: ImageStore, other: Any) -> None:
        self.store = store
        self.other = other
        self.reads = 0
        self.puts: list[str] = []

    def get_image(self, name: str) -> JSONObject:
        image = self.store.get_image(name)
        self.reads += 1
        if self.reads == 1:
            self.other()
        return image

    def update_image(self, image: JSONObject) -> JSONObject:
        self.puts.append(image["metadata"]["resourceVersion"])
        return self.store.update_image(image)

    def list_images(self, limit: int | None = None, continue_token: str | None = None) -> Page:
        return self.store.list_images(limit, continue_token)


def test_a_conflict_re_reads_and_keeps_the_other_writers_work(
    store: ImageStore, clock: Clock
) -> None:
    other_clock = Clock(clock.now - timedelta(hours=1))
    other = _writer(store, other_clock)
    api = _Interleaved(store, lambda: other.record(TOOLS, only=[TOOLS_SIGNATURES[0]]))
    result = _writer(api, clock).record(TOOLS, only=[TOOLS_SIGNATURES[2]])
    assert (result.written, result.attempts, result.conflicts) == (True, 2, 1)
    assert api.reads == 2 and api.puts[0] != api.puts[1]
    after = store.get_image(TOOLS)
    first, middle, last = after["signatures"]
    assert first["conditions"][0]["lastProbeTime"] == time_text(other_clock.now)
    assert "conditions" not in middle
    assert last["conditions"][0]["lastProbeTime"] == time_text(clock.now)


def test_a_signature_added_during_the_write_is_verified_and_kept(
    store: ImageStore, clock: Clock
) -> None:
    extra = copy.deepcopy(store.get_image(APP)["signatures"][0])
    extra["metadata"] = {"name": f"{TOOLS}@added"}

    api = _Interleaved(store, lambda: store.add_signature(extra))
    result = _writer(api, clock).record(TOOLS)
    assert result.conflicts == 1
    names = [s["metadata"]["name"] for s in store.get_image(TOOLS)["signatures"]]
    assert names == [*TOOLS_SIGNATURES, f"{TOOLS}@added"]
    added = store.get_image(TOOLS)["signatures"][-1]
    assert added["conditions"][0]["reason"] == "DigestMismatch"  # re-verified, not stale
    assert [v.name for v in result.verdict.signatures][-1] == f"{TOOLS}@added"


@pytest.fixture
def faults(store: ImageStore) -> Faults:
    return Faults(create_store_app(store))


@pytest.fixture
def server(faults: Faults) -> Iterator[str]:
    with serve_wsgi(faults) as url:
        yield url


def test_a_409_storm_is_ridden_out_within_the_bound(
    server: str, faults: Faults, store: ImageStore, clock: Clock
) -> None:
    faults.fail("PUT", f"/apis/image.openshift.io/v1/images/{APP}", 409, CONFLICT, times=3)
    api = connect(ClusterOptions(server=server))
    result = _writer(api, clock, max_attempts=5).record(APP)
    assert (result.written, result.attempts, result.conflicts) == (True, 4, 3)
    assert store.get_image(APP)["signatures"][0]["conditions"][0]["status"] == "True"
    gets = [p for m, p in faults.seen if m == "GET"]
    assert len(gets) == 4  # the first read and one re-read per conflict


def test_an_endless_409_storm_gives_up_and_writes_nothing(
    server: str, faults: Faults, store: ImageStore, clock: Clock
) -> None:
    faults.fail("PUT", "/apis/", 409, CONFLICT, times=50)
    before = store.get_image(APP)
    api = connect(ClusterOptions(server=server))
    with pytest.raises(WriteConflictError, match="changed during each of 3 attempts") as caught:
        _writer(api, clock, max_attempts=3).record(APP)
    assert caught.value.attempts == 3
    assert store.get_image(APP) == before


def test_two_writers_at_once_on_different_signatures_lose_nothing(
    server: str, store: ImageStore
) -> None:
    rounds = 4
    clocks = [Clock(), Clock()]
    clocks[1].advance(hours=1)
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []
    results: list[list[Any]] = [[], []]
    # The store's current revision (one counter for every object, as etcd's).
    version_before = int(store.list_page("Image", None, None, None)[2]["resourceVersion"])

    def run(which: int) -> None:
        writer = _writer(
            connect(ClusterOptions(server=server)),
            clocks[which],
            max_attempts=rounds * 4,
            probe_interval=timedelta(0),  # every round writes
        )
        try:
            for _ in range(rounds):
                barrier.wait()
                clocks[which].advance(minutes=1)
                results[which].append(writer.record(TOOLS, only=[TOOLS_SIGNATURES[which]]))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert all(r.written for batch in results for r in batch)
    after = store.get_image(TOOLS)
    for which in range(2):
        conditions = after["signatures"][which]["conditions"]
        assert [c["lastProbeTime"] for c in conditions] == [time_text(clocks[which].now)] * 2
    assert "conditions" not in after["signatures"][2]
    # Every round of each writer landed exactly once; every other PUT lost a race.
    writes = int(after["metadata"]["resourceVersion"]) - version_before
    assert writes == 2 * rounds
    attempts = sum(r.attempts for batch in results for r in batch)
    assert attempts == writes + sum(r.conflicts for batch in results for r in batch)
