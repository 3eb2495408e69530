"""The verdict cache's key by a whole document (:func:`document_key`), and the cache's own
entries: honest (every member of the document, the origin, identity, revision and time
bucket change it) and made of what the garbage collector does not walk."""

from __future__ import annotations

import copy
import gc
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.engine.cache import (
    DocumentKey,
    Lookup,
    Origin,
    SignatureKey,
    VerdictCache,
    VerdictKey,
    compact_key,
    document_key,
)
from tests.support.budget import examples

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_DOCUMENTS = st.dictionaries(st.text(max_size=5), _JSON, max_size=4)


def _key(document: Any, **changes: Any) -> DocumentKey | None:
    arguments: dict[str, Any] = {
        "origin": Origin.STORED,
        "expected_identity": None,
        "revision": "r1",
        "now": NOW,
        "bucket_seconds": 300.0,
    }
    arguments.update(changes)
    return document_key(document, **arguments)


@settings(max_examples=examples(300))
@given(_DOCUMENTS, _DOCUMENTS)
def test_documents_share_a_key_only_when_equal_member_for_member(a: Any, b: Any) -> None:
    same = a == b and list(a) == list(b) and repr(a) == repr(b)
    assert (_key(a) == _key(b)) == same
    assert _key(copy.deepcopy(a)) == _key(a)


def test_every_other_input_changes_the_key() -> None:
    document = {"metadata": {"name": "sha256:1"}, "signatures": [{"content": "YQ=="}]}
    key = _key(document)
    assert key is not None
    assert _key(document, origin=Origin.POSTED) != key
    assert _key(document, expected_identity="quay.io/a/b:1") != key
    assert _key(document, revision="r2") != key
    assert _key(document, now=NOW.replace(hour=13)) != key
    changed = copy.deepcopy(document)
    changed["signatures"][0]["content"] = "Yg=="
    assert _key(changed) != key
    reordered = {"signatures": document["signatures"], "metadata": document["metadata"]}
    assert _key(reordered) != key  # another text: only a miss, never a wrong answer
    assert (
        _key({**document, "x": 1}) != _key({**document, "x": 1.0}) != _key({**document, "x": True})
    )


def test_a_document_json_cannot_write_gets_no_key() -> None:
    assert _key({"when": NOW}) is None
    assert _key({"blob": b"\x00"}) is None


def test_a_lone_surrogate_a_json_reader_can_make_still_keys() -> None:
    assert _key({"name": "\ud800"}) != _key({"name": "\ud801"})


def test_a_document_key_is_never_a_verdict_key() -> None:
    key = _key({"a": 1})
    assert isinstance(key, bytes) and len(key) == 32
    assert not isinstance(key, VerdictKey)


def test_cached_entries_and_keys_are_not_walked_by_the_collector() -> None:
    cache: VerdictCache[tuple[bool, str, bytes]] = VerdictCache(
        max_entries=10, ttl_seconds=60, negative_ttl_seconds=1, is_negative=lambda v: not v[0]
    )
    key = _key({"a": [1, 2]})
    cache.get_or_compute(key, lambda: (True, "Trusted", b"{}"))
    gc.collect()
    ((stored_key, entry),) = cache._entries.items()
    assert not gc.is_tracked(stored_key)
    assert not gc.is_tracked(entry.value)  # a plain tuple of a bool, a str and bytes


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_expired_entries_are_dropped_as_new_ones_come() -> None:
    clock = _Clock()
    cache: VerdictCache[str] = VerdictCache(
        max_entries=100, ttl_seconds=2, negative_ttl_seconds=1, is_negative=lambda v: False
    )
    cache._clock = clock
    for n in range(10):
        cache.get_or_compute(("old", n), lambda: "v")
    clock.now = 5.0  # every entry expired
    for n in range(3):
        cache.get_or_compute(("new", n), lambda: "v")
    # Each store drops up to 4 expired entries: three stores dropped all 10 old ones.
    assert list(cache._entries) == [("new", 0), ("new", 1), ("new", 2)]
    # Fresh entries are never dropped, expired ones never answer.
    clock.now = 6.0
    assert cache.get_or_compute(("new", 1), lambda: "other") == ("v", Lookup.HIT)
    assert cache.peek(("old", 0)) is None


def test_dropping_stops_at_the_first_fresh_entry() -> None:
    clock = _Clock()
    cache: VerdictCache[str] = VerdictCache(
        max_entries=100, ttl_seconds=2, negative_ttl_seconds=1, is_negative=lambda v: False
    )
    cache._clock = clock
    cache.get_or_compute("a", lambda: "v")
    clock.now = 1.5
    cache.get_or_compute("b", lambda: "v")
    clock.now = 2.5  # "a" expired, "b" not
    cache.get_or_compute("c", lambda: "v")
    assert list(cache._entries) == ["b", "c"]


_SIGNATURES = st.lists(
    st.builds(
        SignatureKey,
        type=st.sampled_from(["atomic", "Foo", ""]),
        name=st.sampled_from(["a@1", "a@2", "", "\ud800"]),
        content_sha256=st.sampled_from(["00", "ff", ""]),
    ),
    max_size=3,
).map(tuple)
_VERDICT_KEYS = st.builds(
    VerdictKey,
    origin=st.sampled_from(list(Origin)),
    digest=st.sampled_from(["sha256:1", "sha256:2"]),
    reference=st.none() | st.sampled_from(["quay.io/a/b", "quay.io/a/b:1", "None", ""]),
    identity=st.none() | st.sampled_from(["quay.io/a/b", "None", ""]),
    signatures=_SIGNATURES,
    revision=st.sampled_from(["r1", "r2"]),
    time_bucket=st.integers(0, 2),
)


@settings(max_examples=examples(500))
@given(_VERDICT_KEYS, _VERDICT_KEYS)
def test_compact_keys_are_equal_exactly_when_verdict_keys_are(a: VerdictKey, b: VerdictKey) -> None:
    assert (compact_key(a) == compact_key(b)) == (a == b)
    assert not gc.is_tracked(compact_key(a))


def test_a_compact_key_is_never_a_document_key() -> None:
    key = VerdictKey(Origin.STORED, "sha256:1", None, None, (), "r1", 0)
    assert compact_key(key) != _key({})
