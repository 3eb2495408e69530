"""The embedded store keeps one SQLite connection per thread and process (issue 12).

Opening a connection costs more than a read by key, so a thread's is kept between
operations; what must not be shared never is: threads have their own, a forked process opens
its own, an operation within another gets one of its own, and a connection left in a
transaction (an operation that failed) is closed and replaced.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from sigverify.imageapi.errors import NotFoundError
from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.builders import image


def _held(store: ImageStore) -> sqlite3.Connection:
    held = store._local.held
    assert held is not None
    return held[1]


def test_a_thread_keeps_its_connection(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s.db")
    document = image("a")
    store.put_object(document)
    first = _held(store)
    assert store.get_image(document["metadata"]["name"])["metadata"]["name"]
    assert _held(store) is first


def test_threads_have_connections_of_their_own(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s.db")
    documents = [image(f"t{i}") for i in range(8)]
    seen: list[sqlite3.Connection] = []
    errors: list[BaseException] = []

    def work(document: dict[str, object]) -> None:
        try:
            store.put_object(document)
            for _ in range(20):
                store.get_image(document["metadata"]["name"])  # type: ignore[index]
            seen.append(_held(store))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in documents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len({id(connection) for connection in seen}) == len(documents)
    assert store.counts()["images"] == len(documents)


def test_a_failed_operation_does_not_leave_its_connection(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s.db")
    store.put_object(image("a"))
    first = _held(store)
    with pytest.raises(RuntimeError), store._write():
        raise RuntimeError("boom")
    with pytest.raises(sqlite3.ProgrammingError):  # closed
        first.execute("SELECT 1")
    with pytest.raises(NotFoundError):
        store.get_image(image("missing")["metadata"]["name"])
    assert _held(store) is not first


def test_an_operation_within_another_has_its_own_connection(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s.db")
    document = image("a")
    store.put_object(document)
    with store._read() as outer:
        inner_name = store.get_image(document["metadata"]["name"])["metadata"]["name"]
        assert outer is _held(store)
    assert inner_name == document["metadata"]["name"]
    assert store.get_image(document["metadata"]["name"])


def _read_in_child(store: ImageStore, name: str, answer: multiprocessing.Queue[object]) -> None:
    parent = store._local.held
    got = store.get_image(name)["metadata"]["name"]
    answer.put((got, parent is not None and _held(store) is not parent[1]))


def test_a_forked_process_opens_its_own(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s.db")
    document = image("a")
    store.put_object(document)
    assert store._local.held is not None
    context = multiprocessing.get_context("fork")
    answer: multiprocessing.Queue[object] = context.Queue()
    child = context.Process(
        target=_read_in_child, args=(store, document["metadata"]["name"], answer)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert answer.get(timeout=5) == (document["metadata"]["name"], True)
    assert store.get_image(document["metadata"]["name"])  # the parent's still works
