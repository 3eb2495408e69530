from __future__ import annotations

import json

from sigverify.admission.decide import (
    MAX_WARNING_CHARS,
    ImageCheck,
    ImageResult,
    allow,
    decide,
    deny_malformed,
    explain,
    outcome,
    shorten,
)
from sigverify.admission.modes import ImageTreatment
from sigverify.admission.review import parse_review
from sigverify.admission.workloads import ImageUse
from sigverify.core.verdict import (
    ImageVerdict,
    Reason,
    RequirementResult,
    SignatureVerdict,
    Signer,
)
from sigverify.policyfile.admission import Mode
from tests.admission.builders import pod_spec, review, workload

DIGEST = "sha256:" + "c" * 64
REQUEST = parse_review(json.dumps(review(workload("Pod", pod_spec(("x",))))).encode())
DRY = parse_review(json.dumps(review(workload("Pod", pod_spec(("x",))), dry_run=True)).encode())
USE = ImageUse("/spec/containers/0/image", "quay.io/acme/web:1", "web")
REQUIRED = "signedBy GPGKeys [0x1111222233334444] with matchRepoDigestOrExact"


def _verdict(trusted: bool) -> ImageVerdict:
    signer = Signer("A" * 24 + "5555666677778888", "5555666677778888", "A" * 40)
    signature = SignatureVerdict(
        f"{DIGEST}@s1",
        trusted,
        trusted,
        Reason.TRUSTED if trusted else Reason.UNTRUSTED_KEY,
        "m",
        signer=signer,
    )
    unverified = SignatureVerdict(
        f"{DIGEST}@s2",
        False,
        False,
        Reason.UNKNOWN_KEY,
        "signed by key 0x9999AAAABBBBCCCC, which is not in the policy's keyring",
        claimed_key_id="9999AAAABBBBCCCC",
    )
    unreadable = SignatureVerdict(f"{DIGEST}@s3", False, False, Reason.INVALID_SIGNATURE, "bad")
    return ImageVerdict(
        image=DIGEST,
        reference=f"quay.io/acme/web@{DIGEST}",
        scope="quay.io/acme",
        trusted=trusted,
        reason=Reason.TRUSTED if trusted else Reason.UNTRUSTED_KEY,
        message="msg",
        signatures=(signature, unverified, unreadable),
        requirements=(RequirementResult(REQUIRED, trusted, "m"),),
    )


UNTRUSTED = ImageResult(False, "UntrustedKey", "msg", verdict=_verdict(False), digest=DIGEST)
TRUSTED = ImageResult(True, "Trusted", "msg", verdict=_verdict(True), digest=DIGEST)
SLOW = ImageResult(False, "DeadlineExceeded", "the image API did not answer", unavailable=True)


def _check(result: ImageResult, mode: Mode = Mode.ENFORCE, **kw: object) -> ImageCheck:
    return ImageCheck(USE, ImageTreatment(mode, **kw), result)  # type: ignore[arg-type]


def test_enforce_denies_with_image_keys_and_requirement() -> None:
    decision = decide(REQUEST, [_check(UNTRUSTED)])
    response = decision.response
    assert (decision.decision, decision.reason) == ("deny", "UntrustedKey")
    assert (response.allowed, response.status_code) == (False, 403)
    assert response.message == (
        'sigverify denied Pod team/web: image "quay.io/acme/web:1" at spec.containers[0] (web) '
        f"({DIGEST}) is not trusted [UntrustedKey]: signatures seen: 0x5555666677778888 "
        "(UntrustedKey), 0x9999AAAABBBBCCCC (UnknownKey), unverified (InvalidSignature); "
        f'scope "quay.io/acme" requires: {REQUIRED}'
    )
    assert response.warnings == []
    assert response.audit_annotations["decision"] == "deny"
    assert json.loads(response.audit_annotations["verdicts"]) == [
        {
            "digest": DIGEST,
            "image": "quay.io/acme/web:1",
            "keys": ["0x5555666677778888"],
            "mode": "enforce",
            "passed": False,
            "pointer": "/spec/containers/0/image",
            "result": "UntrustedKey",
            "scope": "quay.io/acme",
        }
    ]


def test_trusted_allows_with_annotation_only() -> None:
    decision = decide(REQUEST, [_check(TRUSTED)])
    assert decision.response.allowed and decision.response.status_code is None
    assert decision.response.warnings == []
    assert (decision.decision, decision.reason) == ("allow", "Trusted")
    assert decision.response.audit_annotations["reason"] == "Trusted"


def test_warn_and_audit_modes_allow() -> None:
    decision = decide(REQUEST, [_check(UNTRUSTED, Mode.WARN)])
    assert decision.response.allowed
    assert decision.response.warnings == [
        "sigverify: untrusted (UntrustedKey); allowed (warn mode): quay.io/acme/web:1"
    ]
    assert decision.decision == "warn"
    decision = decide(REQUEST, [_check(UNTRUSTED, Mode.AUDIT)])
    assert decision.response.allowed and decision.response.warnings == []
    assert decision.decision == "audit"
    assert decision.response.audit_annotations["decision"] == "audit"


def test_fail_closed_and_fail_open() -> None:
    decision = decide(REQUEST, [_check(SLOW)])
    assert (decision.response.allowed, decision.response.status_code) == (False, 503)
    assert decision.response.message == (
        'sigverify denied Pod team/web: image "quay.io/acme/web:1" at spec.containers[0] (web) '
        "could not be verified [DeadlineExceeded]: the image API did not answer; denied because "
        "its scope fails closed"
    )
    decision = decide(REQUEST, [_check(SLOW, fail_open=True)])
    assert decision.response.allowed
    assert decision.response.warnings == [
        "sigverify: unverified (DeadlineExceeded); allowed (fail-open): quay.io/acme/web:1"
    ]
    # a verdict among the denials makes it a 403, not a retryable 503
    other = ImageCheck(
        ImageUse("/spec/containers/1/image", "b", ""), ImageTreatment(Mode.ENFORCE), UNTRUSTED
    )
    assert decide(REQUEST, [_check(SLOW), other]).response.status_code == 403


def test_exempt_checks_are_reported_not_judged() -> None:
    decision = decide(REQUEST, [_check(UNTRUSTED, exempt=True)])
    assert decision.response.allowed and decision.reason == "Exempt"


def test_warnings_fit_in_120_characters() -> None:
    long_use = ImageUse("/spec/containers/0/image", "quay.io/" + "x" * 300 + ":1", "")
    decision = decide(REQUEST, [ImageCheck(long_use, ImageTreatment(Mode.WARN), UNTRUSTED)])
    (warning,) = decision.response.warnings
    assert len(warning) == MAX_WARNING_CHARS
    assert warning.startswith("sigverify: untrusted (UntrustedKey); allowed (warn mode): quay.io/x")
    assert warning.endswith("xx:1") and "…" in warning
    assert shorten("abcdef", 5) == "ab…ef" and shorten("abc", 5) == "abc"


def test_dry_run_is_annotated() -> None:
    assert decide(DRY, [_check(TRUSTED)]).response.audit_annotations["dryRun"] == "true"
    assert allow(DRY, "Exempt").response.audit_annotations == {
        "decision": "allow",
        "reason": "Exempt",
        "dryRun": "true",
    }


def test_malformed_object_is_denied_with_400() -> None:
    decision = deny_malformed(REQUEST, "/spec/containers: must be a list")
    assert (decision.response.allowed, decision.response.status_code) == (False, 400)
    assert decision.response.message == (
        "sigverify cannot read Pod team/web: /spec/containers: must be a list"
    )


def test_outcome_is_what_decide_does_with_each_image() -> None:
    # sigverify audit --workloads reads each image's fate from outcome(): it must be decide's.
    cases = [
        (_check(TRUSTED), "pass", "allow"),
        (_check(UNTRUSTED, exempt=True), "pass", "allow"),
        (_check(UNTRUSTED), "deny", "deny"),
        (_check(SLOW), "deny", "deny"),
        (_check(SLOW, fail_open=True), "fail-open", "warn"),
        (_check(UNTRUSTED, fail_open=True), "deny", "deny"),  # only unavailability fails open
        (_check(UNTRUSTED, Mode.WARN), "warn", "warn"),
        (_check(UNTRUSTED, Mode.AUDIT), "audit", "audit"),
    ]
    for check, expected, decision in cases:
        assert outcome(check) == expected
        assert decide(REQUEST, [check]).decision == decision
    denied = decide(REQUEST, [_check(UNTRUSTED)]).response.message
    assert denied == f"sigverify denied Pod team/web: {explain(_check(UNTRUSTED))}"
