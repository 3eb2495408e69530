"""Real HTTP(S) servers on 127.0.0.1 ephemeral ports for the image API and service tests."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

WSGIApp = Callable[..., Any]


@contextmanager
def serve_wsgi(app: WSGIApp, *, ssl_context: Any = None) -> Iterator[str]:
    """Serve ``app`` on a loopback ephemeral port in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    scheme = "https" if ssl_context is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (for timeouts)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


@dataclass
class Faults:
    """A WSGI middleware answering chosen requests with a canned failure, a bounded number
    of times, and passing everything else to the wrapped app."""

    app: WSGIApp
    #: (method, path prefix) → [(status, body), …] answered in turn, then pass-through.
    plan: dict[tuple[str, str], list[tuple[int, bytes]]] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, method: str, prefix: str, status: int, body: bytes, times: int = 1) -> None:
        with self.lock:
            self.plan.setdefault((method, prefix), []).extend([(status, body)] * times)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        with self.lock:
            self.seen.append((method, path))
            queued = next(
                (q for (m, p), q in self.plan.items() if m == method and path.startswith(p) and q),
                None,
            )
            answer = queued.pop(0) if queued else None
        if answer is None:
            return self.app(environ, start_response)
        status, body = answer
        kind = "application/json" if body.startswith(b"{") else "text/html"
        start_response(f"{status} X", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]


@dataclass(frozen=True)
class TLSFiles:
    cert: Path
    key: Path


def self_signed_certificate(folder: Path, *, common_name: str = "127.0.0.1") -> TLSFiles:
    """A self-signed server certificate for 127.0.0.1 (its own CA), written to ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = TLSFiles(folder / "tls.crt", folder / "tls.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@dataclass
class CoreObjects:
    """A WSGI middleware serving ``GET /api/v1/namespaces/NS/{secrets,serviceaccounts}/NAME``
    from dictionaries (what the webhook reads for pull credentials; the store has neither),
    404 Status for any other such name, and passing everything else to the wrapped app."""

    app: WSGIApp
    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    service_accounts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        parts = path.strip("/").split("/")
        if (
            environ["REQUEST_METHOD"] != "GET"
            or len(parts) != 6
            or parts[:3] != ["api", "v1", "namespaces"]
            or parts[4] not in ("secrets", "serviceaccounts")
        ):
            return self.app(environ, start_response)
        self.seen.append(path)
        table = self.secrets if parts[4] == "secrets" else self.service_accounts
        found = table.get((parts[3], parts[5]))
        status = "200 OK" if found is not None else "404 Not Found"
        body = json.dumps(
            found
            if found is not None
            else {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": f'{parts[4]} "{parts[5]}" not found',
                "reason": "NotFound",
                "code": 404,
            }
        ).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]
