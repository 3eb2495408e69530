"""The verdict cache in front of the engine: TTL, size bound, short negative TTL, coalescing.

Keys name everything ``Verifier.verify_image`` reads (:func:`verdict_key`): where the image
came from (a caller's posted document never shares an entry with an image read from the image
API), its digest and ``dockerImageReference``, the expected identity, every signature's type,
name and the hash of its content, the verifier revision (policy, keys, backend) and the time
bucket (expiry of keys and signatures depends on the time) — so a cached verdict can never
outlive a change of policy, keys or signatures, nor answer for another image. Negative
verdicts get a shorter TTL so that an image signed a moment after it was refused is admitted
soon.

Concurrent lookups of one key are coalesced: the first caller computes, the others wait for
its result (each with its own timeout), so a burst of pods of one ReplicaSet verifies the
image once.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, NewType, Protocol, TypeVar

from sigverify.objects.types import Image

__all__ = [
    "CacheMiss",
    "CachedImageLookup",
    "DocumentKey",
    "Lookup",
    "Origin",
    "SignatureKey",
    "VerdictCache",
    "VerdictKey",
    "compact_key",
    "document_key",
    "verdict_key",
]


class CacheMiss(Exception):
    """The answer is not cached (raised only where a caller asked for cached answers only)."""


V = TypeVar("V")


class Lookup(StrEnum):
    """How a value was obtained: from the cache, by computing it, or from a concurrent caller."""

    HIT = "hit"
    MISS = "miss"
    COALESCED = "coalesced"


class Origin(StrEnum):
    """Where the verified Image came from; entries of different origins are never shared."""

    #: Read from the image API (the cluster or the embedded store).
    STORED = "stored"
    #: A document a caller sent (``POST /api/v1/verify``): anyone may make one up.
    POSTED = "posted"
    #: Signatures read from the image's registry (no Image object in the cluster).
    REGISTRY = "registry"


@dataclass(frozen=True)
class SignatureKey:
    """What the verdict reads of one signature."""

    type: str
    name: str
    content_sha256: str


@dataclass(frozen=True)
class VerdictKey:
    """Everything a verdict depends on (:func:`verdict_key` builds it from an Image)."""

    origin: Origin
    digest: str
    #: The Image's ``dockerImageReference`` (the policy scope when no identity is expected).
    reference: str | None
    #: The expected identity the image was verified for.
    identity: str | None
    signatures: tuple[SignatureKey, ...]  # in Image order
    #: The verifier's revision: policy, keys and backend.
    revision: str
    #: ``int(now / bucket_seconds)``: key and signature expiry depend on the time.
    time_bucket: int


def verdict_key(
    image: Image,
    *,
    origin: Origin,
    expected_identity: str | None,
    revision: str,
    now: datetime,
    bucket_seconds: float,
) -> VerdictKey:
    """The cache key of verifying ``image`` (as ``origin``) for ``expected_identity`` at ``now``.

    ``bucket_seconds`` is the cache's lifetime for an entry: a verdict is never reused in
    another bucket, so a key or signature that expired is seen at the next bucket at the
    latest (whole seconds when it is 0).
    """
    return VerdictKey(
        origin=origin,
        digest=image.name,
        reference=image.docker_image_reference,
        identity=expected_identity,
        signatures=tuple(
            SignatureKey(
                type=signature.type,
                name=signature.name,
                content_sha256=hashlib.sha256(signature.content).hexdigest(),
            )
            for signature in image.signatures
        ),
        revision=revision,
        time_bucket=_time_bucket(now, bucket_seconds),
    )


def _time_bucket(now: datetime, bucket_seconds: float) -> int:
    seconds = now.timestamp()
    return int(seconds // bucket_seconds) if bucket_seconds > 0 else int(seconds)


#: A verdict's key by the whole document its Image is loaded from (:func:`document_key`):
#: 32 bytes, which the garbage collector does not walk (a VerdictKey is objects it walks for
#: as long as it is cached), and never equal to a VerdictKey.
DocumentKey = NewType("DocumentKey", bytes)

#: JSON text for the key: every character escaped to ASCII, so any string a JSON reader made
#: (a lone surrogate included) encodes.
_KEY_TEXT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def document_key(
    document: Any,
    *,
    origin: Origin,
    expected_identity: str | None,
    revision: str,
    now: datetime,
    bucket_seconds: float,
) -> DocumentKey | None:
    """The cache key of verifying the Image of ``document``, or None when it cannot be
    written as JSON (then key by the loaded Image, :func:`verdict_key`).

    Everything the verdict reads of the Image is in the document (the Image is a function of
    it), so the document stands for the Image: a cached answer is found before the document
    is loaded, and an answer is only ever kept for a document that loaded. The key is the
    sha256 of the JSON text of the document with :class:`VerdictKey`'s other members (origin,
    expected identity, verifier revision, time bucket). ``document`` is what an image API
    answers: a JSON reader's output (objects with string keys, arrays, strings, numbers,
    booleans, null), whose JSON text is one-to-one with it: two documents share a key only
    when every member, their order included, is the same.
    """
    parts = [
        "document-verdict/1",
        origin.value,
        expected_identity,
        revision,
        _time_bucket(now, bucket_seconds),
        document,
    ]
    try:
        text = _KEY_TEXT.encode(parts)
    except (TypeError, ValueError):
        return None
    return DocumentKey(hashlib.sha256(text.encode("ascii")).digest())


def compact_key(key: VerdictKey) -> bytes:
    """``key`` as 32 bytes: the sha256 of the JSON text of every member (one-to-one with
    them, and never the text of a :func:`document_key`). Equal keys give equal bytes and
    different keys different ones, so a cache keyed by these answers exactly as one keyed by
    VerdictKeys; but the collector walks nothing of it (a VerdictKey is 3 + 2 a signature
    objects, for as long as its verdict is cached)."""
    parts = [
        "verdict/1",
        key.origin.value,
        key.digest,
        key.reference,
        key.identity,
        [[s.type, s.name, s.content_sha256] for s in key.signatures],
        key.revision,
        key.time_bucket,
    ]
    return hashlib.sha256(_KEY_TEXT.encode(parts).encode("ascii")).digest()


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    expires: float


#: Expired entries a store drops at most (bounded work under the lock).
_DROPS_PER_STORE = 4


class VerdictCache(Generic[V]):
    """A thread-safe LRU with per-entry expiry and in-flight coalescing."""

    def __init__(
        self,
        *,
        max_entries: int,
        ttl_seconds: float,
        negative_ttl_seconds: float,
        is_negative: Callable[[V], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._ttl = ttl_seconds
        self._negative_ttl = negative_ttl_seconds
        self._is_negative = is_negative
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry[V]] = OrderedDict()
        self._inflight: dict[Hashable, Future[V]] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def peek(self, key: Hashable) -> V | None:
        """The cached value of ``key`` if it is fresh, else ``None``; never computes."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires <= self._clock():
                return None
            self._entries.move_to_end(key)
            return entry.value

    def get_or_compute(
        self, key: Hashable, compute: Callable[[], V], *, timeout: float | None = None
    ) -> tuple[V, Lookup]:
        """The cached value of ``key``, or the value ``compute()`` returns (then cached).

        A concurrent caller for the same key waits up to ``timeout`` seconds for the first
        one's result and gets ``concurrent.futures.TimeoutError`` past it. Exceptions from
        ``compute`` reach every waiting caller and are never cached.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if entry.expires > self._clock():
                    self._entries.move_to_end(key)
                    return entry.value, Lookup.HIT
                del self._entries[key]
            pending = self._inflight.get(key)
            if pending is None:
                future: Future[V] = Future()
                self._inflight[key] = future
        if pending is not None:
            return pending.result(timeout=timeout), Lookup.COALESCED
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._inflight[key]
            future.set_exception(exc)
            raise
        self._store(key, value)
        with self._lock:
            del self._inflight[key]
        future.set_result(value)
        return value, Lookup.MISS

    def _store(self, key: Hashable, value: V) -> None:
        ttl = self._negative_ttl if self._is_negative(value) else self._ttl
        if ttl <= 0:
            return
        with self._lock:
            now = self._clock()
            self._entries[key] = _Entry(value, now + ttl)
            self._entries.move_to_end(key)
            self._drop_expired(now)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def _drop_expired(self, now: float) -> None:
        """Drop a few expired entries from the least recently used end (each store adds one
        entry, so this keeps up). An expired entry never answers again, yet it stayed until
        the size bound pushed it out: a 2 s image cache held 10,000 documents, and the garbage
        collector's full collections walk every object a cached entry keeps alive."""
        for _ in range(_DROPS_PER_STORE):
            oldest = next(iter(self._entries.items()), None)
            if oldest is None or oldest[1].expires > now:
                return
            del self._entries[oldest[0]]


class _ImageLookup(Protocol):
    def get_imagestreamimage(self, namespace: str, name: str) -> dict[str, Any]: ...

    def get_image(self, name: str) -> dict[str, Any]: ...

    def get_imagestreamtag(self, namespace: str, name: str) -> dict[str, Any]: ...


class CachedImageLookup:
    """The image API with answers kept for a few seconds (``cache.imageTtlSeconds``).

    Every admission of a ReplicaSet's pods names the same images; without this, each would
    cost the API server a GET. Only found objects are kept (a "not found" is asked again, so
    a freshly imported image is admitted at once), concurrent identical GETs are coalesced,
    and errors are never kept. A signature added or removed is seen within the TTL; a change
    of policy or keys is seen at once, because the verdict cache is keyed by their revision.
    """

    def __init__(
        self,
        api: _ImageLookup,
        *,
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[Lookup], None] | None = None,
    ) -> None:
        self._api = api
        self._on_lookup = on_lookup
        self._cache: VerdictCache[dict[str, Any]] = VerdictCache(
            max_entries=max_entries,
            ttl_seconds=ttl_seconds,
            negative_ttl_seconds=0,
            is_negative=lambda _: False,
            clock=clock,
        )

    def cached_only(self) -> _CachedOnly:
        """A view answering from the cache alone; anything else raises :class:`CacheMiss`."""
        return _CachedOnly(self)

    def peek(self, key: tuple[str, ...]) -> dict[str, Any]:
        value = self._cache.peek(key)
        if value is None:
            raise CacheMiss(key)
        if self._on_lookup is not None:
            self._on_lookup(Lookup.HIT)
        return value

    def _get(self, key: tuple[str, ...], fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        value, lookup = self._cache.get_or_compute(key, fetch)
        if self._on_lookup is not None:
            self._on_lookup(lookup)
        return value

    def get_imagestreamimage(self, namespace: str, name: str) -> dict[str, Any]:
        key = ("imagestreamimage", namespace, name)
        return self._get(key, lambda: self._api.get_imagestreamimage(namespace, name))

    def get_image(self, name: str) -> dict[str, Any]:
        return self._get(("image", name), lambda: self._api.get_image(name))

    def get_imagestreamtag(self, namespace: str, name: str) -> dict[str, Any]:
        key = ("imagestreamtag", namespace, name)
        return self._get(key, lambda: self._api.get_imagestreamtag(namespace, name))


class _CachedOnly:
    """The image API as far as :class:`CachedImageLookup` already knows it."""

    def __init__(self, cached: CachedImageLookup) -> None:
        self._cached = cached

    def get_imagestreamimage(self, namespace: str, name: str) -> dict[str, Any]:
        return self._cached.peek(("imagestreamimage", namespace, name))

    def get_image(self, name: str) -> dict[str, Any]:
        return self._cached.peek(("image", name))

    def get_imagestreamtag(self, namespace: str, name: str) -> dict[str, Any]:
        return self._cached.peek(("imagestreamtag", namespace, name))
