"""The two-step install (docs/install.md) as kustomize renders it: the server first, the
webhooks only after it is Ready; the image set through ``images:``; the optional monitoring
component; and the shipped policy (warn, the platform exempt)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigverify.policyfile.admission import Mode, parse_admission_config
from tests.deploy import kustomize

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
IMAGE = "quay.io/sigverify/sigverify"
DIGEST = "sha256:" + "0123456789abcdef" * 4
WEBHOOK_KINDS = {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}

Doc = dict[str, Any]


def kinds(docs: list[Doc]) -> set[str]:
    return {d["kind"] for d in docs}


def images(docs: list[Doc]) -> list[str]:
    found = []
    for doc in docs:
        found.extend(c["image"] for c in kustomize.containers(doc))
    return found


def overlay(tmp_path: Path, *, components: bool) -> Path:
    """An admin's overlay of deploy/: the image pinned by digest, perhaps the component."""
    folder = tmp_path / "overlay"
    folder.mkdir()
    base = os.path.relpath(DEPLOY, folder)
    document: Doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [base],
        "images": [{"name": IMAGE, "newName": "registry.example.com/sigverify", "digest": DIGEST}],
    }
    if components:
        document["components"] = [f"{base}/components/monitoring"]
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(document))
    return folder


@pytest.mark.parametrize("layer", [DEPLOY, DEPLOY / "webhook"])
def test_kubectl_renders_each_layer_as_the_tests_read_it(layer: Path) -> None:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is missing: scripts/bootstrap (make setup) installs it")
    rendered = kustomize.kubectl_kustomize(layer)
    assert rendered is not None, f"kubectl kustomize {layer} failed"
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(rendered, key=key) == sorted(kustomize.render(layer), key=key)


def test_the_first_layer_registers_no_webhook_and_the_second_only_webhooks() -> None:
    server = kustomize.render(DEPLOY)
    assert not kinds(server) & WEBHOOK_KINDS
    assert {"Deployment", "Service", "ConfigMap", "CronJob"} <= kinds(server)
    assert kinds(kustomize.render(DEPLOY / "webhook")) == WEBHOOK_KINDS
    # nothing in the first layer points at the second
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert all((DEPLOY / entry).is_file() for entry in kustomization["resources"])


def test_the_image_comes_from_the_kustomization() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert kustomization["images"] == [{"name": IMAGE, "newTag": "0.1.0"}]
    assert images(kustomize.render(DEPLOY)) == [f"{IMAGE}:0.1.0"] * 2


def test_an_overlay_pins_every_container_by_digest(tmp_path: Path) -> None:
    folder = overlay(tmp_path, components=False)
    docs = kustomize.render(folder)
    assert images(docs) == [f"registry.example.com/sigverify@{DIGEST}"] * 2
    by_kubectl = kustomize.kubectl_kustomize(folder)
    if by_kubectl is not None:  # kustomize v2.0.3 cannot take a folder in resources
        assert images(by_kubectl) == images(docs)


def test_the_monitoring_component(tmp_path: Path) -> None:
    folder = overlay(tmp_path, components=True)
    docs = kustomize.render(folder)
    by_kubectl = kustomize.kubectl_kustomize(folder)
    if by_kubectl is not None:  # kustomize ≥ 3.7 knows components
        key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
        assert sorted(by_kubectl, key=key) == sorted(docs, key=key)
    added = {d["kind"]: d for d in docs if d["kind"] in {"ServiceMonitor", "NetworkPolicy"}}
    assert set(added) == {"ServiceMonitor", "NetworkPolicy"}
    (service,) = [d for d in docs if d["kind"] == "Service"]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    monitor = added["ServiceMonitor"]["spec"]
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["namespaceSelector"] == {"matchNames": [service["metadata"]["namespace"]]}
    (endpoint,) = monitor["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert (endpoint["path"], endpoint["scheme"]) == ("/metrics", "https")
    assert endpoint["tlsConfig"]["serverName"] == "sigverify-webhook.sigverify.svc"
    assert endpoint["bearerTokenFile"] == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    policy = added["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"] == pod_labels
    assert policy["policyTypes"] == ["Ingress"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"] for p in container["ports"]}
    sources = []
    for rule in policy["ingress"]:
        assert {p["port"] for p in rule["ports"]} <= port_names  # the HTTPS port only
        sources.extend(s["namespaceSelector"]["matchLabels"] for s in rule["from"])
    assert sources == [
        {"policy-group.network.openshift.io/host-network": ""},  # the API server
        {"kubernetes.io/metadata.name": "openshift-kube-apiserver"},
        {"kubernetes.io/metadata.name": "openshift-monitoring"},
        {"kubernetes.io/metadata.name": "openshift-user-workload-monitoring"},
    ]


def test_the_rendered_policy_warns_and_exempts_the_platform() -> None:
    (config_map,) = [
        d
        for d in kustomize.render(DEPLOY)
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "sigverify-policy"
    ]
    config = parse_admission_config(yaml.safe_load(config_map["data"]["policy.yaml"])["admission"])
    assert config.mode is Mode.WARN
    assert config.namespaces == {}  # enforce is the admin's opt-in, per namespace
    assert config.exempt_namespace_prefixes == ("kube-", "openshift-")
    for namespace in (
        "openshift-marketplace",
        "openshift-operator-lifecycle-manager",
        "openshift-operators",
        "openshift-monitoring",
        "kube-system",
        "kube-public",
        "sigverify",
    ):
        assert config.is_exempt_namespace(namespace), namespace
    for namespace in ("default", "openshift", "acme-operators", "kubeflow"):
        assert not config.is_exempt_namespace(namespace), namespace
