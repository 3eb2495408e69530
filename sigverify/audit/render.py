"""Rendering an :class:`~sigverify.audit.report.AuditReport` as text, JSON or CSV.

No decisions here."""

from __future__ import annotations

import csv
import io
from typing import Any

from sigverify.audit.report import AuditFailure, AuditReport, ImageRow, SignerScope
from sigverify.core.verdict import Reason

__all__ = ["CSV_COLUMNS", "report_to_csv", "report_to_json", "report_to_text"]

#: One CSV row per audited Image (and per Image that could not be audited).
CSV_COLUMNS = (
    "image",
    "status",
    "reason",
    "reference",
    "scope",
    "signatures",
    "signers",
    "tags",
    "message",
    "sources",
)


def _trust_word(trusted: bool | None) -> str:
    return {True: "yes", False: "no", None: "not judged"}[trusted]


def _reasons_json(reasons: tuple[tuple[Reason, int], ...]) -> dict[str, int]:
    return {reason.value: count for reason, count in reasons}


def _image_json(row: ImageRow) -> dict[str, Any]:
    # "sources" only when the caller named them (the JSON of a cluster audit is unchanged).
    sources = {"sources": dict(row.sources)} if row.sources else {}
    return {
        "image": row.image,
        "reference": row.reference,
        "scope": row.scope,
        "trusted": row.trusted,
        "reason": row.reason.value,
        "message": row.message,
        "signatures": row.signatures,
        "signers": list(row.signers),
        "tags": [str(tag) for tag in row.tags],
        **sources,
    }


def _failure_json(failure: AuditFailure) -> dict[str, Any]:
    return {
        "subject": failure.subject,
        "message": failure.message,
        "tags": [str(tag) for tag in failure.tags],
    }


def _signer_scope_json(scope: SignerScope) -> dict[str, Any]:
    return {"scope": scope.scope, "images": scope.images, "trusted": scope.trusted}


def report_to_json(report: AuditReport) -> dict[str, Any]:
    """The report as one JSON object (``sigverify audit --output json``)."""
    totals = report.totals
    return {
        "policy": report.policy,
        "namespace": report.namespace,
        "totals": {
            "images": totals.images,
            "trusted": totals.trusted,
            "denied": totals.denied,
            "unsigned": totals.unsigned,
            "unreferenced": totals.unreferenced,
            "tags": totals.tags,
            "failed": totals.failed,
        },
        "reasons": _reasons_json(report.reasons),
        "signatureReasons": _reasons_json(report.signature_reasons),
        "scopes": [
            {
                "scope": s.scope,
                "requirements": list(s.requirements),
                "images": s.images,
                "trusted": s.trusted,
                "denied": s.denied,
            }
            for s in report.scopes
        ],
        "signers": [
            {
                "publicKeyID": s.public_key_id,
                "userID": s.user_id,
                "fingerprint": s.fingerprint,
                "images": s.images,
                "scopes": [_signer_scope_json(scope) for scope in s.scopes],
            }
            for s in report.signers
        ],
        "unknownKeys": {
            "signatures": report.unknown_keys.signatures,
            "images": report.unknown_keys.images,
            "keyIDs": dict(report.unknown_keys.key_ids),
            "note": report.unknown_keys.note,
        },
        "denied": [_image_json(row) for row in report.denied],
        "failures": [_failure_json(f) for f in report.failures],
        "images": [_image_json(row) for row in report.images],
        **(
            {"signatureSources": dict(report.signature_sources)} if report.signature_sources else {}
        ),
    }


def _sources_cell(sources: tuple[tuple[str, int], ...]) -> str:
    """``lookaside=1 registry=2``: the JSON's ``sources`` (empty when it has none)."""
    return " ".join(f"{source}={count}" for source, count in sources)


def report_to_csv(report: AuditReport) -> str:
    """One row per Image: ``status`` is ``trusted``, ``denied`` or ``failed``; lists
    (signers, tags, sources) are space-separated; ``sources`` (last, so the columns before
    it keep their places) is ``source=signatures`` as the JSON's ``sources``, empty where
    the JSON has none (a cluster audit's signatures are all on the Image object)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.images:
        writer.writerow(
            (
                row.image,
                "trusted" if row.trusted else "denied",
                row.reason.value,
                row.reference,
                row.scope,
                row.signatures,
                " ".join(row.signers),
                " ".join(str(tag) for tag in row.tags),
                row.message,
                _sources_cell(row.sources),
            )
        )
    for failure in report.failures:
        writer.writerow(
            (
                failure.subject,
                "failed",
                "",
                "",
                "",
                "",
                "",
                " ".join(str(tag) for tag in failure.tags),
                failure.message,
                "",
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


def report_to_text(report: AuditReport) -> str:
    """A readable report: totals, reasons, scopes, signers, then what would be denied."""
    totals = report.totals
    where = f"namespace {report.namespace}" if report.namespace else "all namespaces"
    lines = [
        f"policy audit of {where} against {report.policy}",
        f"  images:  {totals.images} audited, {totals.trusted} trusted, "
        f"{totals.denied} would be denied, {totals.unsigned} unsigned",
        f"  tags:    {totals.tags} tags; {totals.unreferenced} images referenced by no tag",
    ]
    if totals.failed:
        lines.append(f"  failed:  {totals.failed} images could not be audited")
    if report.reasons:
        lines += ["", "REASONS (images)"]
        lines += _table(("REASON", "IMAGES"), [(r.value, str(n)) for r, n in report.reasons])
    if report.signature_sources:
        lines += ["", "SIGNATURE SOURCES"]
        lines += _table(
            ("SOURCE", "SIGNATURES"), [(s, str(n)) for s, n in report.signature_sources]
        )
    if report.scopes:
        lines += ["", "SCOPES"]
        lines += _table(
            ("SCOPE", "IMAGES", "TRUSTED", "DENIED", "REQUIREMENTS"),
            [
                (s.scope, str(s.images), str(s.trusted), str(s.denied), "; ".join(s.requirements))
                for s in report.scopes
            ],
        )
    if report.signers:
        lines += ["", "SIGNERS"]
        rows: list[tuple[str, ...]] = []
        for signer in report.signers:
            for scope in signer.scopes:
                rows.append(
                    (
                        signer.public_key_id,
                        signer.user_id or "",
                        str(signer.images),
                        scope.scope,
                        str(scope.images),
                        _trust_word(scope.trusted),
                    )
                )
        lines += _table(
            ("KEY", "USER ID", "IMAGES", "SCOPE", "IMAGES IN SCOPE", "TRUSTED THERE"), rows
        )
    unknown = report.unknown_keys
    if unknown.signatures:
        lines += [
            "",
            "UNKNOWN KEYS",
            f"  {unknown.signatures} signatures on {unknown.images} images by keys the policy "
            f"does not know ({unknown.note})",
            *(f"  {key_id}  {count} signatures" for key_id, count in unknown.key_ids),
        ]
    denied = report.denied
    if denied:
        lines += ["", f"WOULD BE DENIED ({len(denied)})"]
        for row in denied:
            tags = ", ".join(str(tag) for tag in row.tags) or "(no tag)"
            lines += [f"  {row.image}  {row.reason.value}", f"    tags:    {tags}"]
            if row.sources:
                found = ", ".join(f"{source} {n}" for source, n in row.sources)
                lines.append(f"    sources: {found}")
            lines.append(f"    {row.message}")
    if report.failures:
        lines += ["", f"COULD NOT BE AUDITED ({len(report.failures)})"]
        for failure in report.failures:
            tags = ", ".join(str(tag) for tag in failure.tags) or "(no tag)"
            lines += [f"  {failure.subject}", f"    tags:    {tags}", f"    {failure.message}"]
    return "\n".join(lines) + "\n"
