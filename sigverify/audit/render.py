"""Rendering an :class:`~sigverify.audit.report.AuditReport` as text, JSON or CSV.

No decisions here. The JSON form is versioned (:data:`SCHEMA_VERSION`, described by
``docs/audit-report.schema.json``); the CSV form is one table at a time (:data:`CSV_TABLES`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sigverify.audit.report import (
    AuditFailure,
    AuditReport,
    ImageRow,
    KeyRow,
    SignatureRow,
    SignerScope,
    UnsignedRow,
)
from sigverify.core.verdict import Reason

__all__ = [
    "CSV_COLUMNS",
    "CSV_TABLES",
    "SCHEMA_VERSION",
    "csv_lines",
    "csv_table",
    "iter_json",
    "report_to_csv",
    "report_to_json",
    "report_to_text",
]

#: The JSON report's ``schemaVersion``: bumped when a member changes meaning or goes away
#: (members are only ever added within a version).
SCHEMA_VERSION = "sigverify.audit/v2"

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


def _time(moment: datetime | None) -> str | None:
    """RFC 3339, UTC, whole seconds (as the Kubernetes API writes times)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _signature_json(row: SignatureRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "signer": row.signer,
        "identity": row.identity,
        "created": _time(row.created),
        "ageDays": row.age_days,
        "source": row.source,
        "reason": row.reason.value,
        "message": row.message,
        "trusted": row.trusted,
        "validForImage": row.valid_for_image,
        "signerFingerprint": row.signer_fingerprint,
        "claimedKeyID": row.claimed_key_id,
        "createdFrom": row.created_from,
    }


def _key_json(row: KeyRow) -> dict[str, Any]:
    return {
        "fingerprint": row.fingerprint,
        "publicKeyID": row.public_key_id,
        "userIDs": list(row.user_ids),
        "algorithm": row.algorithm,
        "bits": row.bits,
        "created": _time(row.created),
        "expires": _time(row.expires),
        "daysLeft": row.days_left,
        "expiryWarning": row.expiry_warning,
        "expired": row.expired,
        "revoked": row.revoked,
        "trusted": row.trusted,
        "scopes": list(row.scopes),
        "validImages": row.valid_images,
        "trustedImages": row.trusted_images,
        "signatures": row.signatures,
        "subkeys": [
            {
                "fingerprint": sub.facts.fingerprint,
                "publicKeyID": sub.facts.public_key_id,
                "algorithm": sub.facts.algorithm,
                "bits": sub.facts.bits,
                "created": _time(sub.facts.created),
                "expires": _time(sub.facts.expires),
                "daysLeft": sub.days_left,
                "expired": sub.expired,
                "revoked": sub.facts.revoked,
                "canSign": sub.facts.can_sign,
            }
            for sub in row.subkeys
        ],
    }


def _unsigned_json(row: UnsignedRow) -> dict[str, Any]:
    return {
        "image": row.image,
        "tags": [str(tag) for tag in row.tags],
        "namespaces": list(row.namespaces),
        "reference": row.reference,
        "scope": row.scope,
        "trusted": row.trusted,
        "reason": row.reason.value,
    }


def _image_json(row: ImageRow, *, details: bool = True) -> dict[str, Any]:
    # "sources" only when the caller named them (the JSON of a cluster audit is unchanged).
    sources = {"sources": dict(row.sources)} if row.sources else {}
    signatures = (
        {"signatureDetails": [_signature_json(s) for s in row.signature_details]} if details else {}
    )
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
        **signatures,
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
        "schemaVersion": SCHEMA_VERSION,
        "policy": report.policy,
        "namespace": report.namespace,
        "generatedAt": _time(report.now),
        "expiryWarningDays": report.expiry_warning_days,
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
        "keys": [_key_json(row) for row in report.keys],
        "namespaces": [
            {
                "namespace": n.namespace,
                "images": n.images,
                "trusted": n.trusted,
                "denied": n.denied,
                "unsigned": n.unsigned,
            }
            for n in report.namespaces
        ],
        "unsigned": [_unsigned_json(row) for row in report.unsigned],
        "denied": [_image_json(row, details=False) for row in report.denied],
        "failures": [_failure_json(f) for f in report.failures],
        "images": [_image_json(row) for row in report.images],
        **(
            {"signatureSources": dict(report.signature_sources)} if report.signature_sources else {}
        ),
    }


def _sources_cell(sources: tuple[tuple[str, int], ...]) -> str:
    """``lookaside=1 registry=2``: the JSON's ``sources`` (empty when it has none)."""
    return " ".join(f"{source}={count}" for source, count in sources)


def _cell(value: object) -> str:
    """A CSV cell: empty for None, ``true``/``false``, RFC 3339 times, text as is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _time(value) or ""
    return str(value)


def _images_rows(report: AuditReport) -> Iterable[tuple[object, ...]]:
    for row in report.images:
        yield (
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
    for failure in report.failures:
        tags = " ".join(str(tag) for tag in failure.tags)
        yield (failure.subject, "failed", "", "", "", "", "", tags, failure.message, "")


def _keys_rows(report: AuditReport) -> Iterable[tuple[object, ...]]:
    for k in report.keys:
        yield (
            k.fingerprint,
            k.public_key_id,
            " | ".join(k.user_ids),
            k.algorithm,
            k.bits,
            k.created,
            k.expires,
            k.days_left,
            k.expiry_warning,
            k.expired,
            k.revoked,
            k.trusted,
            " ".join(k.scopes),
            k.valid_images,
            k.trusted_images,
            k.signatures,
        )


def _signatures_rows(report: AuditReport) -> Iterable[tuple[object, ...]]:
    for image in report.images:
        for s in image.signature_details:
            yield (
                image.image,
                s.name,
                s.reason.value,
                s.trusted,
                s.valid_for_image,
                s.signer,
                s.signer_fingerprint,
                s.claimed_key_id,
                s.identity,
                s.created,
                s.created_from,
                s.age_days,
                s.source,
                s.message,
            )


def _unsigned_rows(report: AuditReport) -> Iterable[tuple[object, ...]]:
    for u in report.unsigned:
        yield (
            u.image,
            "trusted" if u.trusted else "denied",
            u.reason.value,
            u.reference,
            u.scope,
            " ".join(str(tag) for tag in u.tags),
            " ".join(u.namespaces),
        )


def _signers_rows(report: AuditReport) -> Iterable[tuple[object, ...]]:
    for signer in report.signers:
        for scope in signer.scopes:
            yield (
                signer.public_key_id,
                signer.user_id,
                signer.fingerprint,
                signer.images,
                scope.scope,
                scope.images,
                scope.trusted,
            )


def _scopes_rows(report: AuditReport) -> Iterable[tuple[object, ...]]:
    for s in report.scopes:
        yield (s.scope, s.images, s.trusted, s.denied, "; ".join(s.requirements))


def _namespaces_rows(report: AuditReport) -> Iterable[tuple[object, ...]]:
    for n in report.namespaces:
        yield (n.namespace, n.images, n.trusted, n.denied, n.unsigned)


def _failures_rows(report: AuditReport) -> Iterable[tuple[object, ...]]:
    for f in report.failures:
        yield (f.subject, f.message, " ".join(str(tag) for tag in f.tags))


_Rows = Callable[[AuditReport], Iterable[tuple[object, ...]]]

#: Table name → (header, rows). ``images`` is the default (``sigverify audit -o csv``).
CSV_TABLES: dict[str, tuple[tuple[str, ...], _Rows]] = {
    "images": (CSV_COLUMNS, _images_rows),
    "keys": (
        (
            "fingerprint",
            "publicKeyID",
            "userIDs",
            "algorithm",
            "bits",
            "created",
            "expires",
            "daysLeft",
            "expiryWarning",
            "expired",
            "revoked",
            "trusted",
            "scopes",
            "validImages",
            "trustedImages",
            "signatures",
        ),
        _keys_rows,
    ),
    "signatures": (
        (
            "image",
            "name",
            "reason",
            "trusted",
            "validForImage",
            "signer",
            "signerFingerprint",
            "claimedKeyID",
            "identity",
            "created",
            "createdFrom",
            "ageDays",
            "source",
            "message",
        ),
        _signatures_rows,
    ),
    "unsigned": (
        ("image", "status", "reason", "reference", "scope", "tags", "namespaces"),
        _unsigned_rows,
    ),
    "signers": (
        ("publicKeyID", "userID", "fingerprint", "images", "scope", "imagesInScope", "trusted"),
        _signers_rows,
    ),
    "scopes": (("scope", "images", "trusted", "denied", "requirements"), _scopes_rows),
    "namespaces": (("namespace", "images", "trusted", "denied", "unsigned"), _namespaces_rows),
    "failures": (("subject", "message", "tags"), _failures_rows),
}


def csv_table(report: AuditReport, table: str) -> str:
    """One table of :data:`CSV_TABLES` as CSV text, header first. Lists are space-separated
    (user IDs, which hold spaces, by `` | ``); booleans ``true``/``false``; times RFC 3339;
    an absent value is an empty cell."""
    return "".join(csv_lines(report, table))


def csv_lines(report: AuditReport, table: str) -> Iterator[str]:
    """:func:`csv_table` a line at a time (the header first), for streaming."""
    header, rows = CSV_TABLES[table]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")

    def line() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(header)
    yield line()
    for row in rows(report):
        writer.writerow(tuple(_cell(value) for value in row))
        yield line()


def iter_json(document: Mapping[str, Any]) -> Iterator[str]:
    """A JSON object in pieces, each list member of the top level item by item (the images
    one at a time), for streaming; joined, the pieces are ``json.dumps(document)``."""
    yield "{"
    for index, (key, value) in enumerate(document.items()):
        head = ", " if index else ""
        if isinstance(value, list):
            yield f"{head}{json.dumps(key)}: ["
            for number, item in enumerate(value):
                yield (", " if number else "") + json.dumps(item)
            yield "]"
        else:
            yield f"{head}{json.dumps(key)}: {json.dumps(value)}"
    yield "}"


def report_to_csv(report: AuditReport) -> str:
    """One row per Image: ``status`` is ``trusted``, ``denied`` or ``failed``; lists
    (signers, tags, sources) are space-separated; ``sources`` (last, so the columns before
    it keep their places) is ``source=signatures`` as the JSON's ``sources``, empty where
    the JSON has none (a cluster audit's signatures are all on the Image object)."""
    return csv_table(report, "images")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


def _date(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d") if moment is not None else ""


def _key_status(key: KeyRow, warning_days: int) -> str:
    if key.revoked:
        return "REVOKED"
    if key.expired:
        return "EXPIRED"
    if key.expiry_warning:
        return f"expires in <{warning_days}d"
    return "ok"


def report_to_text(report: AuditReport) -> str:
    """A readable report: totals, reasons, scopes, signers, keys, unknown keys, then the
    unsigned images and what would be denied."""
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
    if report.keys:
        lines += ["", "KEYS"]
        lines += _table(
            (
                "KEY",
                "ALGORITHM",
                "CREATED",
                "EXPIRES",
                "DAYS LEFT",
                "STATUS",
                "VALID IMAGES",
                "SCOPES",
                "USER ID",
            ),
            [
                (
                    k.public_key_id,
                    f"{k.algorithm} {k.bits}" if k.algorithm and k.bits else k.algorithm or "?",
                    _date(k.created),
                    _date(k.expires) if k.expires else "never",
                    "" if k.days_left is None else str(k.days_left),
                    _key_status(k, report.expiry_warning_days),
                    str(k.valid_images),
                    ", ".join(k.scopes) or "(none: not trusted)",
                    k.user_ids[0] if k.user_ids else "",
                )
                for k in report.keys
            ],
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
    unsigned = report.unsigned
    if unsigned:
        lines += ["", f"UNSIGNED ({len(unsigned)})"]
        for u in unsigned:
            status = "trusted" if u.trusted else "denied"
            lines += [
                f"  {u.image}  {status} ({u.reason.value})  {u.reference}",
                f"    namespaces: {', '.join(u.namespaces) or '(no tag)'}",
                f"    tags:       {', '.join(str(tag) for tag in u.tags) or '(no tag)'}",
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
