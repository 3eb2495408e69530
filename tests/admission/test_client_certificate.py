"""``--admission-client-ca`` (issue 9): the admission endpoints answer only a caller that
presents a client certificate from that CA (as an API server configured with an admission
kubeconfig does); bearer-token endpoints are unaffected. Real gunicorn over real TLS."""

from __future__ import annotations

import datetime
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.admission.test_serve import APP, review
from tests.imageapi.demo import DEMO_POLICY, KEYS, seeded_store
from tests.imageapi.servers import self_signed_certificate
from tests.service.processes import Served, serve

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Client:
    cert: Path
    key: Path


def _ca_and_client(folder: Path, name: str) -> tuple[Path, Client]:
    """A CA and a client certificate (clientAuth) it signed, as PEM files in ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    client = Client(folder / "client.crt", folder / "client.key")
    client.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    client.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "ca.crt", client


def _post(served: Served, server_ca: Path, client: Client | None, body: Any) -> tuple[int, Any]:
    context = ssl.create_default_context(cafile=str(server_ca))
    if client is not None:
        context.load_cert_chain(client.cert, client.key)
    request = urllib.request.Request(
        served.url + "/admission/validate", data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_admission_needs_a_client_certificate_from_the_ca(tmp_path: Path) -> None:
    store = seeded_store(tmp_path / "store.db")
    tls = self_signed_certificate(tmp_path / "tls")
    client_ca, apiserver = _ca_and_client(tmp_path / "clients", "admission")
    _, stranger = _ca_and_client(tmp_path / "strangers", "stranger")
    args = ["--store", str(store.path), "--policy", str(DEMO_POLICY), "--keys", str(KEYS)]
    args += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key), "--workers", "1"]
    args += ["--admission-client-ca", str(client_ca)]
    with serve(args, cwd=tmp_path) as served:
        body = review("shop", APP)
        status, answer = _post(served, tls.cert, apiserver, body)
        assert (status, answer["response"]["allowed"]) == (200, True)

        status, answer = _post(served, tls.cert, None, body)
        assert (status, answer) == (
            401,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "Unauthorized: a client certificate is required",
                "reason": "Unauthorized",
                "code": 401,
            },
        )
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            _post(served, tls.cert, stranger, body)  # refused in the handshake

        # Endpoints that are not the webhook's ask no certificate.
        context = ssl.create_default_context(cafile=str(tls.cert))
        assert served.request("GET", "/healthz", context=context)[0] == 200
