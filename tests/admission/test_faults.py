"""The image API down or slow: the documented fail-closed answer (HTTP 200, ``allowed: false``,
code 503, a message that says why) arrives before the webhook's ``timeoutSeconds`` — the
client here gives up at exactly that, as the API server would — and scopes configured
``failOpen`` are allowed with a warning instead."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sigverify.imageapi.openshift import ClusterOptions, connect
from tests.admission.builders import pod_spec, review, workload
from tests.admission.world import (
    ADMISSION,
    EVIL,
    FLAKY,
    WEB,
    post,
    service_with_webhook,
    serving,
)

TIMEOUT_SECONDS = 2  # the webhook's timeoutSeconds: the API server stops waiting here
WEB_IMAGE = f"quay.io/acme/web@{WEB}"
FLAKY_IMAGE = f"quay.io/flaky/x@{FLAKY}"


@pytest.fixture
def slow_api() -> Iterator[str]:
    """An API server that accepts connections and never answers (until the test ends)."""
    release = threading.Event()
    app = Flask("slow-api")

    @app.route("/<path:anything>")
    def hang(anything: str) -> tuple[str, int]:
        release.wait(30)
        return "{}", 503

    with serving(app) as url:
        yield url
        release.set()


@pytest.fixture
def down_api() -> str:
    """The address of an API server that is not running (a port nobody listens on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _webhook(api_url: str, policy: Path) -> Any:
    api = connect(ClusterOptions(server=api_url, timeout=30, connect_timeout=30))
    app, _ = service_with_webhook(
        policy, api, {**ADMISSION, "timeoutSeconds": TIMEOUT_SECONDS, "deadlineSeconds": 0.5}
    )
    return serving(app)


def _validate(url: str, *images: str) -> dict[str, Any]:
    document = review(workload("Pod", pod_spec(images)))
    status, body = post(f"{url}/admission/validate", document, timeout=TIMEOUT_SECONDS)
    assert status == 200
    response: dict[str, Any] = body["response"]
    return response


@pytest.mark.slow  # waits out a real deadline or timeout
def test_slow_api_fails_closed_within_the_deadline(slow_api: str, admission_policy: Path) -> None:
    with _webhook(slow_api, admission_policy) as url:
        response = _validate(url, WEB_IMAGE)
    assert response["allowed"] is False
    assert response["status"] == {
        "code": 503,
        "message": (
            f'sigverify denied Pod team/web: image "{WEB_IMAGE}" at spec.containers[0] (c0) could '
            "not be verified [DeadlineExceeded]: the image API and verifier did not answer "
            "within the 0.5s admission deadline; denied because its scope fails closed"
        ),
    }
    assert response["auditAnnotations"]["reason"] == "DeadlineExceeded"


@pytest.mark.slow
def test_slow_api_fails_open_only_for_fail_open_scopes(
    slow_api: str, admission_policy: Path
) -> None:
    with _webhook(slow_api, admission_policy) as url:
        response = _validate(url, FLAKY_IMAGE)
        assert response["allowed"] is True
        prefix = "sigverify: unverified (DeadlineExceeded); allowed (fail-open): "
        assert response["warnings"] == [prefix + FLAKY_IMAGE[:28] + "…" + FLAKY_IMAGE[-28:]]
        assert response["auditAnnotations"]["decision"] == "warn"
        # one fail-closed image among them denies the pod
        response = _validate(url, FLAKY_IMAGE, WEB_IMAGE)
        assert response["allowed"] is False and response["status"]["code"] == 503


def test_mutate_leaves_images_alone_when_the_api_is_down(
    down_api: str, admission_policy: Path
) -> None:
    image = "image-registry.openshift-image-registry.svc:5000/team/app:v1"
    document = review(workload("Deployment", pod_spec((image,))))
    with _webhook(down_api, admission_policy) as url:
        status, body = post(f"{url}/admission/mutate", document, timeout=TIMEOUT_SECONDS)
    assert status == 200
    assert body["response"] == {
        "uid": document["request"]["uid"],
        "allowed": True,
        "auditAnnotations": {
            "decision": "allow",
            "reason": "Unresolved",
            "unresolved": f'["{image}"]',
        },
    }


def test_api_down_fails_closed(down_api: str, admission_policy: Path) -> None:
    with _webhook(down_api, admission_policy) as url:
        response = _validate(url, f"quay.io/acme/evil@{EVIL}")
    assert response["allowed"] is False
    assert response["status"]["code"] == 503
    message = response["status"]["message"]
    assert message.startswith(
        f'sigverify denied Pod team/web: image "quay.io/acme/evil@{EVIL}" at spec.containers[0] '
        "(c0) could not be verified [ImageAPIUnavailable]: the image API could not answer: "
        f"cannot reach the API server at {down_api}"
    )
    assert message.endswith("; denied because its scope fails closed")
    assert response["auditAnnotations"]["reason"] == "ImageAPIUnavailable"


def test_no_policy_loaded_fails_closed(store_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "policy.yaml"
    broken.write_text("apiVersion: sigverify/v1\nkind: TrustPolicy\ndefault: []\n")
    (tmp_path / "keys").mkdir()
    with _webhook(store_url, broken) as url:
        response = _validate(url, WEB_IMAGE)
    assert response["allowed"] is False
    assert response["status"]["code"] == 503
    assert response["status"]["message"].startswith(
        f'sigverify denied Pod team/web: image "{WEB_IMAGE}" at spec.containers[0] (c0) could '
        "not be verified [VerificationError]: the signature verifier failed: no trust policy "
        "is loaded: "
    )
