"""Reviews against the test API server's review APIs: answers kept for the cache lifetime and
no longer, bounded, never an error kept, never more than 10 seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sigverify.authn.kube import NonResourceAttributes, Reviews
from sigverify.authn.users import AuthUnavailable, User
from sigverify.imageapi.openshift import ClusterOptions, connect
from sigverify.imageapi.store.rest import create_store_app
from tests.imageapi.demo import seeded_store
from tests.imageapi.kube_auth import KubeAuth, Rule, UserInfo, auth_delegator
from tests.imageapi.servers import Faults, serve_wsgi

SA = UserInfo("system:serviceaccount:sigverify:sigverify-webhook")
METRICS = NonResourceAttributes("get", "/metrics")


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def double(tmp_path: Path) -> KubeAuth:
    return KubeAuth(
        create_store_app(seeded_store(tmp_path / "s.db")),
        tokens={"sa": SA, "t-alice": UserInfo("alice", "a1", ("devs",))},
        rules=[
            *auth_delegator(f"user:{SA.username}"),
            Rule("user:alice", ("get",), non_resource_urls=("/metrics",)),
        ],
    )


@pytest.fixture
def faults(double: KubeAuth) -> Faults:
    return Faults(double)


@pytest.fixture
def url(faults: Faults) -> Iterator[str]:
    with serve_wsgi(faults) as served:
        yield served


def test_answers_are_kept_for_the_lifetime_and_no_longer(url: str, double: KubeAuth) -> None:
    ticks = Ticks()
    reviews = Reviews(
        connect(ClusterOptions(server=url, token="sa")), cache_seconds=10, clock=ticks
    )
    alice = User("alice", "a1", ("devs",))
    assert reviews.authenticate("t-alice") == alice
    assert reviews.authenticate("t-forged") is None
    assert reviews.allowed(alice, METRICS) is True
    assert reviews.allowed(User("bob"), METRICS) is False
    assert len(double.reviews) == 4
    ticks.now = 9.9
    reviews.authenticate("t-alice")
    reviews.authenticate("t-forged")
    reviews.allowed(alice, METRICS)
    assert len(double.reviews) == 4
    ticks.now = 10.0
    reviews.authenticate("t-alice")
    reviews.allowed(alice, METRICS)
    assert len(double.reviews) == 6
    # The cache holds the token's hash, never the token.
    assert all("t-alice" not in repr(key) for key in reviews._tokens._entries)


def test_errors_are_never_kept(url: str, faults: Faults, double: KubeAuth) -> None:
    reviews = Reviews(connect(ClusterOptions(server=url, token="sa")))
    faults.fail("POST", "/apis/authentication.k8s.io/v1/tokenreviews", 503, b"{}")
    with pytest.raises(AuthUnavailable):
        reviews.authenticate("t-alice")
    assert reviews.authenticate("t-alice") == User("alice", "a1", ("devs",))


def test_the_lifetime_is_at_most_ten_seconds(url: str) -> None:
    with pytest.raises(ValueError, match=r"review answers are kept 0\.\.10 seconds"):
        Reviews(connect(ClusterOptions(server=url, token="sa")), cache_seconds=10.5)
