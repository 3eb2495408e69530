"""Rendering verdicts for people (text tables) and machines (JSON). No decisions here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sigverify.core.verdict import ImageVerdict, SignatureVerdict, format_key_id

__all__ = ["signature_to_json", "verdict_json_to_text", "verdict_to_json", "verdict_to_text"]

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _time(value: Any) -> str | None:
    """``value.strftime(_TIME_FORMAT)``: the fields as they are (no time zone conversion),
    then ``Z``. Formatted by hand, at half strftime's cost, for the years strftime
    pads to four digits; any other year or type is left to strftime itself."""
    if value is None:
        return None
    if type(value) is datetime and value.year >= 1000:
        # %-formatting: half the cost of the same f-string with format specs.
        return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
        )
    return value.strftime(_TIME_FORMAT)  # type: ignore[no-any-return]


def signature_to_json(verdict: SignatureVerdict) -> dict[str, Any]:
    signer = verdict.signer
    claims = verdict.claims
    out = {
        "name": verdict.name,
        "trusted": verdict.trusted,
        "forImage": verdict.for_image,
        "reason": verdict.reason.value,
        "message": verdict.message,
        "signer": (
            {
                "fingerprint": signer.fingerprint,
                "keyID": signer.public_key_id,
                "signingKeyFingerprint": signer.signing_key_fingerprint,
                "userID": signer.user_id,
            }
            if signer
            else None
        ),
        "claims": (
            {
                "dockerManifestDigest": claims.manifest_digest,
                "dockerReference": claims.docker_reference,
                "creator": claims.creator,
                "timestamp": claims.timestamp,
            }
            if claims
            else None
        ),
        "created": _time(verdict.signature_created),
        "digestMatches": verdict.digest_matches,
        "identityMatches": verdict.identity_matches,
        "acceptedBy": verdict.requirement,
        "claimedKeyID": format_key_id(verdict.claimed_key_id) if verdict.claimed_key_id else None,
    }
    # "source" only when the caller named one: every JSON field before it is unchanged.
    if verdict.source is not None:
        out["source"] = verdict.source
    return out


def verdict_to_json(verdict: ImageVerdict) -> dict[str, Any]:
    """The JSON verdict shared by the CLI (``--output json``) and the HTTP API."""
    return {
        "trusted": verdict.trusted,
        "image": verdict.image,
        "reference": verdict.reference,
        "scope": verdict.scope,
        "reason": verdict.reason.value,
        "message": verdict.message,
        "verifiedAt": _time(verdict.verified_at),
        "requirements": [
            {"requirement": r.requirement, "satisfied": r.satisfied, "message": r.message}
            for r in verdict.requirements
        ],
        "signatures": [signature_to_json(s) for s in verdict.signatures],
    }


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _suffix(name: str) -> str:
    return name.rpartition("@")[2] or name


class _Row(NamedTuple):
    """What the text report shows of one signature."""

    name: str
    trusted: bool
    for_image: bool
    key_id: str
    reason: str
    #: None when the report has no SOURCE column for it (the JSON had no "source").
    source: str | None
    message: object


def verdict_to_text(verdict: ImageVerdict) -> str:
    """A readable report: the image line, then one table row per signature.

    The same text as ``verdict_json_to_text(verdict_to_json(verdict))``, read straight from
    the verdict: no JSON body, no timestamps formatted that the report does not show.
    """
    rows = [
        _Row(
            str(s.name),
            bool(s.trusted),
            bool(s.for_image),
            str((s.signer.public_key_id if s.signer else None) or "-"),
            str(s.reason.value),
            None if s.source is None else str(s.source or "-"),
            s.message,
        )
        for s in verdict.signatures
    ]
    requirements = [(r.satisfied, r.requirement, r.message) for r in verdict.requirements]
    return _report(
        verdict.trusted,
        verdict.reference,
        verdict.image,
        verdict.scope,
        requirements,
        verdict.reason.value,
        rows,
        None,
    )


def verdict_json_to_text(verdict: dict[str, Any]) -> str:
    """The readable report from the JSON verdict (also what the HTTP API answers)."""
    signatures: list[dict[str, Any]] = verdict.get("signatures") or []
    rows = []
    for sig in signatures:
        signer = sig.get("signer") or {}
        rows.append(
            _Row(
                str(sig.get("name")),
                bool(sig.get("trusted")),
                bool(sig.get("forImage")),
                str(signer.get("keyID") or "-"),
                str(sig.get("reason")),
                str(sig.get("source") or "-") if "source" in sig else None,
                sig.get("message"),
            )
        )
    requirements = [
        (r.get("satisfied"), r.get("requirement"), r.get("message"))
        for r in verdict.get("requirements") or []
    ]
    recorded = verdict.get("recorded")
    return _report(
        verdict.get("trusted"),
        verdict.get("reference"),
        verdict.get("image"),
        verdict.get("scope"),
        requirements,
        verdict.get("reason"),
        rows,
        recorded if isinstance(recorded, dict) else None,
    )


def _report(
    trusted: object,
    reference: object,
    image: object,
    scope: object,
    requirements: Sequence[tuple[object, object, object]],
    reason: object,
    rows: list[_Row],
    recorded: dict[str, Any] | None,
) -> str:
    headline = "TRUSTED" if trusted else "NOT TRUSTED"
    lines = [
        f"{headline}  {reference}",
        f"  image:  {image}",
        f"  scope:  {scope}",
    ]
    for satisfied, requirement, message in requirements:
        mark = "ok  " if satisfied else "FAIL"
        detail = str(message)
        if not satisfied and rows and detail.startswith("None of"):
            # The per-signature lines below carry the reasons; don't print them twice.
            detail = f"none of the {len(rows)} signatures were accepted"
        lines.append(f"  {mark}  {requirement}: {detail}")
    lines.append(f"  reason: {reason}")
    if not rows:
        lines.append("  (the image has no signatures)")
        return "\n".join(lines) + "\n"
    sourced = any(row.source is not None for row in rows)
    table = [("SIGNATURE", "TRUSTED", "FOR IMAGE", "SIGNER", "REASON", *(["SOURCE"] * sourced))]
    for row in rows:
        table.append(
            (
                _short(_suffix(row.name), 34),
                "yes" if row.trusted else "no",
                "yes" if row.for_image else "no",
                row.key_id,
                row.reason,
                *([row.source or "-"] * sourced),
            )
        )
    widths = [max(len(cells[i]) for cells in table) for i in range(len(table[0]))]
    lines.append("")
    for cells in table:
        lines.append(
            "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip()
        )
    lines.append("")
    for row in rows:
        lines.append(f"  {_suffix(row.name)}: {row.message}")
    if recorded is not None:
        state = "written" if recorded.get("written") else "unchanged, not written"
        lines.append("")
        lines.append(
            f"  conditions {state} (attempts {recorded.get('attempts')}, "
            f"conflicts {recorded.get('conflicts')}, "
            f"resourceVersion {recorded.get('resourceVersion')})"
        )
    return "\n".join(lines) + "\n"
