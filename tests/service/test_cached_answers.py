"""A warm GET by reference answers from the verdict cache without loading the document or
rendering the verdict again (sigverify/service/views.py): the answer must be the one the
general path gives, byte for byte, headers included, and a changed document is a new key."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import sigverify.service.views as views
from sigverify.errors import PolicyError
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.service.state import CachedAnswer
from sigverify.settings import Settings
from tests.imageapi.demo import APP, APP_SIGNATURE, Clock
from tests.service.conftest import make_app

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"


def _whole(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, sorted(response.headers.items()), response.get_data()


def _uncached(settings: Settings, store: ImageStore, clock: Clock) -> FlaskClient:
    fields = {**settings.__dict__, "cache_ttl_seconds": 0, "cache_negative_ttl_seconds": 0}
    return make_app(Settings(**fields), store, clock).test_client()


@pytest.mark.parametrize("query", ["", "?expectedIdentity=quay.io/demo/app:v1"])
def test_a_cached_answer_is_the_general_paths_byte_for_byte(
    app: Flask, client: FlaskClient, settings: Settings, store: ImageStore, clock: Clock, query: str
) -> None:
    first = _whole(client.get(APP_PATH + query))  # a miss: verified, rendered, kept
    again = _whole(client.get(APP_PATH + query))  # a hit: the kept text
    general = _whole(_uncached(settings, store, clock).get(APP_PATH + query))
    assert first == again == general
    assert first[0] == 200
    lookups = app.extensions["sigverify"].metrics.cache
    assert lookups.labels("hit")._value.get() == 1.0
    assert lookups.labels("miss")._value.get() == 1.0


def test_an_answer_the_schema_would_change_is_kept_as_its_verdict(
    client: FlaskClient,
    app: Flask,
    settings: Settings,
    store: ImageStore,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    general = _whole(_uncached(settings, store, clock).get(APP_PATH))
    monkeypatch.setattr(views, "dumps_unchanged", lambda body: False)
    assert _whole(client.get(APP_PATH)) == general  # flask-smorest's dump, as before
    assert _whole(client.get(APP_PATH)) == general
    (entry,) = app.extensions["sigverify"].cache._entries.values()
    assert entry.value.text is None and entry.value.verdict is not None


def test_a_changed_document_is_verified_again(client: FlaskClient, store: ImageStore) -> None:
    assert client.get(APP_PATH).get_json()["trusted"] is True
    store.delete_signature(APP_SIGNATURE)
    assert client.get(APP_PATH).get_json()["trusted"] is False


def test_the_kept_answer_is_not_walked_by_the_collector(client: FlaskClient, app: Flask) -> None:
    client.get(APP_PATH)
    gc.collect()
    ((key, entry),) = app.extensions["sigverify"].cache._entries.items()
    assert isinstance(entry.value, CachedAnswer) and entry.value.verdict is None
    assert isinstance(key, bytes) and not gc.is_tracked(key)


def test_a_document_that_does_not_load_is_answered_before_a_missing_policy(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app.extensions["sigverify"]
    monkeypatch.setattr(state.api, "get_imagestreamimage", lambda namespace, name: {"kind": 1})

    def no_policy() -> None:
        raise PolicyError("no trust policy is loaded: test")

    monkeypatch.setattr(state.holder, "verifier", no_policy)
    # The image API's unreadable answer (502) comes first, as it always did ...
    assert client.get(APP_PATH).status_code == 502
    # ... and for a document that loads, the missing policy answers (503).
    monkeypatch.undo()
    monkeypatch.setattr(state.holder, "verifier", no_policy)
    assert client.get(APP_PATH).status_code == 503


@pytest.mark.parametrize("schema", [views._VERIFY_ARGS, views._RECORD_ARGS])
@pytest.mark.parametrize(
    "query", ["", "expectedIdentity=quay.io/a/b:1", "record=true&signature=x", "record=maybe"]
)
def test_query_arguments_are_what_webargs_parses(app: Flask, schema: Any, query: str) -> None:
    from webargs.flaskparser import FlaskParser

    def parsed(parser: FlaskParser) -> Any:
        with app.test_request_context(f"/api/v1/verify?{query}"):
            try:
                return parser.parse(schema, location="query")
            except Exception as exc:  # the same refusal either way
                return type(exc), getattr(exc, "data", None)

    ours = views.verification.ARGUMENTS_PARSER
    expected = parsed(FlaskParser())
    first, second = parsed(ours), parsed(ours)  # the second from what the first kept
    assert first == second == expected
    if isinstance(first, dict):
        assert first is not second
