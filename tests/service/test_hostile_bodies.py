"""Bodies the service must refuse with 400 or 413, never a 500 (tests.support.hostile_bodies):
through the test client with a Content-Length, and chunked through a real server, where
Flask's MAX_CONTENT_LENGTH alone does not stop the stream. The error body is always the
service's ``{code, status, message, errors}`` and names the problem.

Also: every route of the service that takes a POST/PUT/PATCH is either tested here or in
tests/admission and tests/imageapi, or listed as reading no body; and under gunicorn, the
server in production, chunked bodies over the limit get 413 at every endpoint that reads one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import API_PREFIX
from sigverify.settings import Settings
from tests.imageapi.demo import APP, DEMO_POLICY, KEYS, REPO, Clock, seeded_store
from tests.imageapi.servers import serve_wsgi
from tests.service.conftest import make_app
from tests.service.processes import serve
from tests.support.hostile_bodies import HOSTILE, LIMIT, Hostile, send_chunked

#: The service's own endpoints that read a body: (method, path).
ENDPOINTS = {"verify": ("POST", "/api/v1/verify")}
#: Routes that take POST but read no body (everything is in the path and query).
NO_BODY = {"/api/v1/namespaces/<namespace>/imagestreamimages/<name>/verification"}
#: Routes whose bodies the other faces' tests cover.
COVERED_ELSEWHERE = {
    "/admission/validate": "tests/admission/test_hostile_bodies.py",
    "/admission/mutate": "tests/admission/test_hostile_bodies.py",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    folder = tmp_path_factory.mktemp("hostile")
    policy = folder / "policy.yaml"
    policy.write_text(
        DEMO_POLICY.read_text().replace("keysDirectory: ../keys", f"keysDirectory: {KEYS}")
    )
    store = seeded_store(folder / "store.db")
    settings = Settings(
        policy=str(policy),
        keys=None,
        store=str(store.path),
        policy_reload_seconds=0.0,
        max_body_bytes=LIMIT,
        insecure_no_auth=True,  # bodies, not callers (tests/service/test_auth.py)
    )
    return make_app(settings, store, Clock())


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def server(app: Flask) -> Iterator[str]:
    with serve_wsgi(app) as url:
        yield url


def _names_the_problem(status: int, body: dict[str, Any], hostile: Hostile) -> None:
    assert status == hostile.status, body
    assert list(body) == ["code", "status", "message", "errors"]
    assert body["code"] == hostile.status
    assert body["status"] == HTTPStatus(hostile.status).phrase
    assert hostile.names in body["message"], body


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_refused_with_a_content_length(client: FlaskClient, endpoint: str, case: str) -> None:
    method, path = ENDPOINTS[endpoint]
    hostile = HOSTILE[case]
    response = client.open(path, method=method, data=hostile.body, content_type="application/json")
    assert response.mimetype == "application/json"
    _names_the_problem(response.status_code, response.get_json(), hostile)


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_refused_when_chunked(server: str, endpoint: str, case: str) -> None:
    method, path = ENDPOINTS[endpoint]
    hostile = HOSTILE[case]
    _names_the_problem(*send_chunked(server, method, path, hostile.body), hostile)


def test_a_chunked_body_far_over_the_limit_is_cut_short(server: str) -> None:
    status, body = send_chunked(server, "POST", "/api/v1/verify", b"[" * (LIMIT * 8))
    assert (status, body["message"]) == (413, f"the body is larger than {LIMIT} bytes")


def test_a_chunked_body_within_the_limit_is_read_whole(server: str) -> None:
    document = json.loads((REPO / "examples" / "demo" / "app-signed.json").read_text())
    text = json.dumps(document, indent=2).encode()
    status, body = send_chunked(server, "POST", "/api/v1/verify", text, chunk_size=100)
    assert status == 200 and body["image"] == APP and body["trusted"] is True, body


def test_the_path_of_a_repeated_key_is_named(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/verify",
        data=b'{"metadata": {"labels": {"a": "1", "a": "2"}}}',
        content_type="application/json",
    )
    body = response.get_json()
    assert response.status_code == 400
    assert body["message"] == "metadata.labels: duplicate key 'a'"
    assert body["errors"] == {"body": {"metadata.labels": ["metadata.labels: duplicate key 'a'"]}}


def test_every_route_that_takes_a_body_is_covered(app: Flask) -> None:
    with_bodies = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if {"POST", "PUT", "PATCH"} & (rule.methods or set())
    }
    covered = {path for _, path in ENDPOINTS.values()} | NO_BODY | set(COVERED_ELSEWHERE)
    # The embedded store's REST (served by default): tests/imageapi/test_rest_hostile_bodies.py.
    store_rest = {rule for rule in with_bodies if rule.startswith(API_PREFIX)}
    assert store_rest
    assert with_bodies == covered | store_rest


# -- gunicorn ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_gunicorn_refuses_oversized_chunked_bodies_everywhere(
    tmp_path: Path, store: ImageStore, policy_file: Path
) -> None:
    """The real server: every endpoint that reads a body, the store's REST included."""
    args = ["--store", str(store.path), "--policy", str(policy_file), "--keys", str(KEYS)]
    env = {
        "SIGVERIFY_MAX_BODY_BYTES": str(LIMIT),
        "SIGVERIFY_SERVE_STORE_API": "true",
        "SIGVERIFY_ADMISSION": "true",
        "SIGVERIFY_WORKERS": "1",
    }
    endpoints = [
        ("POST", "/api/v1/verify", "code"),
        ("POST", "/admission/validate", "code"),
        ("POST", "/admission/mutate", "code"),
        ("PUT", f"/apis/image.openshift.io/v1/images/{APP}", "reason"),
        ("POST", "/apis/image.openshift.io/v1/imagesignatures", "reason"),
    ]
    with serve(args, cwd=tmp_path, env=env) as served:
        for method, path, field in endpoints:
            for hostile in (HOSTILE["oversized"], HOSTILE["duplicate key"]):
                status, body = send_chunked(served.url, method, path, hostile.body)
                assert status == hostile.status, (path, body)
                assert field in body and hostile.names in body["message"], (path, body)
