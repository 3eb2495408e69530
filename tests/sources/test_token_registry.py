"""The Bearer token flow against the real distribution registry in ``auth: token`` mode,
with a token service that signs ES256 JWTs (tests/sources/token_server.py)."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.imageapi.servers import self_signed_certificate, serve_wsgi
from tests.sources.registry import Registry, oci_layout, push, start_registry
from tests.sources.test_cli_registry import sigverify
from tests.sources.token_server import TokenService
from tests.support.gpgfactory import GpgFactory

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class TokenWorld:
    registry: Registry
    tokens: TokenService
    digest: str
    registries_d: Path
    policy: Path
    root: Path

    def authfile(self, creds: str) -> Path:
        path = self.root / f"auth-{len(creds)}-{creds.count('x')}.json"
        auth = base64.b64encode(creds.encode()).decode()
        path.write_text(json.dumps({"auths": {self.registry.host: {"auth": auth}}}))
        return path


@pytest.fixture(scope="module")
def token_world(
    tmp_path_factory: pytest.TempPathFactory, gpg_factory: GpgFactory
) -> Iterator[TokenWorld]:
    root = tmp_path_factory.mktemp("token-registry")
    tls = self_signed_certificate(root / "tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert, tls.key)
    tokens = TokenService("sigverify-registry", "sigverify-issuer", "robot", "t0ken-pass")
    bundle = tokens.write_root_bundle(root / "token-root.crt")
    key = gpg_factory.key("rsa2048")
    with serve_wsgi(tokens, ssl_context=context) as token_url:
        auth = {
            "token": {
                "realm": f"{token_url}/token",
                "service": tokens.service,
                "issuer": tokens.issuer,
                "rootcertbundle": str(bundle),
            }
        }
        with start_registry(
            root / "registry", user="robot", password="t0ken-pass", tls=tls, auth=auth
        ) as registry:
            oci_layout(root / "layout", "v1", b"behind a token")
            stage = root / "stage"
            digest = push(
                registry,
                root / "layout",
                "v1",
                "ns/app:v1",
                sign_by=key,
                staging=stage,
                scratch=root,
            )
            registries_d = root / "registries.d"
            registries_d.mkdir()
            (registries_d / "l.yaml").write_text(
                f"docker:\n  {registry.host}:\n    lookaside: {stage.as_uri()}\n"
            )
            (root / "keys").mkdir()
            (root / "keys" / "k.gpg").write_bytes(key.public_material)
            policy = root / "policy.yaml"
            policy.write_text(
                "apiVersion: sigverify/v1\nkind: TrustPolicy\nkeysDirectory: keys\n"
                f"default: [{{type: reject}}]\nscopes:\n  {registry.host}/ns:\n"
                f'    - {{type: signedBy, keys: ["{key.fingerprint}"]}}\n'
            )
            yield TokenWorld(registry, tokens, digest, registries_d, policy, root)


def run(world: TokenWorld, creds: str) -> tuple[int, str, str]:
    result = sigverify(
        "verify",
        f"docker://{world.registry.host}/ns/app:v1",
        "--policy",
        str(world.policy),
        "--registries-d",
        str(world.registries_d),
        "--authfile",
        str(world.authfile(creds)),
        "--cert-dir",
        str(world.registry.certs),
        "-o",
        "json",
    )
    return result.returncode, result.stdout, result.stderr


def test_a_token_from_the_realm_opens_the_registry(token_world: TokenWorld) -> None:
    asked = len(token_world.tokens.requests)
    status, stdout, stderr = run(token_world, "robot:t0ken-pass")
    assert (status, stderr) == (0, "")
    body = json.loads(stdout)
    assert body["image"] == token_world.digest
    assert body["trusted"] is True
    # The token was asked for this repository, pull only.
    assert token_world.tokens.requests[asked:] == [
        "scope=repository%3Ans%2Fapp%3Apull&service=sigverify-registry"
    ]


def test_the_token_service_refuses_wrong_credentials(token_world: TokenWorld) -> None:
    status, stdout, stderr = run(token_world, "robot:wrong")
    assert (status, stdout) == (2, "")
    assert stderr == (
        f"sigverify: error: {token_world.registry.host}: the token service refused the "
        "credentials\n"
    )
