"""Rendering verdicts for people (text tables) and machines (JSON). No decisions here."""

from __future__ import annotations

from typing import Any

from sigverify.core.verdict import ImageVerdict, SignatureVerdict, format_key_id

__all__ = ["signature_to_json", "verdict_json_to_text", "verdict_to_json", "verdict_to_text"]


def _time(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def signature_to_json(verdict: SignatureVerdict) -> dict[str, Any]:
    signer = verdict.signer
    claims = verdict.claims
    # "source" only when the caller named one: every JSON field before it is unchanged.
    source = {"source": verdict.source} if verdict.source is not None else {}
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
        "claimedKeyID": format_key_id(verdict.claimed_key_id) if verdict.claimed_key_id else None,
        **source,
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


def _suffix(name: str) -> str:
    return name.rpartition("@")[2] or name


def verdict_to_text(verdict: ImageVerdict) -> str:
    """A readable report: the image line, then one table row per signature."""
    return verdict_json_to_text(verdict_to_json(verdict))


def verdict_json_to_text(verdict: dict[str, Any]) -> str:
    """The readable report from the JSON verdict (also what the HTTP API answers)."""
    signatures: list[dict[str, Any]] = verdict.get("signatures") or []
    headline = "TRUSTED" if verdict.get("trusted") else "NOT TRUSTED"
    lines = [
        f"{headline}  {verdict.get('reference')}",
        f"  image:  {verdict.get('image')}",
        f"  scope:  {verdict.get('scope')}",
    ]
    for requirement in verdict.get("requirements") or []:
        mark = "ok  " if requirement.get("satisfied") else "FAIL"
        detail = str(requirement.get("message"))
        if not requirement.get("satisfied") and signatures and detail.startswith("None of"):
            # The per-signature lines below carry the reasons; don't print them twice.
            detail = f"none of the {len(signatures)} signatures were accepted"
        lines.append(f"  {mark}  {requirement.get('requirement')}: {detail}")
    lines.append(f"  reason: {verdict.get('reason')}")
    if not signatures:
        lines.append("  (the image has no signatures)")
        return "\n".join(lines) + "\n"
    sourced = any("source" in sig for sig in signatures)
    rows = [("SIGNATURE", "TRUSTED", "FOR IMAGE", "SIGNER", "REASON", *(["SOURCE"] * sourced))]
    for sig in signatures:
        signer = sig.get("signer") or {}
        rows.append(
            (
                _short(_suffix(str(sig.get("name"))), 34),
                "yes" if sig.get("trusted") else "no",
                "yes" if sig.get("forImage") else "no",
                str(signer.get("keyID") or "-"),
                str(sig.get("reason")),
                *([str(sig.get("source") or "-")] * sourced),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines.append("")
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    lines.append("")
    for sig in signatures:
        lines.append(f"  {_suffix(str(sig.get('name')))}: {sig.get('message')}")
    recorded = verdict.get("recorded")
    if isinstance(recorded, dict):
        state = "written" if recorded.get("written") else "unchanged, not written"
        lines.append("")
        lines.append(
            f"  conditions {state} (attempts {recorded.get('attempts')}, "
            f"conflicts {recorded.get('conflicts')}, "
            f"resourceVersion {recorded.get('resourceVersion')})"
        )
    return "\n".join(lines) + "\n"
