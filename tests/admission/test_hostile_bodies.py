"""Bodies the admission endpoints must refuse (tests.support.hostile_bodies): HTTP 400 or 413
with the webhook's error body ``{code, status, message}`` (there is no ``uid`` to answer a
review with), through the test client and chunked through a real server, never a 500.

The webhook runs inside the service (``create_app``), as deployed: its limit is the smaller
of MAX_REVIEW_BYTES and the service's ``max_body_bytes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sigverify.limits import MAX_DOCUMENT_DEPTH, MAX_ENVELOPE_DEPTH
from sigverify.service.app import create_app
from sigverify.settings import Settings
from tests.admission.world import serving
from tests.imageapi.demo import DEMO_POLICY, KEYS, seeded_store
from tests.support.hostile_bodies import HOSTILE, LIMIT, Hostile, send_chunked

#: The admission endpoints: (method, path).
ENDPOINTS = {
    "validate": ("POST", "/admission/validate"),
    "mutate": ("POST", "/admission/mutate"),
}
_PHRASES = {400: "Bad Request", 413: "Payload Too Large"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    folder = tmp_path_factory.mktemp("admission-hostile")
    policy = folder / "policy.yaml"
    policy.write_text(
        DEMO_POLICY.read_text().replace("keysDirectory: ../keys", f"keysDirectory: {KEYS}")
    )
    store = seeded_store(folder / "store.db")
    settings = Settings(
        policy=str(policy),
        keys=None,
        store=str(store.path),
        admission=True,
        max_body_bytes=LIMIT,
        insecure_no_auth=True,  # the webhook; who may call: tests/service/test_auth.py
    )
    return create_app(settings, api=store)


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def server(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


def _names_the_problem(status: int, body: dict[str, Any], hostile: Hostile) -> None:
    assert status == hostile.status, body
    assert body == {
        "code": hostile.status,
        "status": _PHRASES[hostile.status],
        "message": body["message"],
    }
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


@pytest.mark.parametrize(
    ("depth", "status"), [(MAX_DOCUMENT_DEPTH, 200), (MAX_DOCUMENT_DEPTH + 1, 400)]
)
def test_the_object_may_nest_as_deep_as_a_document(
    client: FlaskClient, depth: int, status: int
) -> None:
    """The review holds the object two levels down (request.object): a Pod nested as deep as
    a document may be is a review like any other; one level more is refused for its depth."""
    inner = b'{"a": ' * (depth - 1) + b"1" + b"}" * (depth - 1)  # and the object itself: 1
    body = (
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
        b'{"uid": "u", "kind": {"version": "v1", "kind": "Pod"}, "resource": {"version": "v1",'
        b' "resource": "pods"}, "operation": "CREATE", "object": {"metadata": ' + inner + b"}}}"
    )
    response = client.post("/admission/validate", data=body, content_type="application/json")
    assert response.status_code == status, response.get_json()
    if status == 200:
        assert response.get_json()["response"]["uid"] == "u"
    else:
        message = f"the body is nested deeper than {MAX_ENVELOPE_DEPTH} levels"
        assert response.get_json()["message"].endswith(message)
