"""Prometheus metrics of the HTTP service (and the reconciler when it runs in-process).

Each app gets its own registry (no module-level globals). Under gunicorn, ``sigverify
serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts, and the one ``/metrics``
then aggregates every worker's values (prometheus_client multiprocess mode): the service's
and the admission webhook's counters summed over the workers, whichever worker answers the
scrape, and ``process_*`` summed over the gunicorn master and its workers. Ratios (the
verdict cache's hit ratio) are left to PromQL over the counters: a gauge computed in one
worker describes that worker only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "ProcessTreeCollector", "ServiceMetrics"]

# Summed over the processes; the others are the master's own (start time, fd limit).
_SUMMED = {
    "process_virtual_memory_bytes",
    "process_resident_memory_bytes",
    "process_cpu_seconds",
    "process_open_fds",
}


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid …: comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(parent):
            found.append(int(entry.name))
    return found


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


class ProcessTreeCollector(Collector):
    """``process_*`` of a gunicorn master and all its workers, as one process would report
    them: memory, CPU time and open files summed; start time and fd limit the master's."""

    def __init__(self, master: int) -> None:
        self.master = master

    def collect(self) -> Iterator[Metric]:
        totals: dict[str, float] = {}
        own: dict[str, float] = {}
        kinds: dict[str, tuple[str, str]] = {}
        for pid in [self.master, *_children(self.master)]:
            for metric in ProcessCollector(pid=_constant(pid), registry=None).collect():
                kinds[metric.name] = (metric.type, metric.documentation)
                for sample in metric.samples:
                    if metric.name in _SUMMED:
                        totals[metric.name] = totals.get(metric.name, 0.0) + sample.value
                    elif pid == self.master:
                        own[metric.name] = sample.value
        for name, value in {**totals, **own}.items():
            kind, documentation = kinds[name]
            if kind == "counter":
                yield CounterMetricFamily(name, documentation, value=value)
            else:
                yield GaugeMetricFamily(name, documentation, value=value)


_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServiceMetrics:
    """The counters and histograms the service exports."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._included: list[CollectorRegistry] = []
        self.verifications = Counter(
            "sigverify_verifications",
            "Image verifications, by result (trusted/untrusted) and reason code.",
            ["result", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sigverify_verification_seconds",
            "Time to answer a verification request (image API read, verification, write).",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "sigverify_verdict_cache_lookups",
            "Verdict cache lookups, by outcome (hit, miss, coalesced).",
            ["outcome"],
            registry=self.registry,
        )
        self.api_errors = Counter(
            "sigverify_image_api_errors",
            "Failed image API requests, by error class.",
            ["error"],
            registry=self.registry,
        )
        self.writes = Counter(
            "sigverify_condition_writes",
            "Condition write-backs, by outcome (written, unchanged, gave_up).",
            ["outcome"],
            registry=self.registry,
        )
        self.conflicts = Counter(
            "sigverify_write_conflicts",
            "Image updates that lost an optimistic-concurrency race (409) and were retried.",
            registry=self.registry,
        )
        self.policy_reloads = Counter(
            "sigverify_policy_reloads",
            "Policy and key reloads, by outcome (success, failure).",
            ["outcome"],
            registry=self.registry,
        )

        # Each metric's child per label values, as labels() returns it: labels() takes a lock
        # and checks its arguments on every call, and always returns the same child.
        self._children: dict[tuple[object, ...], Any] = {}

    def child(self, metric: Counter | Histogram, *values: str) -> Any:
        """``metric.labels(*values)``, kept."""
        key = (metric, *values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def include(self, registries: Iterable[CollectorRegistry]) -> None:
        """Also expose these registries (the admission webhook's) on the one ``/metrics``."""
        self._included.extend(registries)

    def exposition(self) -> bytes:
        """The text exposition format: every worker's values in multiprocess mode."""
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            # Every registry's counters are in the shared files, the admission's included.
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(ProcessTreeCollector(os.getppid()))  # the gunicorn master
            return bytes(generate_latest(registry))
        ProcessCollector(registry=registry)
        parts = [generate_latest(r) for r in (self.registry, *self._included, registry)]
        return b"".join(bytes(part) for part in parts)
