"""``/readyz`` answers from a cached image API state and never waits on the API server for
its whole timeout (issue 9). No timed assertions: a ping held on an event shows that the
answer does not wait for it."""

from __future__ import annotations

import dataclasses
import threading

from sigverify.errors import ClusterError
from sigverify.imageapi.openshift import ClusterOptions, connect
from sigverify.service.readiness import UpstreamProbe, UpstreamState
from sigverify.settings import Settings
from tests.imageapi.demo import Clock
from tests.imageapi.servers import silent_server
from tests.service.conftest import make_app


class HeldPing:
    """A ping that waits for the test to let it answer (or fail)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.answered = threading.Event()
        self.error: str | None = None
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        self.release.wait(30)
        self.release.clear()
        try:
            if self.error is not None:
                raise ClusterError(self.error)
        finally:
            self.answered.set()

    def answer(self) -> None:
        self.answered.clear()
        self.release.set()
        assert self.answered.wait(30)


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _settled(probe: UpstreamProbe) -> UpstreamState:
    """The state once the refresh in flight (if any) has stored its result."""
    for _ in range(1000):
        with probe._lock:
            if probe._inflight is None:
                break
        threading.Event().wait(0.01)
    return probe.state()


def test_the_state_is_answered_while_the_ping_is_held() -> None:
    ping, ticks = HeldPing(), Ticks()
    probe = UpstreamProbe(ping, refresh_seconds=5, wait_seconds=0, clock=ticks)
    # Nothing answered yet: unreachable (fail closed), and one ping in flight.
    assert probe.state() == UpstreamState(
        False, "the image API has not answered a readiness ping yet"
    )
    assert probe.state().reachable is False
    assert ping.calls == 1
    ping.answer()
    assert _settled(probe) == UpstreamState(True, None)
    # Fresh: no new ping.
    ticks.now += 4.9
    assert probe.state() == UpstreamState(True, None)
    assert ping.calls == 1
    # Stale: one refresh starts; while it is held the last known state is the answer.
    ticks.now += 0.1
    assert probe.state() == UpstreamState(True, None)
    assert probe.state() == UpstreamState(True, None)
    assert ping.calls == 2
    ping.error = "cannot reach the API server"
    ping.answer()
    assert _settled(probe) == UpstreamState(False, "cannot reach the API server")


def test_readyz_does_not_wait_for_a_silent_api_server(settings: Settings, clock: Clock) -> None:
    settings = dataclasses.replace(settings, readiness_wait_seconds=0.0)
    with silent_server() as url:
        # The API timeout (30 s) is far beyond any readiness probe's.
        api = connect(ClusterOptions(server=url, token="t", timeout=30))
        client = make_app(settings, api, clock).test_client()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["imageAPI"] == {
            "kind": "openshift",
            "reachable": False,
            "error": "the image API has not answered a readiness ping yet",
        }


def test_the_wait_must_stay_below_a_second() -> None:
    from sigverify.errors import InputError

    try:
        Settings(readiness_wait_seconds=1.0).validate()
    except InputError as exc:
        assert str(exc) == (
            "invalid settings: readiness_wait_seconds: must be below 1 (/readyz answers within 1 s)"
        )
    else:
        raise AssertionError("a wait of 1 s was accepted")
