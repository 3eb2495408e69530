"""The HTTP API answers DigestMismatch for an expected identity pinned to another digest."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.imageapi.demo import APP

SHA512 = "sha512:" + "a" * 128


def test_the_http_api_answers_digest_mismatch(client: FlaskClient) -> None:
    path = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"
    for method in (client.get, client.post):
        response = method(
            path, query_string={"expectedIdentity": f"registry.example.com/demo/app@{SHA512}"}
        )
        body = response.get_json()
        assert (response.status_code, body["trusted"], body["reason"]) == (
            200,
            False,
            "DigestMismatch",
        )
