"""The HTTP API over the OpenShift client, pointed at the store's REST on a real HTTP server:
every fault of the image API gives its documented error, and never a "trusted"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from sigverify.imageapi.openshift import ClusterOptions, connect
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app, status_body
from sigverify.settings import Settings
from tests.imageapi.demo import APP, Clock, time_text
from tests.imageapi.servers import Faults, closed_port, serve_wsgi, silent_server
from tests.service.conftest import make_app

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"
ISI_PREFIX = "/apis/image.openshift.io/v1/namespaces/demo/imagestreamimages/"


@pytest.fixture
def faults(store: ImageStore) -> Faults:
    return Faults(create_store_app(store, tokens={"sigverify": "write", "auditor": "read"}))


@pytest.fixture
def server(faults: Faults) -> Iterator[str]:
    with serve_wsgi(faults) as url:
        yield url


def _client(
    settings: Settings, url: str, clock: Clock, token: str = "sigverify", timeout: float = 2.0
) -> FlaskClient:
    api = connect(ClusterOptions(server=url, token=token, timeout=timeout))
    return make_app(settings, api, clock).test_client()


def _failure(response: Any, code: int, fragment: str) -> None:
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == ["code", "status", "message", "errors"]
    assert fragment in body["message"]
    assert "trusted" not in json.dumps(body)


def test_verify_and_record_through_the_openshift_client(
    settings: Settings, server: str, store: ImageStore, clock: Clock
) -> None:
    client = _client(settings, server, clock)
    assert client.get(APP_PATH).get_json()["trusted"] is True
    body = client.post(APP_PATH, query_string={"record": "true"}).get_json()
    assert body["recorded"]["written"] is True
    trusted, for_image = store.get_image(APP)["signatures"][0]["conditions"]
    assert (trusted["status"], for_image["status"]) == ("True", "True")
    assert trusted["lastTransitionTime"] == time_text(clock.now)
    assert client.get("/readyz").get_json()["imageAPI"]["kind"] == "openshift"


def test_api_down(settings: Settings, clock: Clock) -> None:
    client = _client(settings, f"http://127.0.0.1:{closed_port()}", clock)
    _failure(client.get(APP_PATH), 503, "cannot reach the API server")
    _failure(client.post(APP_PATH, query_string={"record": "true"}), 503, "cannot reach")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["imageAPI"]["reachable"] is False


@pytest.mark.slow  # waits out a real deadline or timeout
def test_api_slow(settings: Settings, clock: Clock) -> None:
    with silent_server() as url:
        client = _client(settings, url, clock, timeout=0.5)
        _failure(client.get(APP_PATH), 504, "did not answer within 0.5s")


@pytest.mark.parametrize(("token", "code"), [("wrong", 401), ("auditor", 403)])
def test_credentials_refused(
    settings: Settings, server: str, clock: Clock, token: str, code: int
) -> None:
    client = _client(settings, server, clock, token=token)
    if code == 401:
        _failure(client.get(APP_PATH), 502, "did not accept the credentials (401")
    else:
        assert client.get(APP_PATH).get_json()["trusted"] is True  # reading is allowed
        _failure(
            client.post(APP_PATH, query_string={"record": "true"}),
            502,
            "permission denied (403 Forbidden",
        )


def test_not_found(settings: Settings, server: str, clock: Clock) -> None:
    client = _client(settings, server, clock)
    _failure(client.get(APP_PATH.replace(APP, "sha256:00")), 404, "not found")


def test_server_error(settings: Settings, server: str, faults: Faults, clock: Clock) -> None:
    body = json.dumps(status_body(500, "InternalError", "etcdserver: leader changed")).encode()
    faults.fail("GET", ISI_PREFIX, 500, body)
    client = _client(settings, server, clock)
    _failure(client.get(APP_PATH), 502, "etcdserver: leader changed")
    assert client.get(APP_PATH).get_json()["trusted"] is True  # the next request is fine
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'sigverify_image_api_errors_total{error="ClusterServerError"} 1.0' in metrics


def test_409_storm(
    settings: Settings, server: str, faults: Faults, store: ImageStore, clock: Clock
) -> None:
    conflict = json.dumps(status_body(409, "Conflict", "the object has been modified")).encode()
    faults.fail("PUT", "/apis/image.openshift.io/v1/images/", 409, conflict, times=100)
    before = store.get_image(APP)
    client = _client(settings, server, clock)
    _failure(
        client.post(APP_PATH, query_string={"record": "true"}), 409, "changed during each of 5"
    )
    assert store.get_image(APP) == before
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'sigverify_condition_writes_total{outcome="gave_up"} 1.0' in metrics


def test_a_malformed_object_from_the_api_is_a_502(
    settings: Settings, server: str, faults: Faults, clock: Clock
) -> None:
    broken = {"kind": "ImageStreamImage", "metadata": {"name": "x"}, "image": {"signatures": 5}}
    faults.fail("GET", ISI_PREFIX, 200, json.dumps(broken).encode())
    client = _client(settings, server, clock)
    _failure(client.get(APP_PATH), 502, "cannot read")
