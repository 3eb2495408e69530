"""The webhook end to end: real AdmissionReviews posted over HTTP to the admission endpoints,
backed by the embedded store's OpenShift REST (through the OpenShift client), the real engine
and real signatures. Every answer is checked field by field."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigverify.imageapi.openshift import ClusterOptions, connect
from tests.admission.builders import INTERNAL, pod_spec, review, workload
from tests.admission.world import (
    APP,
    EVIL,
    INIT,
    STRANGE,
    UNKNOWN,
    UNSIGNED,
    WEB,
    Keys,
    post,
    service_with_webhook,
    serving,
)

TRUSTED_WEB = f"quay.io/acme/web@{WEB}"
TRUSTED_INIT = f"quay.io/acme/init@{INIT}"
EVIL_IMAGE = f"quay.io/acme/evil@{EVIL}"


def key_id(fingerprint: str) -> str:
    return "0x" + fingerprint[-16:]


@pytest.fixture(scope="module")
def webhook(store_url: str, admission_policy: Path) -> Iterator[str]:
    """The sigverify service with its admission endpoints, over the store's REST."""
    api = connect(ClusterOptions(server=store_url, timeout=5))
    app, controller = service_with_webhook(admission_policy, api)
    with serving(app) as url:
        yield url
    controller.close()
    api.close()


def validate(url: str, document: dict[str, Any]) -> dict[str, Any]:
    status, body = post(f"{url}/admission/validate", document)
    assert status == 200, body
    assert body["apiVersion"] == "admission.k8s.io/v1"
    assert body["kind"] == "AdmissionReview"
    assert body["response"]["uid"] == document["request"]["uid"]
    response: dict[str, Any] = body["response"]
    return response


def verdicts(response: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(response["auditAnnotations"]["verdicts"])
    return result


def pod(*images: str, init: tuple[str, ...] = (), namespace: str = "team") -> dict[str, Any]:
    return workload("Pod", pod_spec(images, init=init), namespace=namespace)


# -- allowed -------------------------------------------------------------------------------


def test_pod_with_trusted_images_and_init_container(webhook: str, admission_keys: Keys) -> None:
    response = validate(webhook, review(pod(TRUSTED_WEB, init=(TRUSTED_INIT,))))
    assert response["allowed"] is True
    assert "status" not in response and "warnings" not in response and "patch" not in response
    acme = key_id(admission_keys.acme.fingerprint)
    assert response["auditAnnotations"]["decision"] == "allow"
    assert response["auditAnnotations"]["reason"] == "Trusted"
    assert verdicts(response) == [
        {
            "digest": INIT,
            "image": TRUSTED_INIT,
            "keys": [acme],
            "mode": "enforce",
            "passed": True,
            "pointer": "/spec/initContainers/0/image",
            "result": "Trusted",
            "scope": "quay.io/acme",
        },
        {
            "digest": WEB,
            "image": TRUSTED_WEB,
            "keys": [acme],
            "mode": "enforce",
            "passed": True,
            "pointer": "/spec/containers/0/image",
            "result": "Trusted",
            "scope": "quay.io/acme",
        },
    ]


def test_deployment_with_an_image_stream_tag(webhook: str) -> None:
    deployment = workload("Deployment", pod_spec((f"{INTERNAL}/team/app:v1",)))
    response = validate(webhook, review(deployment))
    assert response["allowed"] is True
    (entry,) = verdicts(response)
    assert entry["digest"] == APP
    assert entry["scope"] == "registry.example.com/team"  # the image's imported-from identity
    assert entry["pointer"] == "/spec/template/spec/containers/0/image"


def test_exempt_namespaces_are_not_checked(webhook: str) -> None:
    for namespace in ("infra", "sigverify"):
        response = validate(webhook, review(pod(EVIL_IMAGE, namespace=namespace)))
        assert response == {
            "uid": "0df28fbd-5f5f-11e8-bc74-36e6bb280816",
            "allowed": True,
            "auditAnnotations": {"decision": "allow", "reason": "Exempt", "exempt": "namespace"},
        }


def test_exempt_images_are_not_checked(webhook: str) -> None:
    response = validate(webhook, review(pod(TRUSTED_WEB, "quay.io/tools/debug:latest")))
    assert response["allowed"] is True
    assert [(v["image"], v["result"], v["mode"]) for v in verdicts(response)] == [
        (TRUSTED_WEB, "Trusted", "enforce"),
        ("quay.io/tools/debug:latest", "Exempt", "exempt"),
    ]


def test_update_checks_only_changed_images(webhook: str) -> None:
    old = workload("Deployment", pod_spec((EVIL_IMAGE,)))  # admitted before the policy
    new = workload("Deployment", pod_spec((EVIL_IMAGE,)))
    new["spec"]["replicas"] = 5
    response = validate(webhook, review(new, operation="UPDATE", old=old))
    assert response["allowed"] is True
    assert response["auditAnnotations"] == {"decision": "allow", "reason": "NoImageChange"}
    new["spec"]["template"]["spec"]["containers"].append(
        {"name": "web", "image": f"quay.io/acme/strange@{STRANGE}"}
    )
    response = validate(webhook, review(new, operation="UPDATE", old=old))
    assert response["allowed"] is False
    assert [v["image"] for v in verdicts(response)] == [f"quay.io/acme/strange@{STRANGE}"]


def test_delete_is_not_checked(webhook: str) -> None:
    response = validate(webhook, review(None, operation="DELETE", old=pod(EVIL_IMAGE)))
    assert response["allowed"] is True
    assert response["auditAnnotations"] == {"decision": "allow", "reason": "NotChecked"}


# -- denied --------------------------------------------------------------------------------


def test_untrusted_signer_is_denied_naming_image_keys_and_requirement(
    webhook: str, admission_keys: Keys
) -> None:
    response = validate(webhook, review(pod(TRUSTED_WEB, EVIL_IMAGE)))
    partner = key_id(admission_keys.partner.fingerprint)
    acme = key_id(admission_keys.acme.fingerprint)
    assert response["allowed"] is False
    assert response["status"] == {
        "code": 403,
        "message": (
            f'sigverify denied Pod team/web: image "{EVIL_IMAGE}" at spec.containers[1] (c1) is '
            f"not trusted [UntrustedKey]: signatures seen: {partner} (UntrustedKey); scope "
            f'"quay.io/acme" requires: signedBy {acme} (matchRepoDigestOrExact)'
        ),
    }
    assert "warnings" not in response
    assert response["auditAnnotations"]["decision"] == "deny"
    assert response["auditAnnotations"]["reason"] == "UntrustedKey"
    assert [(v["image"], v["result"], v["passed"]) for v in verdicts(response)] == [
        (TRUSTED_WEB, "Trusted", True),
        (EVIL_IMAGE, "UntrustedKey", False),
    ]


def test_unknown_key_unsigned_and_unknown_images(webhook: str, admission_keys: Keys) -> None:
    stranger = key_id(admission_keys.stranger.fingerprint)
    acme = key_id(admission_keys.acme.fingerprint)
    response = validate(webhook, review(pod(f"quay.io/acme/strange@{STRANGE}")))
    assert response["status"]["message"] == (
        f'sigverify denied Pod team/web: image "quay.io/acme/strange@{STRANGE}" at '
        f"spec.containers[0] (c0) is not trusted [UnknownKey]: signatures seen: {stranger} "
        f'(UnknownKey); scope "quay.io/acme" requires: signedBy {acme} (matchRepoDigestOrExact)'
    )
    response = validate(webhook, review(pod(f"quay.io/acme/unsigned@{UNSIGNED}")))
    assert response["status"]["message"] == (
        f'sigverify denied Pod team/web: image "quay.io/acme/unsigned@{UNSIGNED}" at '
        "spec.containers[0] (c0) is not trusted [NotSigned]: signatures seen: none; scope "
        f'"quay.io/acme" requires: signedBy {acme} (matchRepoDigestOrExact)'
    )
    dc = workload("DeploymentConfig", pod_spec((f"quay.io/acme/web@{UNKNOWN}",)))
    response = validate(webhook, review(dc))
    assert response["allowed"] is False
    assert response["status"] == {
        "code": 403,
        "message": (
            f'sigverify denied DeploymentConfig team/web: image "quay.io/acme/web@{UNKNOWN}" at '
            "spec.template.spec.containers[0] (c0) is not admitted [ImageNotFound]: the cluster "
            f"has no Image {UNKNOWN}, so it has no signatures to check; signatures seen: none"
        ),
    }


def test_cron_job_with_an_unpinned_tag(webhook: str) -> None:
    cron = workload("CronJob", pod_spec(("quay.io/acme/web:1.0",)))
    response = validate(webhook, review(cron))
    assert response["allowed"] is False
    assert response["status"] == {
        "code": 403,
        "message": (
            'sigverify denied CronJob team/web: image "quay.io/acme/web:1.0" at '
            "spec.jobTemplate.spec.template.spec.containers[0] (c0) is not admitted "
            "[UnpinnedTag]: it names a tag, not a digest, and no image stream resolves it; the "
            "policy requires images by digest or through an image stream"
        ),
    }
    (entry,) = verdicts(response)
    assert entry["pointer"] == "/spec/jobTemplate/spec/template/spec/containers/0/image"


def test_ephemeral_container_added_by_the_subresource(webhook: str) -> None:
    old = pod(TRUSTED_WEB)
    new = pod(TRUSTED_WEB)
    new["spec"]["ephemeralContainers"] = [{"name": "debug", "image": EVIL_IMAGE}]
    document = review(new, operation="UPDATE", old=old, sub_resource="ephemeralcontainers")
    response = validate(webhook, document)
    assert response["allowed"] is False
    assert response["status"]["message"].startswith(
        f'sigverify denied Pod team/web: image "{EVIL_IMAGE}" at spec.ephemeralContainers[0] '
        "(debug) is not trusted [UntrustedKey]"
    )


def test_dry_run_gets_the_same_answer_annotated(webhook: str) -> None:
    wet = validate(webhook, review(pod(EVIL_IMAGE)))
    dry = validate(webhook, review(pod(EVIL_IMAGE), dry_run=True))
    assert dry["allowed"] is False and dry["status"] == wet["status"]
    assert dry["auditAnnotations"] == {**wet["auditAnnotations"], "dryRun": "true"}


# -- warn and audit modes ------------------------------------------------------------------


def test_warn_mode_allows_with_a_warning(webhook: str) -> None:
    response = validate(webhook, review(pod(EVIL_IMAGE, namespace="team-warn")))
    assert response["allowed"] is True
    # 58 characters of explanation, the image cut in the middle to fit 120
    prefix = "sigverify: untrusted (UntrustedKey); allowed (warn mode): "
    assert response["warnings"] == [prefix + EVIL_IMAGE[:30] + "…" + EVIL_IMAGE[-31:]]
    assert len(response["warnings"][0]) == 120
    assert response["auditAnnotations"]["decision"] == "warn"
    assert verdicts(response)[0]["mode"] == "warn"


def test_audit_mode_allows_with_an_annotation_only(webhook: str) -> None:
    response = validate(webhook, review(pod(EVIL_IMAGE, namespace="team-audit")))
    assert response["allowed"] is True
    assert "warnings" not in response
    assert response["auditAnnotations"]["decision"] == "audit"
    assert response["auditAnnotations"]["reason"] == "UntrustedKey"


# -- malformed requests --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{", 400, "the body is not JSON: Expecting property name enclosed in double quotes"),
        (b"[]", 400, "the body must be a JSON object (an AdmissionReview)"),
        (
            json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(),
            400,
            "not an admission.k8s.io/v1 AdmissionReview: request: Missing data for required field.",
        ),
    ],
)
def test_malformed_bodies_get_400(webhook: str, body: bytes, status: int, message: str) -> None:
    code, answer = post(f"{webhook}/admission/validate", body)
    assert code == status
    assert answer["code"] == status and answer["status"] == "Bad Request"
    assert answer["message"].startswith(message)


def test_wrong_content_type_gets_415(webhook: str) -> None:
    code, answer = post(f"{webhook}/admission/validate", b"{}", content_type="text/plain")
    assert (code, answer["message"]) == (415, "the body must be application/json")


def test_unreadable_object_is_denied(webhook: str) -> None:
    document = review(pod(TRUSTED_WEB))
    document["request"]["object"]["spec"]["containers"] = {"web": "x"}
    response = validate(webhook, document)
    assert response["allowed"] is False
    assert response["status"] == {
        "code": 400,
        "message": "sigverify cannot read Pod team/web: /spec/containers: must be a list",
    }


# -- mutate --------------------------------------------------------------------------------


def mutate(url: str, document: dict[str, Any]) -> dict[str, Any]:
    status, body = post(f"{url}/admission/mutate", document)
    assert status == 200, body
    response: dict[str, Any] = body["response"]
    assert response["uid"] == document["request"]["uid"]
    return response


def test_mutate_pins_image_stream_tags(webhook: str) -> None:
    spec = pod_spec((f"{INTERNAL}/team/app:v1", TRUSTED_WEB), init=(f"{INTERNAL}/team/app:v1",))
    response = mutate(webhook, review(workload("Deployment", spec)))
    assert response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    pinned = f"{INTERNAL}/team/app@{APP}"
    original = f"{INTERNAL}/team/app:v1"
    init = "/spec/template/spec/initContainers/0/image"
    main = "/spec/template/spec/containers/0/image"
    assert json.loads(base64.b64decode(response["patch"])) == [
        {"op": "test", "path": init, "value": original},
        {"op": "replace", "path": init, "value": pinned},
        {"op": "test", "path": main, "value": original},
        {"op": "replace", "path": main, "value": pinned},
    ]
    assert response["auditAnnotations"]["reason"] == "Pinned"
    assert json.loads(response["auditAnnotations"]["pinned"]) == [
        {"from": original, "pointer": init, "to": pinned},
        {"from": original, "pointer": main, "to": pinned},
    ]
    # what the mutated object will be judged as: the pinned digest is trusted
    patched = pod(pinned)
    assert validate(webhook, review(patched))["allowed"] is True


def test_mutate_leaves_digests_external_tags_and_exempt_namespaces(webhook: str) -> None:
    for document in (
        review(pod(TRUSTED_WEB, "quay.io/acme/web:1.0")),
        review(pod(f"{INTERNAL}/team/app:v1", namespace="infra")),
    ):
        response = mutate(webhook, document)
        assert response["allowed"] is True
        assert "patch" not in response and "patchType" not in response
