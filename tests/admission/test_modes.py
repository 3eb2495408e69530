from __future__ import annotations

from sigverify.admission.modes import ImageTreatment, treatment_for
from sigverify.core.reference import parse_reference
from sigverify.policyfile.admission import Mode, UnpinnedTags, parse_admission_config

DIGEST = "sha256:" + "b" * 64

CONFIG = parse_admission_config(
    {
        "mode": "enforce",
        "unpinnedTags": "reject",
        "namespaces": {"dev": {"mode": "warn"}, "prod": {"mode": "enforce"}},
        "scopes": {
            "quay.io/experimental": {"mode": "audit", "failOpen": True},
            "quay.io": {"unpinnedTags": "allow"},
            "*.corp.example.com": {"mode": "warn"},
            "docker.io/library/busybox:1.36": {"mode": "audit"},
        },
        "exemptImages": ["registry.redhat.io/ubi9", f"quay.io/tools/debug@{DIGEST}"],
    }
)


def _t(namespace: str, image: str | None) -> ImageTreatment:
    return treatment_for(CONFIG, namespace, parse_reference(image) if image else None)


def test_global_mode_applies_without_rules() -> None:
    assert _t("team", "busybox:1") == ImageTreatment(Mode.ENFORCE)


def test_scope_lookup_follows_the_policy_order() -> None:
    assert _t("team", "quay.io/experimental/app:v1") == ImageTreatment(
        Mode.AUDIT, fail_open=True, unpinned_tags=UnpinnedTags.REJECT, scope="quay.io/experimental"
    )
    # first match wins, rules are not merged: quay.io's unpinnedTags does not reach here
    assert _t("team", "quay.io/other/app:v1") == ImageTreatment(
        Mode.ENFORCE, unpinned_tags=UnpinnedTags.ALLOW, scope="quay.io"
    )
    assert _t("team", "reg.corp.example.com:5000/app").scope == "*.corp.example.com"
    assert _t("team", "reg.corp.example.com/app").mode is Mode.WARN
    # names are normalised before lookup: busybox:1.36 is docker.io/library/busybox:1.36
    assert _t("team", "busybox:1.36").mode is Mode.AUDIT


def test_namespace_mode_wins_over_scope() -> None:
    assert _t("dev", "busybox").mode is Mode.WARN
    treatment = _t("prod", "quay.io/experimental/app")
    assert treatment.mode is Mode.ENFORCE and treatment.fail_open  # fail-open stays the scope's


def test_exempt_images() -> None:
    assert _t("team", "registry.redhat.io/ubi9/ubi:9.4").exempt
    assert _t("team", f"quay.io/tools/debug@{DIGEST}").exempt
    assert not _t("team", "quay.io/tools/debug:latest").exempt
    assert not _t("team", "registry.redhat.io/ubi8").exempt


def test_unparsable_image_gets_namespace_or_global_mode() -> None:
    assert _t("team", None) == ImageTreatment(Mode.ENFORCE)
    assert _t("dev", None).mode is Mode.WARN
