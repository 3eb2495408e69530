"""Bounded GETs (sigverify/sources/transport.py) against real loopback HTTP servers."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterable
from email.message import Message
from typing import Any

import pytest

from sigverify.sources.errors import SourceError
from sigverify.sources.transport import Response, Transport
from tests.imageapi.servers import closed_port, serve_wsgi, silent_server

CONTEXT = ssl.create_default_context()


def transport(**changes: Any) -> Transport:
    values: dict[str, Any] = {"timeout": 5.0, "deadline": time.monotonic() + 30, "backoff": 0.01}
    values.update(changes)
    return Transport(**values)


class App:
    """Answers from a script: one (status, headers, body) per request, the last repeated."""

    def __init__(self, *answers: tuple[str, list[tuple[str, str]], bytes]) -> None:
        self.answers = list(answers)
        self.seen: list[dict[str, str]] = []

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        self.seen.append(
            {
                "path": environ["PATH_INFO"],
                "authorization": environ.get("HTTP_AUTHORIZATION", ""),
            }
        )
        status, headers, body = self.answers[0] if len(self.answers) == 1 else self.answers.pop(0)
        start(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]


def test_a_body_is_read_up_to_the_cap_plus_one_byte() -> None:
    with serve_wsgi(App(("200 OK", [], b"x" * 100))) as url:
        response = transport().get(f"{url}/big", context=CONTEXT, max_bytes=10)
    assert (response.status, response.oversize, response.body) == (200, True, b"x" * 11)


def test_a_503_is_retried_then_answered() -> None:
    app = App(("503 Busy", [], b""), ("200 OK", [], b"ok"))
    with serve_wsgi(app) as url:
        response = transport().get(f"{url}/x", context=CONTEXT, max_bytes=10)
    assert (response.status, response.body, len(app.seen)) == (200, b"ok", 2)


def test_retries_are_bounded() -> None:
    app = App(("503 Busy", [], b""))
    with serve_wsgi(app) as url:
        response = transport(retries=2).get(f"{url}/x", context=CONTEXT, max_bytes=10)
    assert (response.status, len(app.seen)) == (503, 3)


def test_redirects_only_where_allowed_and_credentials_stay_with_their_host() -> None:
    target = App(("200 OK", [], b"token"))
    with serve_wsgi(target) as other:
        origin = App(("302 Found", [("Location", f"{other}/token")], b""))
        with serve_wsgi(origin) as url:
            headers = {"Authorization": "Basic c2VjcmV0"}
            plain = transport().get(f"{url}/a", context=CONTEXT, max_bytes=10, headers=headers)
            followed = transport().get(
                f"{url}/a", context=CONTEXT, max_bytes=10, headers=headers, redirects=3
            )
    assert plain.status == 302
    assert (followed.status, followed.body) == (200, b"token")
    assert target.seen == [{"path": "/token", "authorization": ""}]


def test_a_redirect_from_https_to_http_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rule on its own: an https answer (stood in for) that redirects to http.
    headers = Message()
    headers["Location"] = "http://127.0.0.1:1/x"
    gate = transport()
    monkeypatch.setattr(
        gate, "_once", lambda url, *_: Response(url, 302, headers, b"", oversize=False)
    )
    with pytest.raises(SourceError) as caught:
        gate.get("https://registry.example.com/token", context=CONTEXT, max_bytes=10, redirects=3)
    assert str(caught.value) == (
        "https://registry.example.com/token redirected to 'http://127.0.0.1:1/x': refused"
    )


def test_a_host_off_the_allow_list_is_refused_before_connecting() -> None:
    app = App(("200 OK", [], b""))
    with serve_wsgi(app) as url:
        gate = transport(allowed=lambda host: host == "registry.example.com")
        with pytest.raises(SourceError, match="is not on the allow-list; not contacted"):
            gate.get(f"{url}/x", context=CONTEXT, max_bytes=10)
    assert app.seen == []


@pytest.mark.slow  # waits out a real deadline or timeout
def test_a_silent_server_is_bounded_by_the_deadline() -> None:
    with silent_server() as url:
        gate = transport(timeout=0.3, deadline=time.monotonic() + 1.0, retries=5)
        with pytest.raises(SourceError) as caught:
            gate.get(f"{url}/x", context=CONTEXT, max_bytes=10)
    assert "no answer" in str(caught.value)


def test_connection_refused() -> None:
    port = closed_port()
    with pytest.raises(SourceError) as caught:
        transport().get(f"http://127.0.0.1:{port}/v2/", context=CONTEXT, max_bytes=10)
    assert str(caught.value) == f"cannot reach 127.0.0.1:{port}: connection refused"
