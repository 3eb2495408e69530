"""What one service process holds: settings, image API, policy, cache, metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sigverify.core.verdict import ImageVerdict
from sigverify.engine.cache import VerdictCache
from sigverify.imageapi.protocol import ImageAPI
from sigverify.policyfile.holder import PolicyHolder
from sigverify.service.metrics import ServiceMetrics
from sigverify.service.readiness import UpstreamProbe
from sigverify.settings import Settings
from sigverify.writeback.writer import ConditionWriter

__all__ = ["EXTENSION", "CachedAnswer", "ServiceState"]

#: The key of the state in ``app.extensions``.
EXTENSION = "sigverify"


class CachedAnswer(NamedTuple):
    """A verification answer as the verdict cache keeps it (sigverify/service/views.py).

    What the metrics count and the response's JSON text, rendered once: a tuple of a bool,
    a string and bytes, which the garbage collector stops walking (a full collection's time
    grows with every object a cached verdict would keep alive). ``verdict`` is kept only
    for a body the schema's dump would change (never seen: kept for that general path).
    """

    trusted: bool
    reason: str
    text: bytes | None
    verdict: ImageVerdict | None


@dataclass
class ServiceState:
    settings: Settings
    api: ImageAPI
    api_kind: str
    holder: PolicyHolder
    metrics: ServiceMetrics
    cache: VerdictCache[CachedAnswer]
    clock: Callable[[], datetime]
    upstream: UpstreamProbe

    def writer(self) -> ConditionWriter:
        """A condition writer over the current verifier (a reload applies to the next one)."""
        return ConditionWriter(
            self.api,
            self.holder.verifier(),
            probe_interval=timedelta(seconds=self.settings.probe_interval_seconds),
            max_attempts=self.settings.write_attempts,
            clock=self.clock,
        )
