"""Operating ``sigverify serve`` for real (gunicorn, two workers): one JSON log line per
admission decision, no access log unless asked, and one ``/metrics`` whose counters are the
sum over the workers — the same on every scrape, whichever worker answers it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.admission.builders import pod_spec, review, workload
from tests.service.processes import Served, poll, serve

pytestmark = pytest.mark.slow

REQUESTS = 12
# The text format's line start (sigverify.logs.TextFormatter).
TEXT_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \[\d+\] \[[A-Z]+\] ")
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"registry.example.com/demo/app@{DIGEST}"  # no Image of that digest: ImageNotFound


def admit(served: Served, index: int) -> dict[str, Any]:
    document = review(workload("Pod", pod_spec((IMAGE,)), namespace="team"), uid=f"uid-{index:04d}")
    status, body = served.request("POST", "/admission/validate", body=document)
    assert status == 200, body
    response: dict[str, Any] = body["response"]
    return response


def admissions_counted(served: Served) -> float:
    status, text = served.request("GET", "/metrics")
    assert status == 200
    assert "process_resident_memory_bytes" in text  # process metrics, master and workers
    assert "sigverify_admission_cache_hit_ratio" not in text  # a ratio is PromQL's
    return sum(
        float(value)
        for value in re.findall(
            r"^sigverify_admission_requests_total\{[^}]*webhook=\"validate\"[^}]*\} (\S+)$",
            text,
            re.M,
        )
    )


def json_lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    return ["--store", str(tmp_path / "store.db"), "--workers", "2", "--log-format", "json"]


def test_counters_are_summed_over_workers_on_every_scrape(tmp_path: Path, args: list[str]) -> None:
    with serve(args, cwd=tmp_path) as served:
        for index in range(REQUESTS):
            assert admit(served, index)["allowed"] is False
        # twice in a row: each scrape may be answered by either worker
        assert [admissions_counted(served) for _ in range(4)] == [REQUESTS] * 4


def test_one_json_line_per_admission_decision_and_no_access_log(
    tmp_path: Path, args: list[str]
) -> None:
    with serve(args, cwd=tmp_path) as served:
        for index in range(3):
            admit(served, index)
        assert poll(
            lambda: sum(e["message"].startswith("admission ") for e in json_lines(served.log)) >= 3
        )
        log = served.log
    decisions = [e for e in json_lines(log) if e["message"].startswith("admission ")]
    assert sorted(e["uid"] for e in decisions) == ["uid-0000", "uid-0001", "uid-0002"]
    entry = decisions[0]
    assert entry["logger"] == "sigverify.admission" and entry["level"] == "info"
    assert entry["message"] == "admission deny"
    assert {k: entry[k] for k in ("webhook", "namespace", "kind", "operation")} == {
        "webhook": "validate",
        "namespace": "team",
        "kind": "Pod",
        "operation": "CREATE",
    }
    assert (entry["decision"], entry["allowed"], entry["reason"]) == (
        "deny",
        False,
        "ImageNotFound",
    )
    (image,) = entry["images"]
    assert image == {
        "image": IMAGE,
        "digest": DIGEST,
        "result": "ImageNotFound",
        "mode": "enforce",
    }
    assert isinstance(entry["latencyMs"], float) and entry["latencyMs"] >= 0
    text = log.read_text()
    assert "/admission/validate HTTP" not in text  # no access log unless asked
    # every log line is JSON, gunicorn's own included: none in the text format
    text_lines = [line for line in text.splitlines() if TEXT_LOG_LINE.match(line)]
    assert text_lines == []
    assert len(json_lines(log)) >= 4  # gunicorn's start, the decisions, …


def test_the_access_log_when_asked(tmp_path: Path, args: list[str]) -> None:
    with serve([*args, "--access-log"], cwd=tmp_path) as served:
        admit(served, 0)
        assert poll(lambda: "/admission/validate HTTP" in served.log.read_text())
