"""Prometheus metrics of the admission webhook, in a registry the application owns.

Not the process-global default registry: each application (and each test) gets its own, so
two apps in one process never share counters. The service's one ``/metrics`` exposes them
(summed over gunicorn's workers). Counters only: the verdict cache's hit ratio is PromQL's
``sum(rate(sigverify_admission_cache_lookups_total{result!="miss"}[5m])) /
sum(rate(sigverify_admission_cache_lookups_total[5m]))``, right across workers and restarts.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from sigverify.engine.cache import Lookup

__all__ = ["AdmissionMetrics"]

#: Latency buckets (seconds) around the targets: warm p99 < 20 ms, cold p99 < 50 ms.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class AdmissionMetrics:
    """Admissions by decision and reason, their latency, and verdict cache lookups."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.admissions = Counter(
            "sigverify_admission_requests",
            "Admission reviews answered, by webhook, decision and reason.",
            ["webhook", "decision", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sigverify_admission_duration_seconds",
            "Time to answer one admission review.",
            ["webhook"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "sigverify_admission_cache_lookups",
            "Verdict cache lookups by result (hit, miss, coalesced).",
            ["result"],
            registry=self.registry,
        )
        self.image_cache_lookups = Counter(
            "sigverify_admission_image_cache_lookups",
            "Image API answers taken from the short-lived image cache (hit, coalesced) or "
            "fetched (miss).",
            ["result"],
            registry=self.registry,
        )

        # Each metric's child per label values, as labels() returns it: labels() takes a lock
        # and checks its arguments on every call, and always returns the same child.
        self._children: dict[tuple[object, ...], Any] = {}

    def _child(self, metric: Counter | Histogram, *values: str) -> Any:
        key = (metric, *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def count_lookup(self, lookup: Lookup) -> None:
        self._child(self.cache_lookups, lookup.value).inc()

    def count_image_lookup(self, lookup: Lookup) -> None:
        self._child(self.image_cache_lookups, lookup.value).inc()

    def count_admission(self, webhook: str, decision: str, reason: str, seconds: float) -> None:
        self._child(self.admissions, webhook, decision, reason).inc()
        self._child(self.latency, webhook).observe(seconds)
