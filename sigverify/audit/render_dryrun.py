"""Rendering the two dry runs — a NEW policy's changes (:mod:`sigverify.audit.compare`) and
what ``enforce`` would deny (:mod:`sigverify.audit.workloads`) — as text, JSON and CSV.

No decisions here. The JSON objects are the report's ``comparison`` and ``workloads``
members; each CSV is one table of its own.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from sigverify.audit.compare import Outcome, PolicyChange, PolicyComparison

if TYPE_CHECKING:  # the workload judging loads the admission webhook's modules (Flask)
    from sigverify.audit.workloads import WorkloadReport

__all__ = [
    "COMPARISON_CSV_COLUMNS",
    "WORKLOADS_CSV_COLUMNS",
    "comparison_to_csv",
    "comparison_to_json",
    "comparison_to_text",
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


def comparison_to_csv(comparison: PolicyComparison) -> str:
    """One row per change, newly denied first, each by digest; lists space-separated."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COMPARISON_CSV_COLUMNS)
    for change in comparison.changes:
        writer.writerow(
            (
                change.change.value,
                change.image,
                change.reference,
                " ".join(str(tag) for tag in change.tags),
                _yes(change.current.trusted),
                change.current.reason,
                change.current.message,
                _yes(change.new.trusted),
                change.new.reason,
                change.new.message,
            )
        )
    return out.getvalue()


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


def _changes_text(title: str, changes: tuple[PolicyChange, ...]) -> list[str]:
    lines = ["", f"{title} ({len(changes)})"]
    if not changes:
        return [*lines, "  (none)"]
    lines += _table(
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
    """The report's ``workloads`` member."""
    return {
        "source": report.source,
        "namespaces": [
            {
                "namespace": row.namespace,
                "mode": row.mode,
                "exempt": row.exempt,
                "workloads": row.workloads,
                "containers": row.containers,
                "wouldDeny": row.would_deny,
                "readyForEnforce": row.ready_for_enforce,
            }
            for row in report.namespaces
        ],
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


def workloads_to_csv(report: WorkloadReport) -> str:
    """Denied container images, then one row per namespace where nothing would be denied
    (kind to message empty); ``ready_for_enforce`` is yes, no or exempt."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WORKLOADS_CSV_COLUMNS)
    for d in report.denied:
        writer.writerow(
            (d.namespace, "no", d.kind, d.name, d.container, d.image, d.reason, d.message)
        )
    for row in report.namespaces:
        if not row.would_deny:
            writer.writerow((row.namespace, _yes(row.ready_for_enforce), "", "", "", "", "", ""))
    return out.getvalue()


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
        lines += _table(
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
        lines += _table(
            ("NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "REASON"),
            [
                (d.namespace, f"{d.kind}/{d.name}", _shown(d.container), _shown(d.image), d.reason)
                for d in report.denied
            ],
        )
        lines += [""] + [
            f"  {d.kind} {d.namespace}/{d.name}: {_shown(d.message)}" for d in report.denied
        ]
    return "\n".join(lines) + "\n"
