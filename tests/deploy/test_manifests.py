"""The manifests in deploy/: they parse, and every field Kubernetes and OpenShift act on is right.

No cluster runs here, so each important field is checked explicitly, and the pieces that must
agree with each other (selectors and labels, volumes and mounts, the webhooks' exempt
namespaces and the admission configuration, the webhook paths and the Flask routes) are
checked against each other.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from sigverify.admission.blueprint import init_app
from sigverify.admission.controller import AdmissionController
from sigverify.admission.workloads import POD_SPEC_PATHS
from sigverify.policyfile.admission import AdmissionConfig, parse_admission_config
from sigverify.policyfile.loader import parse_policy_document
from sigverify.settings import Settings
from tests.deploy import kustomize

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
NAMESPACE = "sigverify"
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
WEBHOOK_SELECTOR = {"app.kubernetes.io/name": "sigverify", "app.kubernetes.io/component": "webhook"}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}

Doc = dict[str, Any]


def _load() -> list[Doc]:
    # the two install layers, as kustomize renders them (tests/deploy/kustomize.py)
    return [*kustomize.render(DEPLOY), *kustomize.render(DEPLOY / "webhook")]


DOCS = _load()


def one(kind: str, name: str) -> Doc:
    (found,) = [d for d in DOCS if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_every_object_is_expected_and_well_formed() -> None:
    assert sorted((d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in DOCS) == sorted(
        [
            ("v1", "Namespace", "sigverify"),
            ("v1", "ServiceAccount", "sigverify-webhook"),
            ("v1", "ServiceAccount", "sigverify-reconciler"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole", "sigverify-image-reader"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole", "sigverify-image-reconciler"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole", "sigverify-pull-secret-reader"),
            (
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                "sigverify-webhook-pull-secret-reader",
            ),
            (
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                "sigverify-webhook-image-reader",
            ),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "sigverify-reconciler"),
            (
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                "sigverify-webhook-auth-delegator",
            ),
            ("v1", "ConfigMap", "sigverify-policy"),
            ("v1", "ConfigMap", "sigverify-keys"),
            ("apps/v1", "Deployment", "sigverify-webhook"),
            ("policy/v1", "PodDisruptionBudget", "sigverify-webhook"),
            ("v1", "Service", "sigverify-webhook"),
            ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "sigverify"),
            ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "sigverify"),
            ("batch/v1", "CronJob", "sigverify-reconciler"),
        ]
    )
    for doc in DOCS:
        meta = doc["metadata"]
        assert DNS_SUBDOMAIN.fullmatch(meta["name"]) and len(meta["name"]) <= 253
        if doc["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in meta, meta["name"]
        else:
            assert meta["namespace"] == NAMESPACE, meta["name"]
        assert meta["labels"]["app.kubernetes.io/name"] == "sigverify"


@pytest.mark.parametrize("layer", [DEPLOY, DEPLOY / "webhook"])
def test_kustomization_lists_every_manifest(layer: Path) -> None:
    kustomization = yaml.safe_load((layer / "kustomization.yaml").read_text())
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    files = sorted(p.name for p in layer.glob("*.yaml") if p.name != "kustomization.yaml")
    assert kustomization["resources"] == files


# -- RBAC ----------------------------------------------------------------------------------


def test_webhook_only_reads_images_and_only_the_reconciler_updates_them() -> None:
    resources = ["images", "imagestreams", "imagestreamimages", "imagestreamtags"]
    reader = one("ClusterRole", "sigverify-image-reader")
    assert reader["rules"] == [
        {"apiGroups": ["image.openshift.io"], "resources": resources, "verbs": ["get", "list"]}
    ]
    reconciler = one("ClusterRole", "sigverify-image-reconciler")
    assert reconciler["rules"] == [
        {"apiGroups": ["image.openshift.io"], "resources": resources, "verbs": ["get", "list"]},
        {"apiGroups": ["image.openshift.io"], "resources": ["images"], "verbs": ["update"]},
    ]
    # Pull credentials (admission.registries): get by name, never list, watch or write.
    assert one("ClusterRole", "sigverify-pull-secret-reader")["rules"] == [
        {"apiGroups": [""], "resources": ["secrets", "serviceaccounts"], "verbs": ["get"]}
    ]
    bindings = {
        b["metadata"]["name"]: (b["roleRef"], b["subjects"])
        for b in DOCS
        if b["kind"] == "ClusterRoleBinding"
    }
    role = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole"}
    assert bindings == {
        "sigverify-webhook-image-reader": (
            {**role, "name": "sigverify-image-reader"},
            [{"kind": "ServiceAccount", "name": "sigverify-webhook", "namespace": NAMESPACE}],
        ),
        "sigverify-reconciler": (
            {**role, "name": "sigverify-image-reconciler"},
            [{"kind": "ServiceAccount", "name": "sigverify-reconciler", "namespace": NAMESPACE}],
        ),
        "sigverify-webhook-pull-secret-reader": (
            {**role, "name": "sigverify-pull-secret-reader"},
            [{"kind": "ServiceAccount", "name": "sigverify-webhook", "namespace": NAMESPACE}],
        ),
        # TokenReview and SubjectAccessReview for the HTTP API's callers (issue 9).
        "sigverify-webhook-auth-delegator": (
            {**role, "name": "system:auth-delegator"},
            [{"kind": "ServiceAccount", "name": "sigverify-webhook", "namespace": NAMESPACE}],
        ),
    }


# -- the webhook's workload ----------------------------------------------------------------


def _parses(command: str, args: list[str]) -> None:
    """The container's arguments are flags the real ``sigverify`` command accepts."""
    from sigverify.cli import reconcile, serve

    click_command = {"serve": serve.command, "reconcile": reconcile.command}[command]
    assert args[0] == command
    with click_command.make_context(command, list(args[1:])) as context:
        given = {k: v for k, v in context.params.items() if v is not None and v is not False}
    assert set(given) >= {"policy", "keys", "in_cluster"}
    assert given["policy"] == "/etc/sigverify/policy/policy.yaml"
    assert given["keys"] == "/etc/sigverify/keys"


def _volumes_agree(pod: Doc) -> None:
    volumes = {v["name"]: v for v in pod["volumes"]}
    for container in pod["containers"]:
        mounts = {m["name"] for m in container["volumeMounts"]}
        assert mounts <= set(volumes), container["name"]
        for mount in container["volumeMounts"]:
            if mount["mountPath"] != "/tmp":
                assert mount["readOnly"] is True
    for volume in volumes.values():
        if "configMap" in volume:
            one("ConfigMap", volume["configMap"]["name"])
        if "secret" in volume:
            # The service CA creates the TLS secret named by the Service's annotation.
            service = one("Service", "sigverify-webhook")
            annotation = "service.beta.openshift.io/serving-cert-secret-name"
            assert volume["secret"]["secretName"] == service["metadata"]["annotations"][annotation]


def _hardened(pod: Doc) -> None:
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for container in pod["containers"]:
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


def test_webhook_deployment() -> None:
    deployment = one("Deployment", "sigverify-webhook")
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert spec["selector"] == {"matchLabels": WEBHOOK_SELECTOR}
    template = spec["template"]
    assert template["metadata"]["labels"] == WEBHOOK_SELECTOR
    pod = template["spec"]
    one("ServiceAccount", pod["serviceAccountName"])
    assert pod["serviceAccountName"] == "sigverify-webhook"
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert anti[0]["podAffinityTerm"]["labelSelector"] == {"matchLabels": WEBHOOK_SELECTOR}
    (container,) = pod["containers"]
    ports = {p["name"]: p for p in container["ports"]}
    assert ports["https"] == {"name": "https", "containerPort": 8443, "protocol": "TCP"}
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        check = container[probe]["httpGet"]
        assert check == {"path": path, "port": "https", "scheme": "HTTPS"}
        assert container[probe]["timeoutSeconds"] < container[probe]["periodSeconds"]
    args = container["args"]
    assert args[0] == "serve"
    assert "--tls-cert=/etc/sigverify/tls/tls.crt" in args
    assert "--tls-key=/etc/sigverify/tls/tls.key" in args
    assert "--policy=/etc/sigverify/policy/policy.yaml" in args
    assert "--port=8443" in args
    assert "--in-cluster" in args
    # Who may call: cluster mode (TokenReview/SubjectAccessReview), never switched off; the
    # webhook is served over TLS always.
    assert "--insecure-no-auth" not in args and not any(
        a.startswith("--token-auth-file") for a in args
    )
    _parses("serve", args)
    # an image API call gives up before the admission deadline (20-config.yaml)
    api_timeout = float(next(a for a in args if a.startswith("--api-timeout=")).split("=")[1])
    assert api_timeout < _admission_config().deadline_seconds
    # /readyz answers from a cached image API state within a second (Settings defaults:
    # readiness_wait_seconds < 1), whatever the API timeout: the probe allows more than that.
    readiness = container["readinessProbe"]
    assert Settings().readiness_wait_seconds < 1 < readiness["timeoutSeconds"]
    assert not any(a.startswith("--readiness-") for a in args)
    _volumes_agree(pod)
    _hardened(pod)


def test_pod_disruption_budget_keeps_one_webhook() -> None:
    pdb = one("PodDisruptionBudget", "sigverify-webhook")
    replicas = one("Deployment", "sigverify-webhook")["spec"]["replicas"]
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": WEBHOOK_SELECTOR}}
    assert pdb["spec"]["minAvailable"] < replicas


def test_service_has_the_serving_cert_annotation() -> None:
    service = one("Service", "sigverify-webhook")
    assert service["metadata"]["annotations"] == {
        "service.beta.openshift.io/serving-cert-secret-name": "sigverify-webhook-tls"
    }
    assert service["spec"]["selector"] == WEBHOOK_SELECTOR
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}
    ]


# -- the webhook configurations ------------------------------------------------------------

#: API group → resource → kind, for every kind the webhook reads.
RESOURCES = {
    ("", "pods"): "Pod",
    ("", "replicationcontrollers"): "ReplicationController",
    ("apps", "deployments"): "Deployment",
    ("apps", "replicasets"): "ReplicaSet",
    ("apps", "statefulsets"): "StatefulSet",
    ("apps", "daemonsets"): "DaemonSet",
    ("batch", "jobs"): "Job",
    ("batch", "cronjobs"): "CronJob",
    ("apps.openshift.io", "deploymentconfigs"): "DeploymentConfig",
}


def _admission_config() -> AdmissionConfig:
    policy = yaml.safe_load(one("ConfigMap", "sigverify-policy")["data"]["policy.yaml"])
    return parse_admission_config(policy["admission"])


def _routes() -> set[str]:
    app = Flask(__name__)
    controller = AdmissionController(AdmissionConfig(), object(), lambda: None)  # type: ignore[arg-type,return-value]
    init_app(app, controller)
    return {rule.rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())}


@pytest.mark.parametrize(
    ("kind", "hook", "path"),
    [
        ("ValidatingWebhookConfiguration", "validate.images.sigverify.io", "/admission/validate"),
        ("MutatingWebhookConfiguration", "pin.images.sigverify.io", "/admission/mutate"),
    ],
)
def test_webhook_configuration(kind: str, hook: str, path: str) -> None:
    configuration = one(kind, "sigverify")
    assert configuration["metadata"]["annotations"] == {
        "service.beta.openshift.io/inject-cabundle": "true"
    }
    (webhook,) = configuration["webhooks"]
    assert webhook["name"] == hook and hook.count(".") >= 2  # a fully qualified name
    assert webhook["admissionReviewVersions"] == ["v1"]
    assert webhook["sideEffects"] == "None"
    assert webhook["failurePolicy"] == "Fail"
    assert webhook["matchPolicy"] == "Equivalent"
    config = _admission_config()
    assert 1 <= webhook["timeoutSeconds"] <= 30
    assert webhook["timeoutSeconds"] == config.timeout_seconds > config.deadline_seconds
    service = one("Service", "sigverify-webhook")
    assert webhook["clientConfig"] == {
        "service": {
            "namespace": service["metadata"]["namespace"],
            "name": service["metadata"]["name"],
            "path": path,
            "port": service["spec"]["ports"][0]["port"],
        }
    }  # no caBundle: the service CA injects it
    assert path in _routes()
    assert webhook["namespaceSelector"] == {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": [NAMESPACE, *sorted(config.all_exempt_namespaces - {NAMESPACE})],
            }
        ]
    }
    assert "objectSelector" not in webhook  # labels on objects must not exempt anything
    covered = set()
    for rule in webhook["rules"]:
        assert rule["operations"] == ["CREATE", "UPDATE"]
        assert rule["apiVersions"] == ["v1"]
        assert rule["scope"] == "Namespaced"
        (group,) = rule["apiGroups"]
        for resource in rule["resources"]:
            covered.add((group, resource))
    assert covered == set(RESOURCES) | {("", "pods/ephemeralcontainers")}
    assert {(g, k) for (g, _), k in RESOURCES.items()} == set(POD_SPEC_PATHS)
    if kind == "MutatingWebhookConfiguration":
        assert webhook["reinvocationPolicy"] == "IfNeeded"


# -- configuration -------------------------------------------------------------------------


def test_policy_config_map_loads(tmp_path: Path) -> None:
    config_map = one("ConfigMap", "sigverify-policy")
    document = yaml.safe_load(config_map["data"]["policy.yaml"])
    config = parse_admission_config(document["admission"])
    assert config.own_namespace == NAMESPACE and config.exempt_own_namespace
    assert config.mode.value == "warn"  # enforce is opted into per namespace
    assert config.internal_registry_hosts == ("image-registry.openshift-image-registry.svc:5000",)
    keys = tmp_path / "keys"
    keys.mkdir()
    for name, text in one("ConfigMap", "sigverify-keys")["data"].items():
        (keys / name).write_text(text)
    loaded = parse_policy_document(
        yaml.safe_dump(document).encode(), source="policy.yaml", keys_dir=keys, base_dir=tmp_path
    )
    assert loaded.format == "sigverify"
    assert loaded.admission == config  # the webhook's section, parsed once with the policy
    assert {k.fingerprint for k in loaded.keyring} == {"567E347AD0044ADE55BA8A5F199E2F91FD431D51"}
    assert document["keysDirectory"] == "/etc/sigverify/keys"


def test_key_config_map_is_the_shipped_key() -> None:
    data = one("ConfigMap", "sigverify-keys")["data"]
    assert data == {"redhat-release2.asc": (REPO / "keys" / "redhat-release2.asc").read_text()}


# -- reconciler ----------------------------------------------------------------------------


def test_reconciler_cron_job() -> None:
    cron = one("CronJob", "sigverify-reconciler")
    spec = cron["spec"]
    assert len(spec["schedule"].split()) == 5
    assert spec["concurrencyPolicy"] == "Forbid"
    job = spec["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    assert pod["serviceAccountName"] == "sigverify-reconciler"
    one("ServiceAccount", pod["serviceAccountName"])
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["args"][:2] == ["reconcile", "--once"]  # a Job must end
    _parses("reconcile", container["args"])
    assert job["activeDeadlineSeconds"] < 30 * 60  # finishes before the next run is due
    _volumes_agree(pod)
    _hardened(pod)
    for doc in DOCS:
        if doc["kind"] == "ServiceAccount":
            assert DNS_LABEL.fullmatch(doc["metadata"]["name"])
