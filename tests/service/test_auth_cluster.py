"""Who may call (issue 9), cluster mode: bearer tokens checked with TokenReview, each request
authorized with SubjectAccessReview on what it touches, against the test API server's
faithful review APIs (tests/imageapi/kube_auth.py); a denied review is 403, a review that
cannot be made is 503 — never an allow."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from sigverify.imageapi.openshift import ClusterOptions, connect
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.rest import create_store_app
from sigverify.settings import Settings
from tests.imageapi.demo import APP, Clock
from tests.imageapi.kube_auth import KubeAuth, Rule, UserInfo, auth_delegator
from tests.imageapi.servers import Faults, closed_port, serve_wsgi
from tests.service.conftest import make_app

APP_PATH = f"/api/v1/namespaces/demo/imagestreamimages/app@{APP}/verification"
SA = UserInfo(
    "system:serviceaccount:sigverify:sigverify-webhook", "sa", ("system:serviceaccounts",)
)
IMAGES = ("image.openshift.io",)
USERS = {
    "viewer": UserInfo("viewer", "u1", ("system:authenticated",)),
    "outsider": UserInfo("outsider", "u2", ("system:authenticated",)),
    "updater": UserInfo("updater", "u3", ("system:authenticated",)),
    "signer": UserInfo("signer", "u4", ("system:authenticated",)),
    "scraper": UserInfo("scraper", "u5", ("system:authenticated",)),
}
RULES = [
    *auth_delegator(f"user:{SA.username}"),
    Rule("user:viewer", ("get",), IMAGES, ("imagestreamimages",), namespace="demo"),
    Rule("user:outsider", ("get",), IMAGES, ("imagestreamimages",), namespace="other"),
    Rule("user:updater", ("get",), IMAGES, ("imagestreamimages",), namespace="demo"),
    Rule("user:updater", ("update",), IMAGES, ("images",)),
    Rule("user:signer", ("get",), IMAGES, ("imagestreamimages",), namespace="demo"),
    Rule("user:signer", ("create",), IMAGES, ("imagesignatures",)),
    Rule("user:scraper", ("get",), non_resource_urls=("/metrics",)),
]


@pytest.fixture
def double(store: ImageStore) -> KubeAuth:
    tokens = {"sa": SA} | {f"t-{name}": user for name, user in USERS.items()}
    return KubeAuth(create_store_app(store, tokens={"sa": "write"}), tokens=tokens, rules=RULES)


@pytest.fixture
def faults(double: KubeAuth) -> Faults:
    return Faults(double)


@pytest.fixture
def url(faults: Faults) -> Iterator[str]:
    with serve_wsgi(faults) as served:
        yield served


def _client(settings: Settings, url: str, clock: Clock) -> FlaskClient:
    secure = dataclasses.replace(settings, insecure_no_auth=False, server=url, token="sa")
    api = connect(ClusterOptions(server=url, token="sa", timeout=10))
    return make_app(secure, api, clock).test_client()


def _as(name: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer t-{name}"} if name else {}


CASES: list[tuple[str, str, dict[str, Any], str | None, int]] = [
    ("GET", APP_PATH, {}, None, 401),
    ("GET", APP_PATH, {}, "forged", 401),
    ("GET", APP_PATH, {}, "viewer", 200),
    ("GET", APP_PATH, {}, "outsider", 403),
    ("GET", APP_PATH, {}, "scraper", 403),
    ("POST", APP_PATH, {}, "viewer", 200),
    ("POST", APP_PATH, {"record": "true"}, "viewer", 403),
    ("POST", APP_PATH, {"record": "true"}, "updater", 200),
    ("POST", APP_PATH, {"record": "true"}, "signer", 200),
    ("POST", APP_PATH, {"record": "true"}, "outsider", 403),
    ("GET", "/metrics", {}, "scraper", 200),
    ("GET", "/metrics", {}, "viewer", 403),
    ("GET", "/metrics", {}, None, 401),
    ("GET", "/healthz", {}, None, 200),
    ("GET", "/openapi.json", {}, None, 200),
]


@pytest.mark.parametrize(("method", "path", "query", "who", "code"), CASES)
def test_reviews_decide(
    settings: Settings,
    url: str,
    clock: Clock,
    method: str,
    path: str,
    query: dict[str, Any],
    who: str | None,
    code: int,
) -> None:
    client = _client(settings, url, clock)
    response = client.open(path, method=method, query_string=query, headers=_as(who))
    assert response.status_code == code, response.get_data(as_text=True)
    if code in (401, 403):
        body = response.get_json()
        assert (body["kind"], body["apiVersion"], body["status"], body["code"]) == (
            "Status",
            "v1",
            "Failure",
            code,
        )
        assert body["reason"] == ("Unauthorized" if code == 401 else "Forbidden")


def test_posting_a_document_needs_only_an_authenticated_user(
    settings: Settings, url: str, clock: Clock, store: ImageStore
) -> None:
    client = _client(settings, url, clock)
    image = store.get_image(APP)
    assert client.post("/api/v1/verify", json=image).status_code == 401
    assert client.post("/api/v1/verify", json=image, headers=_as("forged")).status_code == 401
    response = client.post("/api/v1/verify", json=image, headers=_as("scraper"))
    assert (response.status_code, response.get_json()["trusted"]) == (200, True)


def test_the_reviews_sent_name_the_user_and_what_is_touched(
    settings: Settings, url: str, clock: Clock, double: KubeAuth
) -> None:
    client = _client(settings, url, clock)
    response = client.post(APP_PATH, query_string={"record": "true"}, headers=_as("signer"))
    assert response.status_code == 200
    user = {"user": "signer", "groups": ["system:authenticated"], "uid": "u4"}
    assert double.reviews == [
        ("TokenReview", {"token": "t-signer"}),
        (
            "SubjectAccessReview",
            user
            | {
                "resourceAttributes": {
                    "verb": "get",
                    "group": "image.openshift.io",
                    "resource": "imagestreamimages",
                    "namespace": "demo",
                    "name": f"app@{APP}",
                }
            },
        ),
        (
            "SubjectAccessReview",
            user
            | {
                "resourceAttributes": {
                    "verb": "update",
                    "group": "image.openshift.io",
                    "resource": "images",
                    "name": APP,
                }
            },
        ),
        (
            "SubjectAccessReview",
            user
            | {
                "resourceAttributes": {
                    "verb": "create",
                    "group": "image.openshift.io",
                    "resource": "imagesignatures",
                }
            },
        ),
    ]
    # Answers are kept (at most 10 s): the same request asks nothing again.
    assert (
        client.post(APP_PATH, query_string={"record": "true"}, headers=_as("signer")).status_code
        == 200
    )
    assert len(double.reviews) == 4


def test_a_service_account_without_auth_delegator_is_503_never_allow(
    settings: Settings, url: str, clock: Clock, double: KubeAuth
) -> None:
    double.rules = [r for r in double.rules if r.subject != f"user:{SA.username}"]
    client = _client(settings, url, clock)
    response = client.get(APP_PATH, headers=_as("viewer"))
    body = response.get_json()
    assert (response.status_code, body["reason"], body["code"]) == (
        503,
        "ServiceUnavailable",
        503,
    )
    assert body["message"].startswith("cannot authenticate: the TokenReview could not be made: ")


def test_a_failing_access_review_is_503(
    settings: Settings, url: str, clock: Clock, faults: Faults
) -> None:
    faults.fail("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", 500, b"{}")
    client = _client(settings, url, clock)
    response = client.get(APP_PATH, headers=_as("viewer"))
    assert (response.status_code, response.get_json()["reason"]) == (503, "ServiceUnavailable")
    assert response.get_json()["message"].startswith(
        "cannot authorize: the SubjectAccessReview could not be made: "
    )


def test_an_unreachable_review_api_is_503(settings: Settings, clock: Clock) -> None:
    client = _client(settings, f"http://127.0.0.1:{closed_port()}", clock)
    response = client.get(APP_PATH, headers=_as("viewer"))
    assert (response.status_code, response.get_json()["reason"]) == (503, "ServiceUnavailable")


def test_review_answers_are_kept_at_most_ten_seconds() -> None:
    from sigverify.errors import InputError

    with pytest.raises(InputError) as caught:
        Settings(auth_cache_seconds=11).validate()
    assert str(caught.value) == "invalid settings: auth_cache_seconds: must be at most 10"
