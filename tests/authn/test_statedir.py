"""The state folder: where it is (never the working directory), the admin token (0600, random,
made once) and the generated CA and serving certificate (a real TLS handshake trusts them)."""

from __future__ import annotations

import os
import ssl
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from sigverify.authn.statedir import (
    ensure_admin_token,
    ensure_serving_certificate,
    read_admin_token,
    state_dir,
)
from sigverify.errors import InputError


def test_where_the_state_folder_is(tmp_path: Path) -> None:
    assert state_dir(str(tmp_path / "s"), {}) == tmp_path / "s"
    assert state_dir(None, {"XDG_STATE_HOME": "/x", "HOME": "/h"}) == Path("/x/sigverify")
    assert state_dir(None, {"XDG_STATE_HOME": "rel", "HOME": "/h"}) == Path(
        "/h/.local/state/sigverify"
    )
    assert state_dir(None, {"HOME": "/h"}) == Path("/h/.local/state/sigverify")
    for environ in ({}, {"HOME": ""}, {"HOME": "relative"}, {"XDG_STATE_HOME": "rel"}):
        with pytest.raises(InputError) as caught:
            state_dir(None, environ)
        assert str(caught.value) == (
            "no state folder: set --state-dir, $XDG_STATE_HOME or $HOME (an absolute path)"
        )


def test_the_admin_token_is_random_private_and_made_once(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    path = ensure_admin_token(folder)
    assert path == folder / "admin.token"
    assert (path.stat().st_mode & 0o777, folder.stat().st_mode & 0o777) == (0o600, 0o700)
    token = read_admin_token(path)
    assert ensure_admin_token(folder) == path and read_admin_token(path) == token
    assert read_admin_token(ensure_admin_token(tmp_path / "other")) != token


def test_a_token_others_may_read_is_refused(tmp_path: Path) -> None:
    path = ensure_admin_token(tmp_path / "state")
    os.chmod(path, 0o644)
    with pytest.raises(InputError) as caught:
        read_admin_token(path)
    assert str(caught.value) == f"{path}: readable by others (mode 0644); make it 0600"


def test_the_generated_certificate_serves_https_trusted_by_its_ca(tmp_path: Path) -> None:
    files = ensure_serving_certificate(tmp_path / "state", "127.0.0.1")
    assert files.key.stat().st_mode & 0o777 == 0o600
    assert ensure_serving_certificate(tmp_path / "state", "127.0.0.1") == files
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(files.cert, files.key)

    def app(environ: object, start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"ok"]

    server = make_server("127.0.0.1", 0, app, ssl_context=server_context)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        import urllib.request

        client = ssl.create_default_context(cafile=str(files.ca_cert))
        for host in ("127.0.0.1", "localhost"):
            url = f"https://{host}:{server.server_port}/"
            with urllib.request.urlopen(url, context=client, timeout=30) as response:
                assert response.read() == b"ok"
        with pytest.raises(OSError):  # not trusted without the CA
            urllib.request.urlopen(f"https://127.0.0.1:{server.server_port}/", timeout=30)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
