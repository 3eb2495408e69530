"""``watch=true`` on the store's lists: a stream of Kubernetes ``WatchEvent`` lines.

As kube-apiserver serves a watch (Kubernetes "API concepts": efficient detection of changes,
watch bookmarks, 410 Gone):

- ``resourceVersion`` unset or ``"0"``: ``ADDED`` for every object there is (read in pages,
  so a watcher never holds more than a page), then every change after the first page's
  revision. Otherwise: every change after that revision, each ``ADDED``/``MODIFIED`` event
  carrying the object as written at its revision.
- A revision older than the change log's horizon: one ``ERROR`` event whose object is a
  ``Status`` with code 410, reason ``Expired`` ("too old resource version"), then the end;
  the client lists again.
- ``allowWatchBookmarks=true``: a ``BOOKMARK`` (only ``metadata.resourceVersion``) every
  :attr:`WatchLimits.bookmark_seconds` and when the watch times out.
- ``sendInitialEvents=true`` (with ``resourceVersionMatch=NotOlderThan`` and bookmarks, as
  apimachinery requires): ``ADDED`` for every object, then a ``BOOKMARK`` annotated
  ``k8s.io/initial-events-end: "true"``, then the changes.
- ``timeoutSeconds``: honoured, at most :attr:`WatchLimits.max_timeout_seconds` (also the
  default).

The log is polled (``PRAGMA data_version`` first: a file nobody wrote costs no query), so a
write in any process reaches every watcher within :attr:`WatchLimits.poll_seconds`. Each
watcher holds one connection and at most :attr:`WatchLimits.batch` changes; a process
serves at most :attr:`WatchLimits.max_watchers` at a time (the REST answers 429 beyond).
"""

from __future__ import annotations

import json
import select
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sigverify.imageapi.errors import (
    BadRequestError,
    ClusterError,
    ClusterUnreachable,
    status_of,
)
from sigverify.imageapi.protocol import JSONObject
from sigverify.imageapi.store._changes import Change, ChangeBatch, previous_body, read_changes
from sigverify.imageapi.store._objects import GROUP_VERSION, _typed
from sigverify.imageapi.store._sqlite import SQLiteObjects, _stored

__all__ = [
    "WatchHub",
    "WatchLimits",
    "WatchRequest",
    "parse_watch_request",
    "peer_closed",
    "watch_events",
]

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})


@dataclass(frozen=True)
class WatchLimits:
    """Bounds of the watches one process serves."""

    #: Watches served at a time (each holds a thread and a connection); more get 429.
    max_watchers: int = 8
    #: The longest watch, and the length of one that asks for none.
    max_timeout_seconds: float = 1800.0
    #: How often the change log is looked at.
    poll_seconds: float = 0.25
    #: Time between bookmarks (``allowWatchBookmarks=true``).
    bookmark_seconds: float = 60.0
    #: Most changes (or listed objects) read at once.
    batch: int = 100


class WatchHub:
    """The watches of one process: counted against the bound, all ended by :meth:`close`."""

    def __init__(self, store: SQLiteObjects, limits: WatchLimits | None = None) -> None:
        self.store = store
        self.limits = limits or WatchLimits()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._active = 0

    @property
    def active(self) -> int:
        return self._active

    def acquire(self) -> bool:
        """Take a watcher's place; False when all are taken."""
        with self._lock:
            if self._active >= self.limits.max_watchers or self.stopping.is_set():
                return False
            self._active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._active = max(self._active - 1, 0)

    def close(self) -> None:
        """End every watch at its next poll (the server is stopping)."""
        self.stopping.set()


@dataclass(frozen=True)
class WatchRequest:
    kind: str
    namespace: str | None
    #: None: start with the objects there are ("" or "0"); else the revision to follow from.
    resource_version: int | None
    timeout_seconds: float
    bookmarks: bool
    #: ``sendInitialEvents=true``: the objects there are first (whatever the revision), then
    #: a bookmark annotated ``k8s.io/initial-events-end`` (client-go's watch list).
    initial_events: bool = False


def _flag(args: Mapping[str, str], name: str) -> bool:
    value = args.get(name, "")
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequestError(f'{name}: Invalid value: "{value}": must be true or false')


def is_watch(args: Mapping[str, str]) -> bool:
    """Whether a list request asks for a watch (``watch=true``, ``watch=1``)."""
    return _flag(args, "watch")


def parse_watch_request(
    args: Mapping[str, str], kind: str, namespace: str | None, limits: WatchLimits
) -> WatchRequest:
    """The watch a list request's query asks for; BadRequestError for a bad value."""
    text = args.get("resourceVersion", "")
    version: int | None = None
    if text not in ("", "0"):
        if not text.isdigit() or len(text) > 19:
            raise BadRequestError(f'resourceVersion: Invalid value: "{text}": must be a revision')
        version = int(text)
    timeout = float(limits.max_timeout_seconds)
    raw = args.get("timeoutSeconds", "")
    if raw:
        if not raw.isdigit() or len(raw) > 10:
            raise BadRequestError(
                f'timeoutSeconds: Invalid value: "{raw}": must be a whole number of seconds'
            )
        if int(raw) > 0:  # 0: no timeout asked for, as Kubernetes reads it
            timeout = float(min(int(raw), limits.max_timeout_seconds))
    bookmarks = _flag(args, "allowWatchBookmarks")
    initial = _flag(args, "sendInitialEvents")
    # apimachinery ValidateListOptions: the watch list needs both of these.
    if initial and args.get("resourceVersionMatch") != "NotOlderThan":
        raise BadRequestError(
            "sendInitialEvents: Forbidden: sendInitialEvents is forbidden unless "
            'resourceVersionMatch is "NotOlderThan"'
        )
    if initial and not bookmarks:
        raise BadRequestError(
            "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting "
            "allowWatchBookmarks to true"
        )
    return WatchRequest(kind, namespace, version, timeout, bookmarks, initial)


def peer_closed(environ: Mapping[str, Any]) -> Callable[[], bool]:
    """Whether the client of a streamed answer has gone: its socket reads end-of-file.

    A watch writes nothing while nothing changes, so a client that left is noticed here, not
    by a failed write: its place among the bounded watchers is freed at the next poll. A TLS
    socket that turns readable counts as gone (a watch client sends nothing more).
    """
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return lambda: False

    def closed() -> bool:
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            if isinstance(sock, ssl.SSLSocket):
                return True
            return sock.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True

    return closed


def _line(kind: str, obj: JSONObject) -> bytes:
    return (json.dumps({"type": kind, "object": obj}, ensure_ascii=False) + "\n").encode()


def expired_status(version: int, horizon: int) -> JSONObject:
    """The ``Status`` of an ``ERROR`` event for a revision the log no longer holds."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"too old resource version: {version} ({horizon + 1})",
        "reason": "Expired",
        "code": 410,
    }


class _Follower:
    """One watcher's connection to the log: reads only when the file changed."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._data_version: int | None = None

    def poll(self, after: int, kind: str, namespace: str | None, limit: int) -> ChangeBatch | None:
        """The changes after ``after``, or None when nothing was written since the last poll
        that came back short of ``limit``."""
        (version,) = self._db.execute("PRAGMA data_version").fetchone()
        if version == self._data_version:
            return None
        self._db.execute("BEGIN")
        try:
            batch = read_changes(self._db, after, kind, namespace, limit)
        finally:
            self._db.execute("COMMIT")
        # A full batch may leave more to read without any new write: poll again at once.
        self._data_version = None if len(batch.changes) == limit else version
        return batch

    def previous(self, kind: str, change: Change) -> JSONObject | None:
        body = previous_body(self._db, kind, change)
        return None if body is None else _stored(body)


def watch_events(
    hub: WatchHub,
    request: WatchRequest,
    *,
    render: Callable[[JSONObject], JSONObject] = lambda obj: obj,
    matches: Callable[[JSONObject], bool] | None = None,
    peer_closed: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[bytes]:
    """The event lines of ``request``, until its timeout, the client leaving or the hub
    closing. ``render`` turns each typed object into what the client asked for. A store
    failure mid-stream ends it with an ``ERROR`` event (a 500 ``Status``).

    ``matches`` (label and field selectors) filters as kube-apiserver's watch cache does:
    an object that starts matching is ``ADDED``, one that stops matching is ``DELETED``
    (its previous content at the change's revision), one that matches before and after is
    ``MODIFIED``; the previous content comes from the change log (an object whose previous
    change was trimmed counts as not matching before).

    The first item is empty: a WSGI server sends the status and headers with the first
    item, and a client must have them at once, not with the first change (gunicorn and
    werkzeug write no chunk for an empty item)."""
    yield b""
    try:
        try:
            yield from _events(hub, request, render, matches, peer_closed, clock)
        except sqlite3.Error as exc:
            raise ClusterUnreachable(f"the store {hub.store.path} failed: {exc}") from exc
    except ClusterError as exc:
        code, reason = status_of(exc)
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
        yield _line("ERROR", {**status, "message": str(exc), "reason": reason, "code": code})


def _events(
    hub: WatchHub,
    request: WatchRequest,
    render: Callable[[JSONObject], JSONObject],
    matches: Callable[[JSONObject], bool] | None,
    peer_closed: Callable[[], bool],
    clock: Callable[[], float],
) -> Iterator[bytes]:
    limits = hub.limits
    deadline = clock() + request.timeout_seconds
    kind = request.kind

    def bookmark(revision: int, annotations: dict[str, str] | None = None) -> bytes:
        meta: JSONObject = {"resourceVersion": str(revision)}
        if annotations:
            meta["annotations"] = annotations
        return _line("BOOKMARK", {"kind": kind, "apiVersion": GROUP_VERSION, "metadata": meta})

    def event(kind_of_event: str, body: JSONObject) -> bytes:
        return _line(kind_of_event, render(_typed(body, kind)))

    revision = request.resource_version
    if revision is None or request.initial_events:
        items, token, meta = hub.store.list_page(kind, request.namespace, limits.batch, None)
        listed = int(meta["resourceVersion"])  # the changes after the first page follow
        while True:
            for item in items:
                if matches is None or matches(_typed(item, kind)):
                    yield event("ADDED", item)
            if not token:
                break
            items, token, _ = hub.store.list_page(kind, request.namespace, limits.batch, token)
        if request.initial_events:
            yield bookmark(listed, {"k8s.io/initial-events-end": "true"})
        revision = listed
    with hub.store._connect() as db:
        follower = _Follower(db)
        next_bookmark = clock() + limits.bookmark_seconds
        while True:
            batch = follower.poll(revision, kind, request.namespace, limits.batch)
            if batch is not None:
                if revision < batch.horizon:
                    yield _line("ERROR", expired_status(revision, batch.horizon))
                    return
                for change in batch.changes:
                    filtered = _filtered(follower, kind, change, matches)
                    if filtered is not None:
                        yield event(*filtered)
                revision = batch.seen
                if len(batch.changes) == limits.batch:
                    continue
            now = clock()
            if now >= deadline or hub.stopping.is_set() or peer_closed():
                break
            if request.bookmarks and now >= next_bookmark:
                next_bookmark = now + limits.bookmark_seconds
                yield bookmark(revision)
            time.sleep(min(limits.poll_seconds, max(deadline - now, 0.0)))
    if request.bookmarks and not peer_closed():
        yield bookmark(revision)


def _filtered(
    follower: _Follower,
    kind: str,
    change: Change,
    matches: Callable[[JSONObject], bool] | None,
) -> tuple[str, JSONObject] | None:
    """The event ``change`` is for a watcher with ``matches`` (None: none for it)."""
    body = _stored(change.body)
    if matches is None:
        return change.type, body
    now = matches(_typed(body, kind))
    before = None if change.type == "ADDED" else follower.previous(kind, change)
    was = before is not None and matches(_typed(before, kind))
    if now:
        return ("MODIFIED" if was else "ADDED"), body
    if was and before is not None:
        before.setdefault("metadata", {})["resourceVersion"] = str(change.revision)
        return "DELETED", before
    return None
