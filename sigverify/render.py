"""Rendering verdicts for people (text tables) and machines (JSON). No decisions here."""

from __future__ import annotations

from typing import Any

from sigverify.core.verdict import ImageVerdict, SignatureVerdict

__all__ = ["signature_to_json", "verdict_to_json", "verdict_to_text"]


def _time(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def signature_to_json(verdict: SignatureVerdict) -> dict[str, Any]:
    signer = verdict.signer
    claims = verdict.claims
    return {
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
    }


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


def verdict_to_text(verdict: ImageVerdict) -> str:
    """A readable report: the image line, then one table row per signature."""
    headline = "TRUSTED" if verdict.trusted else "NOT TRUSTED"
    lines = [
        f"{headline}  {verdict.reference}",
        f"  image:  {verdict.image}",
        f"  scope:  {verdict.scope}",
    ]
    for requirement in verdict.requirements:
        mark = "ok  " if requirement.satisfied else "FAIL"
        detail = requirement.message
        if not requirement.satisfied and verdict.signatures and detail.startswith("None of"):
            # The per-signature lines below carry the reasons; don't print them twice.
            detail = f"none of the {len(verdict.signatures)} signatures were accepted"
        lines.append(f"  {mark}  {requirement.requirement}: {detail}")
    lines.append(f"  reason: {verdict.reason.value}")
    if not verdict.signatures:
        lines.append("  (the image has no signatures)")
        return "\n".join(lines) + "\n"
    rows = [("SIGNATURE", "TRUSTED", "FOR IMAGE", "SIGNER", "REASON")]
    for sig in verdict.signatures:
        suffix = sig.name.rpartition("@")[2] or sig.name
        rows.append(
            (
                _short(suffix, 34),
                "yes" if sig.trusted else "no",
                "yes" if sig.for_image else "no",
                sig.signer.public_key_id if sig.signer else "-",
                sig.reason.value,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines.append("")
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    lines.append("")
    for sig in verdict.signatures:
        lines.append(f"  {sig.name.rpartition('@')[2] or sig.name}: {sig.message}")
    return "\n".join(lines) + "\n"
