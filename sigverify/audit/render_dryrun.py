"""Rendering the two dry runs — a NEW policy's changes (:mod:`sigverify.audit.compare`) and
what ``enforce`` would deny (:mod:`sigverify.audit.workloads`) — as text, JSON and CSV.

No decisions here. The JSON objects are the report's ``comparison`` and ``workloads``
members; each CSV is one table of its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sigverify.audit.compare import Outcome, PolicyChange, PolicyComparison
from sigverify.audit.render import text_table

if TYPE_CHECKING:  # the workload judging loads the admission webhook's modules (Flask)
    from sigverify.audit.workloads import (
        NamespaceRow,
        WorkloadChange,
        WorkloadComparison,
        WorkloadReport,
    )

__all__ = [
    "COMPARISON_CSV_COLUMNS",
    "WORKLOADS_COMPARISON_CSV_COLUMNS",
    "WORKLOADS_CSV_COLUMNS",
    "comparison_to_csv",
    "comparison_to_json",
    "comparison_to_text",
    "workloads_comparison_to_csv",
    "workloads_to_csv",
    "workloads_to_json",
    "workloads_to_text",
]

#: One row per image whose outcome changes (``change``: newly-denied, newly-admitted).
COMPARISON_CSV_COLUMNS = (
    "change",
    "image",
    "reference",
    "tags",
    "current_trusted",
    "current_reason",
    "current_message",
    "new_trusted",
    "new_reason",
    "new_message",
)
#: One row per container image enforce would deny, and one (no workload) per namespace
#: where nothing would be: every row carries its namespace's readiness.
WORKLOADS_CSV_COLUMNS = (
    "namespace",
    "ready_for_enforce",
    "kind",
    "name",
    "container",
    "image",
    "reason",
    "message",
)
#: With both dry runs: one row per container image whose fate under enforce changes.
WORKLOADS_COMPARISON_CSV_COLUMNS = (
    "change",
    "namespace",
    "kind",
    "name",
    "container",
    "image",
    "current_admitted",
    "current_reason",
    "current_message",
    "new_admitted",
    "new_reason",
    "new_message",
)


def _shown(text: str) -> str:
    """``text`` for a terminal: control characters (from a hostile manifest's container name
    or image) escaped as JSON escapes them, never sent raw."""
    return text if text.isprintable() else json.dumps(text, ensure_ascii=False)[1:-1]


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {"trusted": outcome.trusted, "reason": outcome.reason, "message": outcome.message}


def _change_json(change: PolicyChange) -> dict[str, Any]:
    return {
        "image": change.image,
        "reference": change.reference,
        "tags": [str(tag) for tag in change.tags],
        "current": _outcome_json(change.current),
        "new": _outcome_json(change.new),
    }


def comparison_to_json(comparison: PolicyComparison) -> dict[str, Any]:
    """The report's ``comparison`` member."""
    return {
        "policy": comparison.policy,
        "comparePolicy": comparison.compare_policy,
        "images": comparison.images,
        "unchanged": comparison.unchanged,
        "newlyDenied": [_change_json(c) for c in comparison.newly_denied],
        "newlyAdmitted": [_change_json(c) for c in comparison.newly_admitted],
        "failures": [
            {"subject": f.subject, "message": f.message, "tags": [str(t) for t in f.tags]}
            for f in comparison.failures
        ],
    }


def _yes(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "exempt"}[value]


def _csv(header: tuple[str, ...], rows: Iterable[Iterable[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _outcome_cells(outcome: Outcome) -> tuple[str, str, str]:
    return _yes(outcome.trusted), outcome.reason, outcome.message


def comparison_to_csv(comparison: PolicyComparison) -> str:
    """One row per change, newly denied first, each by digest; lists space-separated."""
    return _csv(
        COMPARISON_CSV_COLUMNS,
        (
            (
                change.change.value,
                change.image,
                change.reference,
                " ".join(str(tag) for tag in change.tags),
                *_outcome_cells(change.current),
                *_outcome_cells(change.new),
            )
            for change in comparison.changes
        ),
    )


def _changes_text(title: str, changes: tuple[PolicyChange, ...]) -> list[str]:
    lines = ["", f"{title} ({len(changes)})"]
    if not changes:
        return [*lines, "  (none)"]
    lines += text_table(
        ("IMAGE", "TAGS", "CURRENT", "NEW"),
        [
            (
                c.image,
                ", ".join(str(tag) for tag in c.tags) or "(no tag)",
                c.current.reason,
                c.new.reason,
            )
            for c in changes
        ],
    )
    for change in changes:
        lines += [
            f"  {change.image}",
            f"    current: {change.current.message}",
            f"    new:     {change.new.message}",
        ]
    return lines


def comparison_to_text(comparison: PolicyComparison) -> str:
    """Two tables, newly denied and newly admitted, each followed by both messages."""
    lines = [
        f"policy dry run: {comparison.compare_policy} against {comparison.policy}",
        f"  images:  {comparison.images} judged by both, {len(comparison.newly_denied)} newly "
        f"denied, {len(comparison.newly_admitted)} newly admitted, "
        f"{comparison.unchanged} unchanged",
    ]
    lines += _changes_text("NEWLY DENIED", comparison.newly_denied)
    lines += _changes_text("NEWLY ADMITTED", comparison.newly_admitted)
    if comparison.failures:
        lines += ["", f"NOT JUDGED BY {comparison.compare_policy} ({len(comparison.failures)})"]
        lines += [f"  {f.subject}\n    {f.message}" for f in comparison.failures]
    return "\n".join(lines) + "\n"


# -- workloads -------------------------------------------------------------------------------


def workloads_to_json(report: WorkloadReport) -> dict[str, Any]:
    """The report's ``workloads`` member (``comparison`` in it with --compare-policy)."""
    document: dict[str, Any] = {
        "source": report.source,
        "namespaces": [_namespace_json(row) for row in report.namespaces],
        "denied": [
            {
                "namespace": d.namespace,
                "kind": d.kind,
                "name": d.name,
                "container": d.container,
                "image": d.image,
                "reason": d.reason,
                "message": d.message,
            }
            for d in report.denied
        ],
        "skipped": dict(report.skipped),
    }
    if report.comparison is not None:
        document["comparison"] = _workload_comparison_json(report.comparison)
    return document


def _namespace_json(row: NamespaceRow) -> dict[str, Any]:
    return {
        "namespace": row.namespace,
        "mode": row.mode,
        "exempt": row.exempt,
        "workloads": row.workloads,
        "containers": row.containers,
        "wouldDeny": row.would_deny,
        "readyForEnforce": row.ready_for_enforce,
    }


def _workload_change_json(change: WorkloadChange) -> dict[str, Any]:
    def outcome(of: Outcome) -> dict[str, Any]:
        return {"admitted": of.trusted, "reason": of.reason, "message": of.message}

    return {
        "namespace": change.namespace,
        "kind": change.kind,
        "name": change.name,
        "container": change.container,
        "image": change.image,
        "current": outcome(change.current),
        "new": outcome(change.new),
    }


def _workload_comparison_json(comparison: WorkloadComparison) -> dict[str, Any]:
    return {
        "comparePolicy": comparison.compare_policy,
        "newlyDenied": [_workload_change_json(c) for c in comparison.newly_denied],
        "newlyAdmitted": [_workload_change_json(c) for c in comparison.newly_admitted],
        "namespaces": [_namespace_json(row) for row in comparison.namespaces],
    }


def workloads_to_csv(report: WorkloadReport) -> str:
    """Denied container images, then one row per namespace where nothing would be denied
    (kind to message empty); ``ready_for_enforce`` is yes, no or exempt."""
    denied = [
        (d.namespace, "no", d.kind, d.name, d.container, d.image, d.reason, d.message)
        for d in report.denied
    ]
    ready = [
        (row.namespace, _yes(row.ready_for_enforce), "", "", "", "", "", "")
        for row in report.namespaces
        if not row.would_deny
    ]
    return _csv(WORKLOADS_CSV_COLUMNS, [*denied, *ready])


def workloads_comparison_to_csv(comparison: WorkloadComparison) -> str:
    """One row per container image whose fate under enforce changes under NEW, newly
    denied first (``*_admitted``: yes or no)."""
    return _csv(
        WORKLOADS_COMPARISON_CSV_COLUMNS,
        (
            (
                c.change.value,
                c.namespace,
                c.kind,
                c.name,
                c.container,
                c.image,
                *_outcome_cells(c.current),
                *_outcome_cells(c.new),
            )
            for c in comparison.changes
        ),
    )


def workloads_to_text(report: WorkloadReport) -> str:
    """Per namespace: workloads, containers, what enforce would deny, readiness; then each
    container image that would be denied, with the webhook's message."""
    ready = [row.namespace for row in report.namespaces if row.ready_for_enforce]
    lines = [
        f"workloads ({report.source}): {report.workloads} in {len(report.namespaces)} "
        f"namespaces, {report.would_deny} would be denied under enforce",
        f"  ready for enforce: {', '.join(ready) or '(none)'}",
    ]
    if report.skipped:
        skipped = ", ".join(f"{kind} {count}" for kind, count in report.skipped)
        lines.append(f"  not judged: {skipped}")
    if report.namespaces:
        lines += ["", "NAMESPACES"]
        lines += text_table(
            ("NAMESPACE", "MODE", "WORKLOADS", "CONTAINERS", "WOULD DENY", "READY FOR ENFORCE"),
            [
                (
                    row.namespace,
                    row.mode,
                    str(row.workloads),
                    str(row.containers),
                    str(row.would_deny),
                    _yes(row.ready_for_enforce),
                )
                for row in report.namespaces
            ],
        )
    if report.denied:
        lines += ["", f"ENFORCE WOULD DENY ({len(report.denied)} container images)"]
        lines += text_table(
            ("NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "REASON"),
            [
                (d.namespace, f"{d.kind}/{d.name}", _shown(d.container), _shown(d.image), d.reason)
                for d in report.denied
            ],
        )
        lines += [""] + [
            f"  {d.kind} {d.namespace}/{d.name}: {_shown(d.message)}" for d in report.denied
        ]
    if report.comparison is not None:
        lines += _workload_comparison_text(report.comparison)
    return "\n".join(lines) + "\n"


def _workload_changes_text(title: str, changes: tuple[WorkloadChange, ...]) -> list[str]:
    lines = ["", f"{title} ({len(changes)} container images)"]
    if not changes:
        return [*lines, "  (none)"]
    lines += text_table(
        ("NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "CURRENT", "NEW"),
        [
            (
                c.namespace,
                f"{c.kind}/{c.name}",
                _shown(c.container),
                _shown(c.image),
                c.current.reason,
                c.new.reason,
            )
            for c in changes
        ],
    )
    for c in changes:
        lines += [
            f"  {c.kind} {c.namespace}/{c.name} {_shown(c.container)}".rstrip(),
            f"    current: {_shown(c.current.message)}",
            f"    new:     {_shown(c.new.message)}",
        ]
    return lines


def _workload_comparison_text(comparison: WorkloadComparison) -> list[str]:
    ready = [row.namespace for row in comparison.namespaces if row.ready_for_enforce]
    denying = sum(row.would_deny for row in comparison.namespaces)
    lines = [
        "",
        f"workloads under {comparison.compare_policy}: {denying} workloads would be denied under "
        f"enforce, {len(comparison.newly_denied)} container images newly denied, "
        f"{len(comparison.newly_admitted)} newly admitted",
        f"  ready for enforce under {comparison.compare_policy}: {', '.join(ready) or '(none)'}",
    ]
    lines += _workload_changes_text("WORKLOADS NEWLY DENIED", comparison.newly_denied)
    lines += _workload_changes_text("WORKLOADS NEWLY ADMITTED", comparison.newly_admitted)
    return lines
