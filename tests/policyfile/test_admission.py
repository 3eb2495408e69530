from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigverify.errors import InputError
from sigverify.policyfile.admission import (
    AdmissionConfig,
    CacheConfig,
    Mode,
    NamespaceRule,
    ScopeRule,
    UnpinnedTags,
    load_admission_config,
    parse_admission_config,
)

FULL = {
    "mode": "warn",
    "unpinnedTags": "allow",
    "namespaces": {"team-dev": {"mode": "audit"}},
    "scopes": {
        "quay.io/experimental": {"mode": "audit", "failOpen": True, "unpinnedTags": "reject"},
        "*.example.com": {"failOpen": True},
        "registry.example.com:5000/ns/app@sha256:" + "a" * 64: {"mode": "enforce"},
    },
    "exemptNamespaces": ["openshift-monitoring"],
    "exemptImages": ["registry.redhat.io/openshift4/ose-cli"],
    "ownNamespace": "sigverify-system",
    "exemptOwnNamespace": False,
    "internalRegistryHosts": ["image-registry.openshift-image-registry.svc:5000", "reg.local"],
    "timeoutSeconds": 5,
    "deadlineSeconds": 4.5,
    "workers": 4,
    "cache": {"maxEntries": 100, "ttlSeconds": 60, "negativeTtlSeconds": 5, "imageTtlSeconds": 0},
}


def test_defaults() -> None:
    config = parse_admission_config(None)
    assert config == AdmissionConfig()
    assert config.mode is Mode.ENFORCE
    assert config.unpinned_tags is UnpinnedTags.REJECT
    assert config.own_namespace == "sigverify"
    assert config.is_exempt_namespace("sigverify")
    assert not config.is_exempt_namespace("default")
    assert config.internal_registry_hosts == ("image-registry.openshift-image-registry.svc:5000",)
    assert config.deadline_seconds < config.timeout_seconds
    assert parse_admission_config({}) == AdmissionConfig()


def test_every_field() -> None:
    config = parse_admission_config(FULL)
    assert config.mode is Mode.WARN
    assert config.unpinned_tags is UnpinnedTags.ALLOW
    assert config.namespaces == {"team-dev": NamespaceRule(Mode.AUDIT)}
    assert config.scopes["quay.io/experimental"] == ScopeRule(
        Mode.AUDIT, fail_open=True, unpinned_tags=UnpinnedTags.REJECT
    )
    assert config.scopes["*.example.com"] == ScopeRule(None, fail_open=True)
    assert config.exempt_namespaces == frozenset({"openshift-monitoring"})
    assert config.exempt_images == frozenset({"registry.redhat.io/openshift4/ose-cli"})
    assert config.own_namespace == "sigverify-system"
    assert not config.is_exempt_namespace("sigverify-system")
    assert config.is_exempt_namespace("openshift-monitoring")
    assert config.all_exempt_namespaces == frozenset({"openshift-monitoring"})
    assert config.internal_registry_hosts[1] == "reg.local"
    assert (config.timeout_seconds, config.deadline_seconds, config.workers) == (5, 4.5, 4)
    assert config.cache == CacheConfig(100, 60.0, 5.0, 0.0)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"exemptNamespace": ["x"]}, "admission.exemptNamespace: Unknown field."),
        ({"mode": "deny"}, "admission.mode: Must be one of: enforce, warn, audit."),
        (
            {"scopes": {"quay.io/x": {"mode": "warn", "ttl": 1}}},
            "admission.scopes.quay.io/x.value.ttl: Unknown field.",
        ),
        (
            {"scopes": {"quay.io/x": {"failOpen": "yes"}}},
            "admission.scopes.quay.io/x.value.failOpen: Not a valid boolean.",
        ),
        (
            {"scopes": {"busybox": {}}},
            "admission.scopes.busybox.key: scope 'busybox' never matches: images are looked up by "
            "their normalized reference; did you mean 'docker.io/library/busybox'?",
        ),
        (
            {"namespaces": {"Team": {"mode": "warn"}}},
            "admission.namespaces.Team.key: 'Team' is not a namespace name",
        ),
        (
            {"namespaces": {"team": {}}},
            "admission.namespaces.team.value.mode: Missing data for required field.",
        ),
        (
            {"deadlineSeconds": 10},
            "admission.deadlineSeconds: deadlineSeconds (10) must be below timeoutSeconds (10)",
        ),
        (
            {"timeoutSeconds": 31},
            "admission.timeoutSeconds: Must be greater than or equal to 1 and less than or equal "
            "to 30.",
        ),
        ({"deadlineSeconds": True}, "admission.deadlineSeconds: Not a valid number."),
        (
            {"cache": {"maxEntries": 0}},
            "admission.cache.maxEntries: Must be greater than or equal to 1",
        ),
        (
            {"internalRegistryHosts": ["https://reg"]},
            "admission.internalRegistryHosts.0: 'https://reg' is not a registry host[:port]",
        ),
        (
            {"exemptImages": ["*.com/x"]},
            "admission.exemptImages.0: wildcard scope '*.com/x' is not valid",
        ),
    ],
)
def test_rejects(section: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_admission_config(section)
    assert message in str(caught.value)


def test_rejects_non_mapping() -> None:
    with pytest.raises(InputError, match=r"^admission: must be a mapping$"):
        parse_admission_config(["enforce"])  # type: ignore[arg-type]


def test_load_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "admission.yaml"
    yaml_file.write_text("admission:\n  mode: audit\n  exemptNamespaces: [kube-system]\n")
    config = load_admission_config(yaml_file)
    assert config.mode is Mode.AUDIT
    assert config.exempt_namespaces == frozenset({"kube-system"})
    json_file = tmp_path / "admission.json"
    json_file.write_text(json.dumps({"admission": FULL}))
    assert load_admission_config(json_file) == parse_admission_config(FULL)


def test_load_rejects_other_top_level(tmp_path: Path) -> None:
    path = tmp_path / "admission.yaml"
    path.write_text("admission: {}\nmodes: {}\n")
    with pytest.raises(InputError, match="exactly an 'admission' mapping"):
        load_admission_config(path)
    path.write_text("admission:\n  mode: nope\n")
    with pytest.raises(InputError) as caught:
        load_admission_config(path)
    assert str(caught.value).startswith(f"{path}: admission.mode: Must be one of")


# -- prefix exemptions ----------------------------------------------------------------------


def test_prefix_exemptions_match_names_that_start_with_the_prefix() -> None:
    config = parse_admission_config({"exemptNamespaces": ["openshift-*", "kube-*", "infra"]})
    assert config.exempt_namespaces == frozenset({"infra"})
    assert config.exempt_namespace_prefixes == ("kube-", "openshift-")
    for namespace in ("openshift-marketplace", "openshift-operators", "kube-system", "infra"):
        assert config.is_exempt_namespace(namespace), namespace
    for namespace in ("openshift", "kube", "kubeflow", "my-openshift-apps", "infra-2"):
        assert not config.is_exempt_namespace(namespace), namespace
    # a selector cannot match a prefix: only names go to the webhooks' namespaceSelector
    assert config.all_exempt_namespaces == frozenset({"infra", "sigverify"})


@pytest.mark.parametrize(
    "pattern",
    [
        "*",
        "openshift*",
        "kube*",
        "open*shift-*",
        "-*",
        "a-**",
        "Openshift-*",
        "openshift-.*",
        "kube-?",
        "kube-[a-z]*",
        "*-system",
        " kube-*",
        "openshift-*/x",
    ],
)
def test_only_a_name_prefix_ending_in_a_dash_then_one_star_is_a_pattern(pattern: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_admission_config({"exemptNamespaces": [pattern]})
    assert str(caught.value) == (
        f"admission.exemptNamespaces.0: {pattern!r} is neither a namespace name nor a prefix"
        " such as 'openshift-*'"
    )
