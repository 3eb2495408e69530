"""A worker's start-up objects are frozen out of the garbage collector's sight once its app is
built (sigverify/service/server.py); tests/service/test_gunicorn.py checks it in real workers."""

from __future__ import annotations

import gc
import re
import signal
from types import SimpleNamespace
from typing import Any

from sigverify.service.server import _post_worker_init, freeze_start_up_objects
from sigverify.service.state import EXTENSION


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, *args: object) -> None:
        self.lines.append(message % args)


def _tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_objects_alive_at_start_up_are_frozen_and_later_ones_are_not() -> None:
    before: list[object] = ["built at start-up"]
    assert _tracked(before)
    try:
        frozen = freeze_start_up_objects()
        # (The count drops as frozen objects die: a freed temporary may already have gone.)
        assert frozen > 10_000 and 0 < gc.get_freeze_count() <= frozen
        assert not _tracked(before)  # in the permanent generation: never walked
        after: list[object] = ["built by a request"]
        assert _tracked(after)
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0 and _tracked(before)


def test_the_worker_hook_freezes_and_says_how_many() -> None:
    reloads: list[None] = []
    holder = SimpleNamespace(request_reload=lambda: reloads.append(None))
    log = _Log()
    worker: Any = SimpleNamespace(
        wsgi=SimpleNamespace(extensions={EXTENSION: SimpleNamespace(holder=holder)}),
        pid=4321,
        log=log,
        hup_pending=True,
    )
    previous = signal.getsignal(signal.SIGHUP)
    try:
        _post_worker_init(worker)
        [line] = log.lines
        said = re.fullmatch(r"app loaded in worker 4321 \((\d+) start-up objects frozen\)", line)
        assert said is not None and int(said[1]) >= gc.get_freeze_count() > 10_000
        assert reloads == [None]  # the SIGHUP noted while starting
    finally:
        gc.unfreeze()
        signal.signal(signal.SIGHUP, previous)
