"""The reconciler: keep every Image's signature conditions current.

One pass lists the Images page by page (``limit``/``continue``), verifies each signed one and
records the verdict with the write-back rules (:mod:`sigverify.writeback.writer`: only when
something changed or the probe is older than the interval; conflicts retried). A failure on
one Image is counted and the pass goes on; a failure of the list itself ends the pass.
Passes repeat on an interval until stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sigverify.core.clock import utcnow
from sigverify.engine.protocol import ImageVerifier
from sigverify.errors import InputError, SigverifyError
from sigverify.imageapi.protocol import ImageAPI
from sigverify.writeback.writer import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_PROBE_INTERVAL,
    ConditionWriter,
    WriteConflictError,
)

__all__ = ["MAX_PAGES", "PassSummary", "Reconciler"]

#: Pages one pass reads at most (a runaway ``continue`` chain cannot loop forever).
MAX_PAGES = 100_000


@dataclass
class PassSummary:
    """What one pass did."""

    started: datetime
    images: int = 0
    unsigned: int = 0
    written: int = 0
    unchanged: int = 0
    trusted: int = 0
    untrusted: int = 0
    conflicts: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        return (
            f"{self.images} images ({self.unsigned} unsigned): {self.written} written, "
            f"{self.unchanged} unchanged, {len(self.failed)} failed; {self.trusted} trusted, "
            f"{self.untrusted} not trusted; {self.conflicts} conflicts retried "
            f"({self.seconds:.1f}s)"
        )


class Reconciler:
    """Verifies and records every Image of an ImageAPI, pass after pass."""

    def __init__(
        self,
        api: ImageAPI,
        verifier: Callable[[], ImageVerifier],
        *,
        page_size: int = 100,
        probe_interval: timedelta = DEFAULT_PROBE_INTERVAL,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], datetime] = utcnow,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if page_size < 1:
            raise InputError("the page size must be at least 1")
        self.api = api
        self._verifier = verifier
        self.page_size = page_size
        self.probe_interval = probe_interval
        self.max_attempts = max_attempts
        self._clock = clock
        self._progress = progress or (lambda _: None)

    def run_pass(self) -> PassSummary:
        """One pass over every Image. Raises only when the list itself fails."""
        started = time.monotonic()
        summary = PassSummary(started=self._clock())
        writer = ConditionWriter(
            self.api,
            self._verifier(),
            probe_interval=self.probe_interval,
            max_attempts=self.max_attempts,
            clock=self._clock,
        )
        token: str | None = None
        for _ in range(MAX_PAGES):
            items, token = self.api.list_images(limit=self.page_size, continue_token=token)
            for item in items:
                self._one(writer, item, summary)
            if token is None:
                break
        summary.seconds = time.monotonic() - started
        return summary

    def _one(self, writer: ConditionWriter, item: dict[str, object], summary: PassSummary) -> None:
        summary.images += 1
        metadata = item.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not name:
            summary.failed.append(("?", "an Image without metadata.name in the list"))
            return
        if not item.get("signatures"):
            summary.unsigned += 1
            return
        try:
            result = writer.record(name, read=item)
        except WriteConflictError as exc:
            summary.conflicts += exc.attempts
            summary.failed.append((name, str(exc)))
            self._progress(f"failed     {name}: {exc}")
            return
        except SigverifyError as exc:
            summary.failed.append((name, str(exc)))
            self._progress(f"failed     {name}: {exc}")
            return
        summary.conflicts += result.conflicts
        verdict = result.verdict
        if verdict.trusted:
            summary.trusted += 1
        else:
            summary.untrusted += 1
        if result.written:
            summary.written += 1
        else:
            summary.unchanged += 1
        state = "written  " if result.written else "unchanged"
        self._progress(f"{state}  {name}  {verdict.reason.value}")

    def run(
        self,
        *,
        interval: float,
        passes: int | None = None,
        stop: threading.Event | None = None,
        on_pass: Callable[[int, PassSummary | None, SigverifyError | None], None] | None = None,
    ) -> list[PassSummary]:
        """Passes every ``interval`` seconds, ``passes`` times (forever when None) or until
        ``stop`` is set. A pass whose list failed is reported to ``on_pass`` and retried at
        the next interval."""
        stop = stop or threading.Event()
        done: list[PassSummary] = []
        number = 0
        while not stop.is_set() and (passes is None or number < passes):
            number += 1
            try:
                summary = self.run_pass()
            except SigverifyError as exc:
                if on_pass is not None:
                    on_pass(number, None, exc)
            else:
                done.append(summary)
                if on_pass is not None:
                    on_pass(number, summary, None)
            if passes is not None and number >= passes:
                break
            stop.wait(interval)
        return done
