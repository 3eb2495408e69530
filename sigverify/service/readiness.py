"""The image API's reachability as ``/readyz`` reports it: from a cached state, within a second.

A readiness probe must not wait on the API server: with a slow one, every replica would be
marked unready together and, with ``failurePolicy: Fail``, no pod could be created. So the
state is refreshed in the background (at most one ping in flight), ``/readyz`` waits for a
refresh at most ``readiness_wait_seconds`` (below a second) and otherwise answers from the last
known state. Before any ping has answered the API counts as unreachable (fail closed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sigverify.errors import SigverifyError

__all__ = ["UpstreamProbe", "UpstreamState"]

_log = logging.getLogger("sigverify.service")


@dataclass(frozen=True)
class UpstreamState:
    reachable: bool
    error: str | None


_NOT_YET = UpstreamState(False, "the image API has not answered a readiness ping yet")


class UpstreamProbe:
    """Pings the image API in a background thread; :meth:`state` never blocks for long."""

    def __init__(
        self,
        ping: Callable[[], None],
        *,
        refresh_seconds: float,
        wait_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ping = ping
        self._refresh = refresh_seconds
        self._wait = wait_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state: UpstreamState | None = None
        self._checked = 0.0
        self._inflight: threading.Event | None = None

    def state(self) -> UpstreamState:
        """The last known state; a stale one starts a refresh, waited for a short while."""
        with self._lock:
            stale = self._state is None or self._clock() - self._checked >= self._refresh
            if stale and self._inflight is None:
                self._inflight = threading.Event()
                threading.Thread(
                    target=self._refresh_now, args=(self._inflight,), daemon=True
                ).start()
            pending = self._inflight
        if pending is not None:
            pending.wait(self._wait)
        with self._lock:
            return self._state or _NOT_YET

    def _refresh_now(self, done: threading.Event) -> None:
        try:
            self._ping()
            state = UpstreamState(True, None)
        except SigverifyError as exc:
            state = UpstreamState(False, str(exc))
        except Exception as exc:  # a ping that breaks is an unreachable API, never a crash
            _log.exception("the image API readiness ping failed")
            state = UpstreamState(False, f"the readiness ping failed: {type(exc).__name__}")
        with self._lock:
            self._state = state
            self._checked = self._clock()
            self._inflight = None
        done.set()
