"""Bodies the embedded store's REST must refuse (tests.support.hostile_bodies), as the API
server does: a ``Status`` failure, 400 ``BadRequest`` or 413 ``RequestEntityTooLarge``, through
the test client and chunked through a real server, never a 500.

The stand-in app (``create_store_app``) sets no MAX_CONTENT_LENGTH: its REST bounds its own
reads (MAX_DOCUMENT_BYTES, made small here), chunked bodies included.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sigverify.imageapi.store import rest
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import API_PREFIX, create_store_app
from tests.imageapi.demo import APP, seeded_store
from tests.imageapi.servers import serve_wsgi
from tests.support.hostile_bodies import HOSTILE, LIMIT, Hostile, send_chunked

#: The REST endpoints that read a body: (method, path).
ENDPOINTS = {
    "update image": ("PUT", f"{API_PREFIX}/images/{APP}"),
    "create imagesignature": ("POST", f"{API_PREFIX}/imagesignatures"),
}
_REASONS = {400: "BadRequest", 413: "RequestEntityTooLarge"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ImageStore:
    return seeded_store(tmp_path_factory.mktemp("rest-hostile") / "store.db")


@pytest.fixture(scope="module")
def app(store: ImageStore) -> Iterator[Flask]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rest, "MAX_DOCUMENT_BYTES", LIMIT)
        yield create_store_app(store)


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def server(app: Flask) -> Iterator[str]:
    with serve_wsgi(app) as url:
        yield url


def _names_the_problem(status: int, body: dict[str, Any], hostile: Hostile) -> None:
    assert status == hostile.status, body
    assert body["kind"] == "Status" and body["status"] == "Failure", body
    assert (body["code"], body["reason"]) == (hostile.status, _REASONS[hostile.status])
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


def test_a_chunked_update_within_the_limit_is_read_whole(
    server: str, client: FlaskClient, store: ImageStore
) -> None:
    image = client.get(f"{API_PREFIX}/images/{APP}").get_json()
    image["metadata"].setdefault("annotations", {})["chunked"] = "yes"
    body = json.dumps(image, indent=1).encode()
    status, answer = send_chunked(server, "PUT", f"{API_PREFIX}/images/{APP}", body, chunk_size=97)
    assert status == 200, answer
    assert store.get_image(APP)["metadata"]["annotations"]["chunked"] == "yes"


def test_a_repeated_key_is_named_with_its_path(client: FlaskClient) -> None:
    response = client.put(
        f"{API_PREFIX}/images/{APP}",
        data=b'{"metadata": {"name": "a", "name": "b"}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.get_json()["message"] == 'metadata: duplicate field "name"'


def test_a_stored_object_is_read_back_strictly(tmp_path: Path) -> None:
    """A damaged store file fails as the store failing (500 InternalError), not a crash."""
    store = seeded_store(tmp_path / "store.db")
    with closing(sqlite3.connect(store.path)) as db, db:
        db.execute("UPDATE objects SET body = ? WHERE name = ?", ('{"a": 1, "a": 2}', APP))
    response = create_store_app(store).test_client().get(f"{API_PREFIX}/images/{APP}")
    assert response.status_code == 500
    assert "damaged object: duplicate key 'a'" in response.get_json()["message"]
