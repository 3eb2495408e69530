"""Who may call (issue 9), embedded mode: a static token file (kube-apiserver's format) and
the groups sigverify:read, sigverify:record and sigverify:admin. Every endpoint × every
caller: 401 without a (known) token, 403 for a known caller without the right, else the
endpoint's own answer; denials are Kubernetes Status objects and are logged."""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.settings import Settings
from tests.imageapi.demo import APP, APP_SIGNATURE, Clock
from tests.service.conftest import make_app

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"
STORE = "/apis/image.openshift.io/v1"
TOKENS = {
    "nobody": "t-nobody",
    "reader": "t-reader",
    "recorder": "t-recorder",
    "admin": "t-admin",
}
TOKEN_FILE = """\
t-nobody,nobody,u0
t-reader,reader,u1,"sigverify:read"
t-recorder,recorder,u2,"system:authenticated,sigverify:record"
t-admin,admin,u3,sigverify:admin
"""
CALLERS = ("none", "unknown", "nobody", "reader", "recorder", "admin")
RANK = {"nobody": 0, "reader": 1, "recorder": 2, "admin": 3}

Call = Callable[[FlaskClient, dict[str, str], ImageStore], Any]


def _signature_body() -> dict[str, Any]:
    content = base64.b64encode(b"not a signature").decode()
    return {"metadata": {"name": f"{APP}@added"}, "type": "atomic", "content": content}


# endpoint: (call, right needed (0 read .. 3 admin), success status)
ENDPOINTS: dict[str, tuple[Call, int, int]] = {
    "get-verification": (lambda c, h, s: c.get(APP_PATH, headers=h), 1, 200),
    "post-verification": (lambda c, h, s: c.post(APP_PATH, headers=h), 1, 200),
    "post-verification-record-false": (
        lambda c, h, s: c.post(APP_PATH, query_string={"record": "false"}, headers=h),
        1,
        200,
    ),
    "record": (
        lambda c, h, s: c.post(APP_PATH, query_string={"record": "true"}, headers=h),
        2,
        200,
    ),
    "record-odd-spelling": (
        lambda c, h, s: c.post(APP_PATH, query_string={"record": "True"}, headers=h),
        2,
        200,
    ),
    "verify-document": (
        lambda c, h, s: c.post("/api/v1/verify", json=s.get_image(APP), headers=h),
        1,
        200,
    ),
    "metrics": (lambda c, h, s: c.get("/metrics", headers=h), 1, 200),
    "audit": (lambda c, h, s: c.get("/api/v1/audit?namespace=demo", headers=h), 1, 200),
    "unknown-path": (lambda c, h, s: c.get("/api/v1/nothing", headers=h), 1, 404),
    "store-list-images": (lambda c, h, s: c.get(f"{STORE}/images", headers=h), 1, 200),
    "store-get-image": (lambda c, h, s: c.get(f"{STORE}/images/{APP}", headers=h), 1, 200),
    "store-get-stream-image": (
        lambda c, h, s: c.get(f"{STORE}/namespaces/demo/imagestreamimages/app@{APP}", headers=h),
        1,
        200,
    ),
    "store-watch-images": (
        lambda c, h, s: c.get(f"{STORE}/images?watch=true&timeoutSeconds=1", headers=h),
        1,
        200,
    ),
    "store-patch-image": (
        lambda c, h, s: c.patch(
            f"{STORE}/images/{APP}",
            data='{"metadata":{"labels":{"a":"b"}}}',
            content_type="application/merge-patch+json",
            headers=h,
        ),
        3,
        200,
    ),
    "store-patch-image-dry-run": (  # a dry run needs the right to write all the same
        lambda c, h, s: c.patch(
            f"{STORE}/images/{APP}?dryRun=All",
            data='{"metadata":{"labels":{"a":"b"}}}',
            content_type="application/merge-patch+json",
            headers=h,
        ),
        3,
        200,
    ),
    "store-put-image": (
        lambda c, h, s: c.put(f"{STORE}/images/{APP}", json=s.get_image(APP), headers=h),
        3,
        200,
    ),
    "store-create-signature": (
        lambda c, h, s: c.post(f"{STORE}/imagesignatures", json=_signature_body(), headers=h),
        3,
        201,
    ),
    "store-delete-signature": (
        lambda c, h, s: c.delete(f"{STORE}/imagesignatures/{APP_SIGNATURE}", headers=h),
        3,
        200,
    ),
}
OPEN = ("/healthz", "/readyz", "/openapi.json")


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.csv"
    path.write_text(TOKEN_FILE)
    return path


@pytest.fixture
def secured(settings: Settings, token_file: Path, store: ImageStore, clock: Clock) -> Flask:
    secure = dataclasses.replace(
        settings, insecure_no_auth=False, token_auth_file=str(token_file), serve_store_api=True
    )
    return make_app(secure, store, clock)


def _headers(caller: str) -> dict[str, str]:
    if caller == "none":
        return {}
    if caller == "unknown":
        return {"Authorization": "Bearer t-forged"}
    return {"Authorization": f"Bearer {TOKENS[caller]}"}


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


# The exhaustive sweeps (a fresh app per case, about 110 cases) are slow; the quick run keeps
# the single-case checks below.
@pytest.mark.slow
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_every_endpoint_for_every_caller(
    secured: Flask, store: ImageStore, endpoint: str, caller: str, caplog: Any
) -> None:
    call, needed, success = ENDPOINTS[endpoint]
    caplog.set_level(logging.WARNING, logger="sigverify.service.auth")
    response = call(secured.test_client(), _headers(caller), store)
    if caller in ("none", "unknown"):
        assert (response.status_code, response.get_json()) == (
            401,
            _status(401, "Unauthorized", "Unauthorized"),
        )
        user = "<none>" if caller == "none" else "<unknown token>"
        assert [r.getMessage().split(" verb=")[0] for r in caplog.records] == [
            f"denied 401: user={user}"
        ]
    elif RANK[caller] < needed:
        body = response.get_json()
        assert (response.status_code, body["reason"], body["code"]) == (403, "Forbidden", 403)
        assert body == _status(403, "Forbidden", body["message"])
        assert body["message"].startswith(f'forbidden: User "{caller}" cannot ')
        assert [r.getMessage().split(" verb=")[0] for r in caplog.records] == [
            f"denied 403: user={caller}"
        ]
    else:
        assert response.status_code == success, response.get_data(as_text=True)
        assert caplog.records == []


@pytest.mark.slow
@pytest.mark.parametrize("path", OPEN)
@pytest.mark.parametrize("caller", CALLERS)
def test_health_readiness_and_the_openapi_document_stay_open(
    secured: Flask, path: str, caller: str
) -> None:
    assert secured.test_client().get(path, headers=_headers(caller)).status_code == 200


def test_a_denial_names_the_user_verb_and_resource(secured: Flask, caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger="sigverify.service.auth")
    response = secured.test_client().post(
        APP_PATH, query_string={"record": "true"}, headers=_headers("reader")
    )
    assert response.get_json()["message"] == (
        'forbidden: User "reader" cannot get resource "imagestreamimages" in API group '
        '"image.openshift.io" in the namespace "demo" and update resource "images" in API '
        'group "image.openshift.io" or create resource "imagesignatures" in API group '
        '"image.openshift.io"'
    )
    [record] = caplog.records
    assert record.getMessage() == (
        f"denied 403: user=reader verb=record resource=demo/app@{APP} method=POST path={APP_PATH}"
    )
    assert "t-reader" not in caplog.text


@pytest.mark.parametrize(
    "header",
    [
        "t-reader",
        "Basic t-reader",
        "Bearer",
        "Bearer ",
        "Bearer t-reader extra",
        "bearer t-forged",
        "Bearer t-reade",
        "Bearer t-reader ",
    ],
)
def test_malformed_or_wrong_authorization_is_401(secured: Flask, header: str) -> None:
    response = secured.test_client().get(APP_PATH, headers={"Authorization": header})
    expected = 200 if header == "Bearer t-reader " else 401
    assert response.status_code == expected


def test_the_bearer_scheme_is_case_insensitive(secured: Flask) -> None:
    response = secured.test_client().get(APP_PATH, headers={"Authorization": "bearer t-reader"})
    assert response.status_code == 200


def test_no_token_file_and_no_flag_makes_an_admin_token_in_the_state_folder(
    settings: Settings, store: ImageStore, clock: Clock, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    secure = dataclasses.replace(settings, insecure_no_auth=False, state_dir=str(state))
    client = make_app(secure, store, clock).test_client()
    token_path = state / "admin.token"
    assert token_path.stat().st_mode & 0o777 == 0o600
    assert state.stat().st_mode & 0o777 == 0o700
    token = token_path.read_text().strip()
    assert len(token) >= 40
    assert client.get(APP_PATH).status_code == 401
    assert client.get(APP_PATH, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # A second app (another worker) uses the same token.
    again = make_app(secure, store, clock).test_client()
    assert again.get(APP_PATH, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_admission_client_check_fails_closed_without_tls(
    settings: Settings, store: ImageStore, clock: Clock, tmp_path: Path
) -> None:
    """In process there is no TLS socket to read a client certificate from: 401, never on."""
    ca = tmp_path / "ca.crt"
    ca.write_text("unused in process")
    checked = dataclasses.replace(settings, admission_client_ca=str(ca), tls_cert="c", tls_key="k")
    client = make_app(checked, store, clock).test_client()
    response = client.post("/admission/validate", json={})
    assert (response.status_code, response.get_json()["message"]) == (
        401,
        "Unauthorized: a client certificate is required",
    )
    assert client.get("/healthz").status_code == 200


def test_the_openapi_document_declares_the_bearer_scheme_and_every_secured_operation_is_401(
    secured: Flask,
) -> None:
    client = secured.test_client()
    document = client.get("/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert document["security"] == [{"BearerToken": []}]
    seen = []
    for path, operations in document["paths"].items():
        concrete = path.replace("{namespace}", "demo").replace("{name}", f"app@{APP}")
        for method, operation in operations.items():
            if method == "parameters":
                continue
            if path in ("/healthz", "/readyz"):
                assert operation["security"] == []
                continue
            assert {"401", "403"} <= set(operation["responses"]), (path, method)
            response = client.open(concrete, method=method.upper())
            assert response.status_code == 401, (path, method)
            seen.append((path, method))
    assert len(seen) == 5


def test_serve_in_cluster_with_a_certificate_needs_no_state_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """deploy/'s pod: cluster mode, the service CA's certificate, no home to write to."""
    from sigverify.cli.serve import _secure

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    pod = Settings(in_cluster=True, tls_cert="/tls/tls.crt", tls_key="/tls/tls.key")
    assert _secure(pod) == pod
    from sigverify.errors import InputError

    with pytest.raises(InputError) as caught:
        _secure(Settings(store=str(tmp_path / "s.db")))  # embedded: an admin token is due
    assert str(caught.value) == (
        "no state folder: set --state-dir, $XDG_STATE_HOME or $HOME (an absolute path)"
    )
