"""Real AdmissionReview documents (admission.k8s.io/v1) for Pods and pod-template owners."""

from __future__ import annotations

import copy
from typing import Any

INTERNAL = "image-registry.openshift-image-registry.svc:5000"

#: (group, version, kind, resource) of every kind the webhook reads.
KINDS = {
    "Pod": ("", "v1", "pods"),
    "ReplicationController": ("", "v1", "replicationcontrollers"),
    "Deployment": ("apps", "v1", "deployments"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "DeploymentConfig": ("apps.openshift.io", "v1", "deploymentconfigs"),
    "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"),
}


def containers(*images: str, prefix: str = "c") -> list[dict[str, Any]]:
    return [{"name": f"{prefix}{i}", "image": image} for i, image in enumerate(images)]


def pod_spec(
    images: tuple[str, ...] = (),
    init: tuple[str, ...] = (),
    ephemeral: tuple[str, ...] = (),
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers(*images), "restartPolicy": "Always"}
    if init:
        spec["initContainers"] = containers(*init, prefix="init")
    if ephemeral:
        spec["ephemeralContainers"] = containers(*ephemeral, prefix="debug")
    return spec


def _template(spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}}, "spec": spec}


def workload(
    kind: str, spec: dict[str, Any], *, name: str = "web", namespace: str = "team"
) -> dict[str, Any]:
    """An object of ``kind`` whose pod spec is ``spec``."""
    group, version, _ = KINDS[kind]
    api_version = f"{group}/{version}" if group else version
    meta = {"name": name, "namespace": namespace}
    if kind == "Pod":
        body: dict[str, Any] = {"spec": spec}
    elif kind == "CronJob":
        body = {
            "spec": {
                "schedule": "*/5 * * * *",
                "jobTemplate": {"spec": {"template": _template(spec)}},
            }
        }
    elif kind == "DeploymentConfig":
        body = {
            "spec": {
                "replicas": 2,
                "selector": {"app": "web"},
                "template": _template(spec),
                "triggers": [{"type": "ConfigChange"}],
            }
        }
    else:
        body = {"spec": {"replicas": 1, "template": _template(spec)}}
        if kind != "ReplicationController" and kind != "Job":
            body["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}


def review(
    obj: dict[str, Any] | None,
    *,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    dry_run: bool = False,
    uid: str = "0df28fbd-5f5f-11e8-bc74-36e6bb280816",
    kind: str | None = None,
    namespace: str | None = None,
    sub_resource: str | None = None,
) -> dict[str, Any]:
    """The AdmissionReview the API server would post for ``obj``."""
    source = obj if obj is not None else old
    assert source is not None
    kind = kind or source["kind"]
    group, version, resource = KINDS.get(kind, ("", "v1", kind.lower() + "s"))
    namespace = namespace if namespace is not None else source["metadata"].get("namespace", "")
    request: dict[str, Any] = {
        "uid": uid,
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": resource},
        "name": source["metadata"].get("name", ""),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "alice", "uid": "u-1", "groups": ["system:authenticated"]},
        "object": copy.deepcopy(obj),
        "oldObject": copy.deepcopy(old),
        "dryRun": dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
    }
    if sub_resource:
        request["subResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
