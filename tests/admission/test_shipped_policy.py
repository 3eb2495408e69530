"""The admission section shipped in deploy/ (warn, the platform exempt), applied by the real
webhook over HTTP to the pods that broke OperatorHub under the old enforce default (issue 11):
the marketplace's catalog pod (a tag no image stream resolves) and an OLM operator pod by
digest (no Image object)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigverify.imageapi.openshift import ClusterOptions, connect
from tests.admission.builders import pod_spec, review, workload
from tests.admission.world import post, service_with_webhook, serving
from tests.deploy import kustomize

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# In a scope the test policy trusts (as the shipped policy trusts registry.redhat.io), so the
# reason is the one the issue saw rather than the default's reject.
CATALOG = "quay.io/acme/operator-index:v4.16"
OPERATOR = "quay.io/acme/example-operator@sha256:" + "c" * 64


def shipped_admission() -> dict[str, Any]:
    (config_map,) = [
        d
        for d in kustomize.render(DEPLOY)
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "sigverify-policy"
    ]
    section: dict[str, Any] = yaml.safe_load(config_map["data"]["policy.yaml"])["admission"]
    return section


@pytest.fixture(scope="module")
def webhook(store_url: str, admission_policy: Path) -> Iterator[str]:
    api = connect(ClusterOptions(server=store_url, timeout=5))
    app, controller = service_with_webhook(admission_policy, api, shipped_admission())
    with serving(app) as url:
        yield url
    controller.close()
    api.close()


def validate(url: str, image: str, namespace: str) -> dict[str, Any]:
    status, body = post(
        f"{url}/admission/validate",
        review(workload("Pod", pod_spec((image,)), namespace=namespace)),
    )
    assert status == 200, body
    response: dict[str, Any] = body["response"]
    return response


@pytest.mark.parametrize(
    ("image", "namespace"),
    [
        (CATALOG, "openshift-marketplace"),
        (OPERATOR, "openshift-operators"),
        (OPERATOR, "openshift-operator-lifecycle-manager"),
        (OPERATOR, "openshift-cnv"),  # by the openshift-* prefix only
        (CATALOG, "kube-public"),
    ],
)
def test_platform_namespaces_are_exempt(webhook: str, image: str, namespace: str) -> None:
    response = validate(webhook, image, namespace)
    assert response["allowed"] is True
    assert "warnings" not in response
    assert response["auditAnnotations"] == {
        "decision": "allow",
        "reason": "Exempt",
        "exempt": "namespace",
    }


@pytest.mark.parametrize(
    ("image", "reason"), [(CATALOG, "UnpinnedTag"), (OPERATOR, "ImageNotFound")]
)
def test_elsewhere_a_failed_check_is_allowed_with_a_warning(
    webhook: str, image: str, reason: str
) -> None:
    response = validate(webhook, image, "acme-operators")
    assert response["allowed"] is True
    (warning,) = response["warnings"]
    assert warning.startswith(f"sigverify: untrusted ({reason}); allowed (warn mode): ")
    assert response["auditAnnotations"]["decision"] == "warn"
    assert response["auditAnnotations"]["reason"] == reason


def test_a_namespace_opted_into_enforce_is_denied(store_url: str, admission_policy: Path) -> None:
    section = {**shipped_admission(), "namespaces": {"acme-prod": {"mode": "enforce"}}}
    api = connect(ClusterOptions(server=store_url, timeout=5))
    app, controller = service_with_webhook(admission_policy, api, section)
    try:
        with serving(app) as url:
            assert validate(url, OPERATOR, "acme-prod")["allowed"] is False
            assert validate(url, OPERATOR, "acme-dev")["allowed"] is True
    finally:
        controller.close()
        api.close()
