"""Prometheus metrics of the HTTP service (and the reconciler when it runs in-process).

Each app gets its own registry (no module-level globals). Under gunicorn, ``sigverify
serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts, and ``/metrics`` then
aggregates every worker's values (prometheus_client multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

__all__ = ["CONTENT_TYPE_LATEST", "ServiceMetrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServiceMetrics:
    """The counters and histograms the service exports."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
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

    def exposition(self) -> bytes:
        """The text exposition format: every worker's values in multiprocess mode."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return bytes(generate_latest(registry))
        return bytes(generate_latest(self.registry))
