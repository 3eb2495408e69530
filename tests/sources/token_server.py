"""A token service for the distribution registry's ``auth: token`` mode (the Docker registry
v2 token flow): it checks Basic credentials and issues an ES256 JWT whose ``x5c`` header
carries the signing certificate, which the registry verifies against its
``rootcertbundle`` — what a real token server (e.g. docker_auth, Quay) does."""

from __future__ import annotations

import base64
import datetime
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

__all__ = ["TokenService"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class TokenService:
    """A WSGI app: ``GET /token?service=…&scope=repository:NAME:ACTIONS`` with Basic auth."""

    service: str
    issuer: str
    user: str
    password: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigverify test token signer")])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def write_root_bundle(self, path: Path) -> Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def _token(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(datetime.datetime.now(datetime.UTC).timestamp())
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [
                base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()
            ],
        }
        claims = {
            "iss": self.issuer,
            "sub": self.user,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 60,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        self.requests.append(environ.get("QUERY_STRING", ""))
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if environ["PATH_INFO"] != "/token" or query.get("service") != [self.service]:
            body, status = b'{"errors":["unknown"]}', "404 Not Found"
        elif environ.get("HTTP_AUTHORIZATION") != expected:
            body, status = b'{"errors":["unauthorized"]}', "401 Unauthorized"
        else:
            token = self._token(query.get("scope", []))
            body, status = json.dumps({"token": token, "expires_in": 300}).encode(), "200 OK"
        start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
