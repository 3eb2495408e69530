"""The store's change log: every write as a row, at its revision, for watches to stream.

Kubernetes watches replay etcd's history from a ``resourceVersion``; etcd keeps that history
until it is compacted, and a watch from before the compaction gets 410 Gone. The store keeps
the same in SQLite, so every process (gunicorn workers, ``sigverify store load``) sees every
other's writes:

- ``changes``: one row per revision (a revision is drawn only by a write), with the event
  type (``ADDED``/``MODIFIED``) and the object's text as written at that revision;
- ``change_log.horizon``: every change after this revision is in ``changes``; a watch from
  an older one cannot be served (410). It starts at the revision the log was created at, so
  a store file written before the log existed serves no watch from its older revisions;
- ``change_log.size``: how many changes are kept (a property of the file, so all processes
  agree); older rows are deleted every :data:`_TRIM_EVERY` revisions and the horizon moved.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = [
    "CHANGES_SCHEMA",
    "CHANGE_LOG_ROW",
    "DEFAULT_HISTORY",
    "Change",
    "ChangeBatch",
    "read_changes",
]

#: Changes a new store file keeps (``ImageStore(history=N)`` changes it for the file).
DEFAULT_HISTORY = 1000
#: Old changes are deleted once every this many revisions (the log holds up to size + this).
_TRIM_EVERY = 64

CHANGES_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    revision INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_key ON changes (kind, namespace, name, revision);
CREATE TABLE IF NOT EXISTS change_log (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    horizon INTEGER NOT NULL,
    size INTEGER NOT NULL
);
"""
#: The log's row, made once per file: its horizon is the revision the log starts at.
CHANGE_LOG_ROW = (
    "INSERT OR IGNORE INTO change_log (id, horizon, size) "
    "SELECT 1, value, ? FROM revision WHERE id = 1"
)


def set_history(db: sqlite3.Connection, size: int) -> None:
    """Keep ``size`` changes from now on (at least 1)."""
    if size < 1:
        raise ValueError("the change log must keep at least one change")
    db.execute("UPDATE change_log SET size = ? WHERE id = 1", (size,))


def record_change(
    db: sqlite3.Connection,
    revision: int,
    kind_of_event: str,
    kind: str,
    namespace: str,
    name: str,
    body: str,
) -> None:
    """Log one write (inside the writer's transaction); trim the log now and then."""
    db.execute(
        "INSERT INTO changes (revision, type, kind, namespace, name, body) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (revision, kind_of_event, kind, namespace, name, body),
    )
    if revision % _TRIM_EVERY:
        return
    horizon, size = db.execute("SELECT horizon, size FROM change_log WHERE id = 1").fetchone()
    cutoff = revision - size
    if cutoff > horizon:
        db.execute("DELETE FROM changes WHERE revision <= ?", (cutoff,))
        db.execute("UPDATE change_log SET horizon = ? WHERE id = 1", (cutoff,))


@dataclass(frozen=True)
class Change:
    revision: int
    type: str
    namespace: str
    name: str
    body: str


@dataclass(frozen=True)
class ChangeBatch:
    """What one poll of the log found."""

    #: The changes of the kind (and namespace) after the revision asked for, oldest first.
    changes: tuple[Change, ...]
    #: Every change up to this revision has been looked at (the store's revision, or the
    #: last change returned when the batch was full).
    seen: int
    #: The log's horizon: a watch from an older revision cannot be served.
    horizon: int


def read_changes(
    db: sqlite3.Connection, after: int, kind: str, namespace: str | None, limit: int
) -> ChangeBatch:
    """At most ``limit`` changes after revision ``after`` (one snapshot: call in a read)."""
    (current,) = db.execute("SELECT value FROM revision WHERE id = 1").fetchone()
    (horizon,) = db.execute("SELECT horizon FROM change_log WHERE id = 1").fetchone()
    query = (
        "SELECT revision, type, namespace, name, body FROM changes "
        "WHERE revision > ? AND revision <= ?"
    )
    args: list[object] = [after, current]
    query += " AND kind = ?"
    args.append(kind)
    if namespace is not None:
        query += " AND namespace = ?"
        args.append(namespace)
    rows = db.execute(query + " ORDER BY revision LIMIT ?", [*args, limit]).fetchall()
    changes = tuple(Change(*row) for row in rows)
    seen = changes[-1].revision if len(changes) == limit else max(current, after)
    return ChangeBatch(changes, seen, horizon)


def previous_body(db: sqlite3.Connection, kind: str, change: Change) -> str | None:
    """The object's text at its change before ``change``, if the log still holds it."""
    row = db.execute(
        "SELECT body FROM changes WHERE kind = ? AND namespace = ? AND name = ? "
        "AND revision < ? ORDER BY revision DESC LIMIT 1",
        (kind, change.namespace, change.name, change.revision),
    ).fetchone()
    return None if row is None else str(row[0])
