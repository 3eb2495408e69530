"""A progress line on stderr while an audit runs, when stderr is a terminal.

``images done/total`` when the total is known (else the count), a bar, and the rate. It is
redrawn in place (carriage return) at most every ``interval`` seconds, and wiped when the
audit ends, so the report that follows starts on a clean line. When stderr is not a terminal
(a pipe, a file, CI) nothing is written at all: :func:`progress_for` gives None.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar", "progress_for"]

_BAR_WIDTH = 24


class ProgressBar:
    """Call it with ``(done, total)`` after each image; :meth:`close` wipes the line."""

    def __init__(
        self,
        stream: TextIO,
        *,
        label: str = "images",
        interval: float = 0.1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.interval = interval
        self.monotonic = monotonic
        self.started = monotonic()
        self._last_drawn: float | None = None
        self._width = 0

    def line(self, done: int, total: int | None, now: float) -> str:
        elapsed = now - self.started
        rate = f"{done / elapsed:.1f}/s" if elapsed > 0 else "-/s"
        if total:
            filled = min(_BAR_WIDTH, _BAR_WIDTH * done // total)
            bar = "#" * filled + "." * (_BAR_WIDTH - filled)
            return f"audit [{bar}] {done}/{total} {self.label}  {rate}"
        return f"audit {done} {self.label}  {rate}"

    def __call__(self, done: int, total: int | None = None) -> None:
        now = self.monotonic()
        finished = total is not None and done >= total
        if self._last_drawn is not None and now - self._last_drawn < self.interval and not finished:
            return
        self._last_drawn = now
        text = self.line(done, total, now)
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        if self._last_drawn is not None:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._last_drawn = None


def progress_for(stream: TextIO, label: str = "images") -> ProgressBar | None:
    """A bar on ``stream`` when it is a terminal, else None (nothing is written)."""
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return None
    return ProgressBar(stream, label=label) if interactive else None
