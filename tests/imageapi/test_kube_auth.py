"""The TokenReview / SubjectAccessReview double answers as kube-apiserver does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app
from tests.imageapi.demo import seeded_store
from tests.imageapi.kube_auth import (
    SUBJECT_ACCESS_REVIEWS,
    TOKEN_REVIEWS,
    KubeAuth,
    Rule,
    UserInfo,
    auth_delegator,
)
from tests.imageapi.servers import serve_wsgi

SA = UserInfo(
    "system:serviceaccount:sigverify:sigverify-webhook", "sa-uid", ("system:serviceaccounts",)
)


@pytest.fixture
def served(tmp_path: Any) -> Iterator[tuple[str, KubeAuth]]:
    store: ImageStore = seeded_store(tmp_path / "store.db")
    double = KubeAuth(
        create_store_app(store),
        tokens={
            "sa": SA,
            "alice": UserInfo("alice", "a1", ("devs",)),
            "nobody": UserInfo("nobody"),
        },
        rules=[
            *auth_delegator(f"user:{SA.username}"),
            Rule(
                "group:devs",
                ("get",),
                ("image.openshift.io",),
                ("imagestreamimages",),
                namespace="demo",
            ),
            Rule("user:alice", ("get",), non_resource_urls=("/metrics",)),
        ],
    )
    with serve_wsgi(double) as url:
        yield url, double


def _post(url: str, token: str | None, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _token_review(token: str) -> dict[str, Any]:
    return {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": token},
    }


def _sar(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}


def test_token_reviews(served: tuple[str, KubeAuth]) -> None:
    url, _ = served
    status, body = _post(url + TOKEN_REVIEWS, "sa", _token_review("alice"))
    assert status == 201
    assert body["status"] == {
        "authenticated": True,
        "user": {"username": "alice", "uid": "a1", "groups": ["devs"]},
    }
    status, body = _post(url + TOKEN_REVIEWS, "sa", _token_review("forged"))
    assert (status, body["status"]) == (
        201,
        {"user": {}, "error": "[invalid bearer token, token lookup failed]"},
    )


def test_access_reviews(served: tuple[str, KubeAuth]) -> None:
    url, _ = served
    get = {"verb": "get", "group": "image.openshift.io", "resource": "imagestreamimages"}
    cases = [
        (
            {
                "user": "alice",
                "groups": ["devs"],
                "resourceAttributes": {**get, "namespace": "demo"},
            },
            True,
        ),
        (
            {
                "user": "alice",
                "groups": ["devs"],
                "resourceAttributes": {**get, "namespace": "prod"},
            },
            False,
        ),
        (
            {"user": "alice", "groups": [], "resourceAttributes": {**get, "namespace": "demo"}},
            False,
        ),
        ({"user": "alice", "nonResourceAttributes": {"verb": "get", "path": "/metrics"}}, True),
        ({"user": "nobody", "nonResourceAttributes": {"verb": "get", "path": "/metrics"}}, False),
    ]
    for spec, allowed in cases:
        status, body = _post(url + SUBJECT_ACCESS_REVIEWS, "sa", _sar(spec))
        assert status == 201
        assert body["status"]["allowed"] is allowed, spec


def test_the_caller_must_be_authenticated_and_an_auth_delegator(
    served: tuple[str, KubeAuth],
) -> None:
    url, _ = served
    status, body = _post(url + TOKEN_REVIEWS, None, _token_review("alice"))
    assert (status, body["reason"], body["code"]) == (401, "Unauthorized", 401)
    status, body = _post(url + TOKEN_REVIEWS, "alice", _token_review("alice"))
    assert (status, body["message"]) == (
        403,
        'tokenreviews.authentication.k8s.io is forbidden: User "alice" cannot create resource '
        '"tokenreviews" in API group "authentication.k8s.io" at the cluster scope',
    )


def test_malformed_reviews(served: tuple[str, KubeAuth]) -> None:
    url, _ = served
    status, body = _post(url + SUBJECT_ACCESS_REVIEWS, "sa", _token_review("x"))
    assert (status, body["reason"]) == (400, "BadRequest")
    both = {"user": "a", "resourceAttributes": {}, "nonResourceAttributes": {}}
    status, body = _post(url + SUBJECT_ACCESS_REVIEWS, "sa", _sar(both))
    assert (status, body["reason"]) == (422, "Invalid")
    status, body = _post(url + SUBJECT_ACCESS_REVIEWS, "sa", _sar({"resourceAttributes": {}}))
    assert (status, body["reason"]) == (422, "Invalid")
    assert "at least one of user or group must be specified" in body["message"]


def test_other_paths_reach_the_wrapped_api(served: tuple[str, KubeAuth]) -> None:
    url, _ = served
    with urllib.request.urlopen(url + "/apis/image.openshift.io/v1/images", timeout=30) as answer:
        assert json.loads(answer.read())["kind"] == "ImageList"
