"""Admission metrics: decisions by reason, latency, verdict-cache hits — counted exactly."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sigverify.imageapi.openshift import ClusterOptions, connect
from tests.admission.builders import pod_spec, review, workload
from tests.admission.world import EVIL, WEB, get_text, post, service_with_webhook, serving


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_metrics_count_decisions_latency_and_cache(store_url: str, admission_policy: Path) -> None:
    api = connect(ClusterOptions(server=store_url, timeout=5))
    app, controller = service_with_webhook(admission_policy, api)
    trusted = review(workload("Pod", pod_spec((f"quay.io/acme/web@{WEB}",))))
    untrusted = review(workload("Pod", pod_spec((f"quay.io/acme/evil@{EVIL}",))))
    with serving(app) as url:
        for document in (trusted, trusted, untrusted):
            assert post(f"{url}/admission/validate", document)[0] == 200
        assert post(f"{url}/admission/mutate", trusted)[0] == 200
        samples = _samples(get_text(f"{url}/metrics"))  # the service's one /metrics
        missing = get_status(f"{url}/admission/metrics")
    controller.close()

    def admissions(webhook: str, decision: str, reason: str) -> float:
        labels = (("decision", decision), ("reason", reason), ("webhook", webhook))
        return samples[("sigverify_admission_requests_total", labels)]

    assert admissions("validate", "allow", "Trusted") == 2
    assert admissions("validate", "deny", "UntrustedKey") == 1
    assert admissions("mutate", "allow", "NothingToPin") == 1
    assert samples[("sigverify_admission_duration_seconds_count", (("webhook", "validate"),))] == 3
    assert samples[("sigverify_admission_duration_seconds_count", (("webhook", "mutate"),))] == 1
    lookups = "sigverify_admission_cache_lookups_total"
    assert samples[(lookups, (("result", "miss"),))] == 2
    assert samples[(lookups, (("result", "hit"),))] == 1
    # the hit ratio is PromQL's, from these counters: no gauge computed in one worker
    assert not any(name == "sigverify_admission_cache_hit_ratio" for name, _ in samples)
    assert missing == 404  # one /metrics
    assert samples[("process_resident_memory_bytes", ())] > 0
