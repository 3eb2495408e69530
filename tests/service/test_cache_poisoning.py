"""The verdict cache cannot be poisoned (issue 9): a caller-posted document never answers
for a stored Image, and a signature's type, name and content are part of every key."""

from __future__ import annotations

import copy
from typing import Any

from flask.testing import FlaskClient

from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.demo import APP, APP_SIGNATURE

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"


def _with_type(image: dict[str, Any], signature_type: str) -> dict[str, Any]:
    changed = copy.deepcopy(image)
    changed["signatures"][0]["type"] = signature_type
    return changed


def _retype_stored(store: ImageStore, signature_type: str) -> dict[str, Any]:
    """Replace the stored APP signature by one of ``signature_type`` (same name and blob):
    a type cannot be changed in place, so it is deleted and created again, as a client would."""
    signature = copy.deepcopy(store.get_image(APP)["signatures"][0])
    store.delete_signature(APP_SIGNATURE)
    store.add_signature(
        {
            "metadata": {"name": APP_SIGNATURE},
            "type": signature_type,
            "content": signature["content"],
        }
    )
    return store.get_image(APP)


def _verdict(response: Any) -> tuple[int, bool, str, str]:
    body = response.get_json()
    return response.status_code, body["trusted"], body["reason"], body["signatures"][0]["reason"]


def test_posted_trusted_documents_never_answer_for_a_stored_untrusted_image(
    client: FlaskClient, store: ImageStore
) -> None:
    # The stored Image's one signature has a type no verifier reads: not trusted.
    original = store.get_image(APP)
    _retype_stored(store, "Foo")
    posted = _with_type(original, "AtomicImageV1")
    for _ in range(8):  # the reproduction: the posts fill the cache first
        response = client.post("/api/v1/verify", json=posted)
        assert _verdict(response) == (200, True, "Trusted", "Trusted")
    for _ in range(6):
        assert _verdict(client.get(APP_PATH)) == (200, False, "UnsupportedType", "UnsupportedType")


def test_a_posted_untrusted_document_never_answers_for_a_stored_trusted_image(
    client: FlaskClient, store: ImageStore
) -> None:
    posted = _with_type(store.get_image(APP), "Foo")
    for _ in range(8):
        response = client.post("/api/v1/verify", json=posted)
        assert _verdict(response) == (200, False, "UnsupportedType", "UnsupportedType")
    for _ in range(6):
        assert _verdict(client.get(APP_PATH)) == (200, True, "Trusted", "Trusted")


def test_a_stored_verdict_never_answers_for_a_posted_document(
    client: FlaskClient, store: ImageStore
) -> None:
    assert _verdict(client.get(APP_PATH)) == (200, True, "Trusted", "Trusted")
    posted = _with_type(store.get_image(APP), "Foo")
    response = client.post("/api/v1/verify", json=posted)
    assert _verdict(response) == (200, False, "UnsupportedType", "UnsupportedType")


def test_a_changed_signature_type_in_the_store_is_seen_at_once(
    client: FlaskClient, store: ImageStore
) -> None:
    assert _verdict(client.get(APP_PATH)) == (200, True, "Trusted", "Trusted")
    _retype_stored(store, "Foo")
    assert _verdict(client.get(APP_PATH)) == (200, False, "UnsupportedType", "UnsupportedType")


def test_a_renamed_signature_is_a_new_key(client: FlaskClient, store: ImageStore) -> None:
    first = client.post("/api/v1/verify", json=store.get_image(APP)).get_json()
    assert first["signatures"][0]["name"] == APP_SIGNATURE
    renamed = copy.deepcopy(store.get_image(APP))
    renamed["signatures"][0]["metadata"]["name"] = f"{APP}@other"
    second = client.post("/api/v1/verify", json=renamed).get_json()
    assert second["signatures"][0]["name"] == f"{APP}@other"
