"""The admission decision: per-image results and their treatments → one AdmissionResponse.

Pure: no I/O, no clock. Each failed image is judged by its treatment's mode — ``enforce``
denies, ``warn`` allows with a warning, ``audit`` allows and only annotates — except that an
image we could not judge because the image API (or the verifier) did not answer in time is
allowed with a warning when its scope is configured ``failOpen``. Every answer carries audit
annotations with the verdicts, so the API server's audit log records why.

Status codes of a denial (docs/admission.md): 403 when at least one image is judged
untrusted, unpinned, unknown or invalid; 503 when every denied image was denied only because
the cluster could not answer within the deadline (fail closed), so clients see a retryable
error rather than a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sigverify.admission.modes import ImageTreatment
from sigverify.admission.review import AdmissionRequest, AdmissionResponse
from sigverify.admission.workloads import ImageUse
from sigverify.core.verdict import ImageVerdict, format_key_id
from sigverify.policyfile.admission import Mode

__all__ = [
    "MAX_WARNING_CHARS",
    "CheckReason",
    "Decision",
    "ImageCheck",
    "ImageResult",
    "allow",
    "decide",
    "deny_malformed",
    "explain",
    "outcome",
    "shorten",
]

#: Kubernetes truncates longer warnings (KEP-1693); ours always fit.
MAX_WARNING_CHARS = 120
#: Bound on a denial message (the API server returns it to the client verbatim).
MAX_MESSAGE_CHARS = 8 * 1024
#: Images listed in the ``verdicts`` audit annotation.
MAX_AUDITED_IMAGES = 64


class CheckReason(StrEnum):
    """Admission-level reasons, beside the engine's verdict reasons."""

    UNPINNED_TAG = "UnpinnedTag"
    UNPINNED_TAG_ALLOWED = "UnpinnedTagAllowed"
    IMAGE_NOT_FOUND = "ImageNotFound"
    INVALID_REFERENCE = "InvalidReference"
    IMAGE_API_UNAVAILABLE = "ImageAPIUnavailable"
    REGISTRY_UNAVAILABLE = "RegistryUnavailable"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    VERIFICATION_ERROR = "VerificationError"
    EXEMPT = "Exempt"


@dataclass(frozen=True)
class ImageResult:
    """What checking one image string found (shared by every container that names it)."""

    passed: bool
    reason: str
    detail: str
    verdict: ImageVerdict | None = None
    digest: str | None = None
    via: str = ""
    pinned: str | None = None
    unavailable: bool = False  # the cluster or verifier could not answer: not a verdict


@dataclass(frozen=True)
class ImageCheck:
    use: ImageUse
    treatment: ImageTreatment
    result: ImageResult


@dataclass(frozen=True)
class Decision:
    """The response plus the labels metrics count it by and the images it judged."""

    response: AdmissionResponse
    decision: str  # allow | warn | audit | deny
    reason: str
    #: Each checked image's audit entry (image, digest, result, mode, …), for the log line.
    images: tuple[Mapping[str, Any], ...] = ()


def shorten(text: str, width: int) -> str:
    """``text`` cut in the middle with ``…`` to at most ``width`` characters."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def _quote(text: str) -> str:
    # JSON quoting escapes control characters a hostile image string could carry.
    return json.dumps(text, ensure_ascii=False)


def _signatures_seen(verdict: ImageVerdict) -> str:
    if not verdict.signatures:
        return "none"
    seen = []
    for signature in verdict.signatures:
        if signature.signer is not None:
            who = signature.signer.public_key_id
        elif signature.claimed_key_id is not None:
            # The key an unknown-key signature *claims* to be from (unverified).
            who = format_key_id(signature.claimed_key_id)
        else:
            who = "unverified"
        seen.append(f"{who} ({signature.reason.value})")
    return ", ".join(seen)


def _required(verdict: ImageVerdict) -> str:
    failing = [r.requirement for r in verdict.requirements if not r.satisfied]
    return "; ".join(failing or [r.requirement for r in verdict.requirements]) or "nothing"


def explain(check: ImageCheck) -> str:
    """The clause a denial message gives ``check`` (also what ``sigverify audit`` shows)."""
    use, result = check.use, check.result
    where = f"{_quote(use.image)} at {use.location}"
    if result.digest and result.digest not in use.image:
        where += f" ({result.digest})"
    verdict = result.verdict
    if verdict is not None:
        return (
            f"image {where} is not trusted [{result.reason}]: signatures seen: "
            f"{_signatures_seen(verdict)}; scope {_quote(verdict.scope)} requires: "
            f"{_required(verdict)}"
        )
    if result.unavailable:
        return (
            f"image {where} could not be verified [{result.reason}]: {result.detail}; "
            "denied because its scope fails closed"
        )
    return f"image {where} is not admitted [{result.reason}]: {result.detail}"


def _warning(check: ImageCheck, outcome: str) -> str:
    result = check.result
    what = "unverified" if result.unavailable else "untrusted"
    fixed = f"sigverify: {what} ({result.reason}); {outcome}: "
    return fixed + shorten(check.use.image, MAX_WARNING_CHARS - len(fixed))


def _audit_entry(check: ImageCheck) -> dict[str, Any]:
    result = check.result
    entry: dict[str, Any] = {
        "image": check.use.image,
        "pointer": check.use.pointer,
        "result": result.reason,
        "passed": result.passed,
        "mode": "exempt" if check.treatment.exempt else check.treatment.mode.value,
    }
    if result.digest:
        entry["digest"] = result.digest
    if result.verdict is not None:
        entry["scope"] = result.verdict.scope
        entry["keys"] = sorted(
            {s.signer.public_key_id for s in result.verdict.signatures if s.signer}
        )
        sources = sorted({s.source for s in result.verdict.signatures if s.source})
        if sources:  # where the signatures were found (image, lookaside, registry)
            entry["sources"] = sources
    return entry


def _images(checks: Sequence[ImageCheck]) -> tuple[Mapping[str, Any], ...]:
    return tuple(_audit_entry(c) for c in checks)


def _audit(
    request: AdmissionRequest, decision: str, reason: str, checks: Sequence[ImageCheck]
) -> dict[str, str]:
    out = {"decision": decision, "reason": reason}
    if checks:
        entries = [_audit_entry(c) for c in checks[:MAX_AUDITED_IMAGES]]
        out["verdicts"] = json.dumps(entries, separators=(",", ":"), sort_keys=True)
    if request.dry_run:
        out["dryRun"] = "true"
    return out


def _subject(request: AdmissionRequest) -> str:
    name = f"{request.namespace}/{request.name}" if request.name else request.namespace
    return f"{request.kind.kind} {name}".rstrip()


def allow(
    request: AdmissionRequest, reason: str, *, annotations: Mapping[str, str] | None = None
) -> Decision:
    """An allow that checked nothing (exempt, not a workload, no image change)."""
    audit = {"decision": "allow", "reason": reason, **(annotations or {})}
    if request.dry_run:
        audit["dryRun"] = "true"
    return Decision(AdmissionResponse(request.uid, True, audit_annotations=audit), "allow", reason)


def deny_malformed(request: AdmissionRequest, message: str) -> Decision:
    """A request whose object we cannot read is refused with 400, never allowed."""
    text = f"sigverify cannot read {_subject(request)}: {message}"
    audit = {"decision": "deny", "reason": "MalformedObject"}
    return Decision(
        AdmissionResponse(
            request.uid, False, 400, shorten(text, MAX_MESSAGE_CHARS), audit_annotations=audit
        ),
        "deny",
        "MalformedObject",
    )


def outcome(check: ImageCheck) -> str:
    """What one checked image does to the admission: ``pass`` (passed or exempt), ``deny``,
    ``fail-open`` (unavailable in an enforce scope that fails open: allowed, warned),
    ``warn`` or ``audit`` (failed under that mode)."""
    if check.result.passed or check.treatment.exempt:
        return "pass"
    mode = check.treatment.mode
    if mode is Mode.ENFORCE and check.result.unavailable and check.treatment.fail_open:
        return "fail-open"
    if mode is Mode.ENFORCE:
        return "deny"
    return "warn" if mode is Mode.WARN else "audit"


def decide(request: AdmissionRequest, checks: Sequence[ImageCheck]) -> Decision:
    """Judge every checked image by its treatment and build the response."""
    denied: list[ImageCheck] = []
    warnings: list[str] = []
    audited: list[ImageCheck] = []
    for check in checks:
        judged = outcome(check)
        if judged == "fail-open":
            warnings.append(_warning(check, "allowed (fail-open)"))
        elif judged == "deny":
            denied.append(check)
        elif judged == "warn":
            warnings.append(_warning(check, "allowed (warn mode)"))
        elif judged == "audit":
            audited.append(check)
    warnings = list(dict.fromkeys(warnings))  # one warning per image string, not per container
    if denied:
        reason = denied[0].result.reason
        code = 503 if all(c.result.unavailable for c in denied) else 403
        message = f"sigverify denied {_subject(request)}: " + "; ".join(
            dict.fromkeys(explain(c) for c in denied)
        )
        response = AdmissionResponse(
            request.uid,
            False,
            code,
            shorten(message, MAX_MESSAGE_CHARS),
            warnings=warnings,
            audit_annotations=_audit(request, "deny", reason, checks),
        )
        return Decision(response, "deny", reason, _images(checks))
    failing = [c for c in checks if not c.result.passed and not c.treatment.exempt]
    if failing:
        reason = failing[0].result.reason
    elif checks and all(c.treatment.exempt for c in checks):
        reason = CheckReason.EXEMPT.value
    else:
        reason = next((c.result.reason for c in checks if not c.treatment.exempt), "Trusted")
    decision = "warn" if warnings else "audit" if audited else "allow"
    response = AdmissionResponse(
        request.uid,
        True,
        warnings=warnings,
        audit_annotations=_audit(request, decision, reason, checks),
    )
    return Decision(response, decision, reason, _images(checks))
