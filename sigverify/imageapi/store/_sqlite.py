"""The SQLite file behind the embedded store: schema, connections, transactions, revisions.

- Objects are stored as the JSON text given (lossless: unknown members and member order
  kept) with a ``resourceVersion`` drawn from one monotonic counter, as etcd revisions are.
- Safe under several processes: SQLite in WAL mode, one connection per operation, and every
  read-modify-write inside ``BEGIN IMMEDIATE`` (one writer at a time, readers never blocked).
- Lists are read in pages ordered by ``namespace/name`` (etcd's key order), resumed from a
  ``continue`` token: each page is an index range scan from the token's key (the
  ``objects_by_key`` expression index, or the primary key within one namespace), so a page
  costs the same at the start of a million objects as at the end. ``remainingItemCount``
  is counted once, on the first page, and carried in the token (``left``), as etcd answers
  it from the first page's snapshot; a token without ``left`` (written before) is still
  read, and its page counts once more.
- Every write is also a row of the change log (:mod:`sigverify.imageapi.store._changes`):
  the object as written at its revision, what watches stream. A write may be a dry run
  (``_write(dry_run=True)``): everything is checked inside the transaction, then rolled back.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sigverify.imageapi.errors import BadRequestError, ClusterServerError, ClusterUnreachable
from sigverify.imageapi.protocol import JSONObject
from sigverify.imageapi.store._changes import (
    CHANGE_LOG_ROW,
    CHANGES_SCHEMA,
    DEFAULT_HISTORY,
    record_change,
    set_history,
)
from sigverify.imageapi.store._objects import _meta, _untyped
from sigverify.limits import MAX_ENVELOPE_DEPTH
from sigverify.strict_input import StrictInputError, Wording, read_json

#: Seconds a writer waits for another process's write lock before failing.
LOCK_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    resource_version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO revision (id, value) VALUES (1, 1000);
CREATE INDEX IF NOT EXISTS objects_by_key ON objects (kind, namespace || '/' || name);
"""


def _dumps(obj: JSONObject) -> str:
    # No NaN or Infinity (a float that overflowed on the way in): what is written must read
    # back through the strict reader.
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        raise BadRequestError(f"the object holds a number JSON cannot carry: {exc}") from exc


# Stored bodies were written by _dumps; they are read as strictly as anything from outside,
# since the file may be shared, and a damaged one must fail as the store failing.
_STORED = Wording(
    invalid_json="not valid JSON",
    invalid_yaml="not valid JSON",
    not_a_number="{name} is not a JSON number",
    duplicate_key="duplicate key {key!r}",
    too_deep=f"nested deeper than {MAX_ENVELOPE_DEPTH} levels",
    empty="empty",
)


def _stored(body: str) -> JSONObject:
    try:
        value = read_json(body, _STORED, max_depth=MAX_ENVELOPE_DEPTH)
    except StrictInputError as exc:
        raise ClusterServerError(f"the store holds a damaged object: {exc.located}") from exc
    if not isinstance(value, dict):
        raise ClusterServerError("the store holds a damaged object: not a JSON object")
    return value


def _encode_token(key: str, revision: int, left: int) -> str:
    raw = json.dumps({"v": 1, "rv": revision, "start": key, "left": left}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_TOKEN = Wording(
    invalid_json="not JSON",
    invalid_yaml="not JSON",
    not_a_number="{name} is not a JSON number",
    duplicate_key="duplicate key {key!r}",
    too_deep="nested too deep",
    empty="empty",
)


def _decode_token(token: str) -> tuple[str, int | None]:
    """The key to resume after, and the items left after it when the token says."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = read_json(raw, _TOKEN, max_depth=1)
        start = data["start"]
        if data.get("v") != 1 or not isinstance(start, str):
            raise ValueError("unknown continue token version")
        left = data.get("left")
        if left is not None and (isinstance(left, bool) or not isinstance(left, int) or left < 0):
            raise ValueError("left must be a count")
    except StrictInputError as exc:
        raise BadRequestError(f"continue key is not valid: {exc.located}") from exc
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadRequestError(f"continue key is not valid: {exc}") from exc
    return start, left


def _range(kind: str, namespace: str | None, start: str) -> tuple[str, list[Any], str] | None:
    """WHERE clause, arguments and ORDER BY of the keys after ``start``, each an index range.

    None when no key of ``namespace`` can follow ``start``. Within one namespace the key is
    ``namespace/`` + name, so its order is the name's and the primary key serves.
    """
    if namespace is None:
        return "kind = ? AND (namespace || '/' || name) > ?", [kind, start], _KEY
    prefix = namespace + "/"
    if start.startswith(prefix):
        after = start[len(prefix) :]
    elif start < prefix:
        after = None  # every key of the namespace follows start
    else:
        return None  # start is past the whole namespace
    if after is None:
        return "kind = ? AND namespace = ?", [kind, namespace], "name"
    return "kind = ? AND namespace = ? AND name > ?", [kind, namespace, after], "name"


_KEY = "namespace || '/' || name"


class SQLiteObjects:
    """An SQLite file of JSON objects keyed by kind, namespace and name."""

    def __init__(self, path: str | Path, *, history: int | None = None) -> None:
        self.path = Path(path)
        self._local = threading.local()
        try:
            # A folder made for the store is private (the default one is the state folder,
            # which also holds the generated admin token and CA key: 0700, as authn makes it).
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                db.executescript(CHANGES_SCHEMA)
                db.execute(CHANGE_LOG_ROW, (DEFAULT_HISTORY,))
                if history is not None:
                    set_history(db, history)
        except (OSError, sqlite3.Error) as exc:
            raise ClusterUnreachable(f"cannot open the store {self.path}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT_SECONDS * 1000)}")
        except BaseException:
            db.close()
            raise
        return db

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, opened on first use and kept between operations.

        Opening one (the file, its schema, the WAL index) costs more than a read by key, and
        a service thread reads on every request. Each thread has its own (sqlite3's rule),
        and so has each process: one inherited through a fork is never used (SQLite's rule).
        A connection still in a transaction when an operation ends, or that failed, is
        closed and not reused; an operation within another gets a connection of its own.
        """
        local = self._local
        held: tuple[int, sqlite3.Connection] | None = getattr(local, "held", None)
        if held is None or held[0] != os.getpid() or getattr(local, "busy", False):
            if held is not None and held[0] == os.getpid():  # busy: an operation within one
                db = self._open()
                try:
                    yield db
                finally:
                    db.close()
                return
            held = (os.getpid(), self._open())
            local.held = held
        db = held[1]
        local.busy = True
        clean = False
        try:
            yield db
            clean = not db.in_transaction
        finally:
            local.busy = False
            if not clean:
                local.held = None
                db.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._connect() as db:
                db.execute("BEGIN")
                try:
                    yield db
                finally:
                    db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise ClusterUnreachable(f"the store {self.path} failed: {exc}") from exc

    @contextmanager
    def _write(self, *, dry_run: bool = False) -> Iterator[sqlite3.Connection]:
        """A read-modify-write transaction: ``BEGIN IMMEDIATE`` takes the write lock first.

        ``dry_run``: rolled back at the end, so every check ran and nothing is kept.
        """
        try:
            with self._connect() as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("ROLLBACK" if dry_run else "COMMIT")
        except sqlite3.Error as exc:
            raise ClusterUnreachable(f"the store {self.path} failed: {exc}") from exc

    def ping(self) -> None:
        with self._read() as db:
            _revision(db)

    def list_page(
        self,
        kind: str,
        namespace: str | None,
        limit: int | None,
        continue_token: str | None,
    ) -> tuple[list[JSONObject], str | None, JSONObject]:
        """One page of a list, its ``continue`` token, and the list's ``metadata``."""
        start, left = _decode_token(continue_token) if continue_token else ("", None)
        size = limit if limit is not None and limit > 0 else 0
        paged = size > 0
        selected = _range(kind, namespace, start)
        with self._read() as db:
            revision = _revision(db)
            rows: list[tuple[str, str]] = []
            if selected is not None:
                where, args, order = selected
                query = f"SELECT {_KEY}, body FROM objects WHERE {where} ORDER BY {order}"  # noqa: S608
                if paged:
                    rows = db.execute(query + " LIMIT ?", [*args, size + 1]).fetchall()
                else:
                    rows = db.execute(query, args).fetchall()
                if paged and left is None and len(rows) > size:
                    # Counted once per listing (the first page), never per page.
                    left = db.execute(
                        f"SELECT COUNT(*) FROM objects WHERE {where}",  # noqa: S608
                        args,
                    ).fetchone()[0]
            remaining = 0
            token = None
            if paged and len(rows) > size:
                rows = rows[:size]
                remaining = max((left or 0) - size, 0)
                token = _encode_token(rows[-1][0], revision, remaining)
        items = [_stored(body) for _, body in rows]
        meta: JSONObject = {"resourceVersion": str(revision)}
        if token is not None:
            meta["continue"] = token
            meta["remainingItemCount"] = remaining
        return items, token, meta


def _load(db: sqlite3.Connection, kind: str, namespace: str, name: str) -> JSONObject | None:
    row = db.execute(
        "SELECT body FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
        (kind, namespace, name),
    ).fetchone()
    if row is None:
        return None
    return _stored(row[0])


def _next_revision(db: sqlite3.Connection) -> int:
    db.execute("UPDATE revision SET value = value + 1 WHERE id = 1")
    value: int = db.execute("SELECT value FROM revision WHERE id = 1").fetchone()[0]
    return value


def _revision(db: sqlite3.Connection) -> int:
    value: int = db.execute("SELECT value FROM revision WHERE id = 1").fetchone()[0]
    return value


def _save(db: sqlite3.Connection, kind: str, namespace: str, obj: JSONObject) -> JSONObject:
    """Write ``obj`` at the next revision, and the change (ADDED or MODIFIED) to the log."""
    revision = _next_revision(db)
    meta = _meta(obj)
    meta["resourceVersion"] = str(revision)
    stored = _untyped(obj)
    text = _dumps(stored)
    key = (kind, namespace, meta["name"])
    updated = db.execute(
        "UPDATE objects SET resource_version = ?, body = ? "
        "WHERE kind = ? AND namespace = ? AND name = ?",
        (revision, text, *key),
    ).rowcount
    if not updated:
        db.execute(
            "INSERT INTO objects (kind, namespace, name, resource_version, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (*key, revision, text),
        )
    record_change(db, revision, "MODIFIED" if updated else "ADDED", *key, text)
    return stored
