"""The registry signatures extension and the token flow, against a faithful stand-in
(tests/sources/extension.py): the distribution registry does not serve the extension."""

from __future__ import annotations

import json
import shutil
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sigverify.engine.verifier import Verifier
from sigverify.policyfile.holder import load_verifier
from sigverify.render import verdict_to_json
from sigverify.sources import (
    SourceError,
    SourceOptions,
    fetch_image,
    label_sources,
    parse_pull_spec,
)
from tests.imageapi.servers import self_signed_certificate, serve_wsgi
from tests.sources.extension import ExtensionRegistry, extension_entry
from tests.support.gpgfactory import GeneratedKey, GpgFactory, atomic_payload

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "1" * 64,
            "size": 2,
        },
        "layers": [],
    }
).encode()


@dataclass
class Served:
    registry: ExtensionRegistry
    host: str
    certs: Path
    authfile: Path
    key: GeneratedKey
    digest: str
    verifier: Verifier
    tmp: Path
    factory: GpgFactory

    @property
    def lookaside(self) -> str:
        return (self.tmp / "empty-lookaside").as_uri()

    def sign(self, digest: str, reference: str) -> bytes:
        return self.factory.sign(self.key, atomic_payload(digest, reference))

    def options(self, **changes: object) -> SourceOptions:
        empty_registries_d = self.tmp / "registries.d"
        empty_registries_d.mkdir(exist_ok=True)
        (empty_registries_d / "default.yaml").write_text(
            f"default-docker:\n  lookaside: {self.lookaside}\n"
        )
        values: dict[str, object] = {
            "registries_d": empty_registries_d,
            "authfile": str(self.authfile),
            "cert_dir": self.certs,
            "timeout": 10.0,
            "deadline": 20.0,
        }
        values.update(changes)
        return SourceOptions(**values)


@pytest.fixture
def served(tmp_path: Path, gpg_factory: GpgFactory) -> Iterator[Served]:
    registry = ExtensionRegistry()
    digest = registry.add_manifest("ns/app", "v1", OCI_MANIFEST, MANIFEST)
    tls = self_signed_certificate(tmp_path / "tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert, tls.key)
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(tls.cert, certs / "ca.crt")
    key = gpg_factory.key("rsa2048")
    with serve_wsgi(registry, ssl_context=context) as url:
        host = url.removeprefix("https://")
        authfile = tmp_path / "auth.json"
        authfile.write_text(
            json.dumps({"auths": {host: {"auth": "cm9ib3Q6cGE1NQ=="}}})
        )  # robot:pa55
        (tmp_path / "keys").mkdir()
        shutil.copy(key.public_binary, tmp_path / "keys" / "signer.gpg")
        policy = tmp_path / "policy.yaml"
        policy.write_text(
            "apiVersion: sigverify/v1\nkind: TrustPolicy\nkeysDirectory: keys\n"
            f"default: [{{type: reject}}]\nscopes:\n  {host}/ns:\n"
            f'    - {{type: signedBy, keys: ["{key.fingerprint}"]}}\n'
        )
        verifier = load_verifier(str(policy), None, "native")[1]
        try:
            yield Served(
                registry, host, certs, authfile, key, digest, verifier, tmp_path, gpg_factory
            )
        finally:
            verifier.backend.close()


def verdict_of(served: Served, spec: str, **changes: object) -> dict[str, object]:
    fetched = fetch_image(parse_pull_spec(spec), served.options(**changes))
    verdict = served.verifier.verify_image(fetched.image, expected_identity=fetched.identity)
    body = verdict_to_json(label_sources(verdict, fetched.sources))
    body["sources"] = [r.to_json() for r in fetched.reports]
    return body


def test_signatures_from_the_extension_after_the_token_flow(served: Served) -> None:
    reference = f"{served.host}/ns/app:v1"
    served.registry.signatures[served.digest] = {
        "signatures": [
            extension_entry(f"{served.digest}@abc123", served.sign(served.digest, reference))
        ]
    }
    body = verdict_of(served, f"docker://{reference}")
    assert body["trusted"] is True
    assert body["image"] == served.digest
    [signature] = body["signatures"]
    assert signature["name"] == f"{served.digest}@abc123"
    assert signature["source"] == "registry"
    assert signature["reason"] == "Trusted"
    assert body["sources"] == [
        {
            "source": "lookaside",
            "location": served.lookaside,
            "signatures": 0,
            "error": None,
        },
        {
            "source": "registry",
            "location": f"{served.host}/extensions/v2/ns/app/signatures",
            "signatures": 1,
            "error": None,
        },
    ]
    assert served.registry.requests == [
        "/v2/",
        "/token",
        "/v2/ns/app/manifests/v1",
        f"/extensions/v2/ns/app/signatures/{served.digest}",
    ]


def test_only_schema_2_atomic_entries_count(served: Served) -> None:
    reference = f"{served.host}/ns/app@{served.digest}"
    blob = served.sign(served.digest, reference)
    served.registry.signatures[served.digest] = {
        "signatures": [
            extension_entry("x@old", blob, schema=1),
            extension_entry("x@cosign", blob, kind="cosign"),
            extension_entry("not-for-this-digest", blob),
        ]
    }
    body = verdict_of(served, f"docker://{reference}")
    assert [s["name"] for s in body["signatures"]] == [f"{served.digest}@registry-1"]
    assert body["trusted"] is True


def test_a_malformed_signature_list_is_a_source_error_not_a_trust(served: Served) -> None:
    served.registry.signatures[served.digest] = {
        "signatures": [{"schemaVersion": 2, "type": "atomic", "name": "a", "content": "!!"}]
    }
    body = verdict_of(served, f"docker://{served.host}/ns/app:v1")
    assert body["trusted"] is False
    assert body["reason"] == "NotSigned"
    assert body["sources"][1] == {
        "source": "registry",
        "location": f"{served.host}/extensions/v2/ns/app/signatures",
        "signatures": 0,
        "error": f"{served.host}: signatures extension: signatures[0].content is not base64",
    }


def test_no_extension_without_the_ping_header(served: Served) -> None:
    served.registry.supports_signatures = False
    served.registry.signatures[served.digest] = {"signatures": []}
    body = verdict_of(served, f"docker://{served.host}/ns/app:v1")
    assert [r["source"] for r in body["sources"]] == ["lookaside"]
    assert not any("/extensions/" in p for p in served.registry.requests)


def test_a_manifest_whose_bytes_do_not_hash_to_the_digest_is_refused(served: Served) -> None:
    served.registry.liar[served.digest] = MANIFEST + b" "
    with pytest.raises(SourceError) as caught:
        fetch_image(
            parse_pull_spec(f"docker://{served.host}/ns/app@{served.digest}"), served.options()
        )
    assert str(caught.value) == (
        f"{served.host}/ns/app@{served.digest}: the registry served a manifest whose bytes "
        f"hash to sha256:{__import__('hashlib').sha256(MANIFEST + b' ').hexdigest()}, not to "
        "the digest asked for"
    )


def test_schema_1_is_refused(served: Served) -> None:
    served.registry.add_manifest(
        "ns/app",
        "old",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        b'{"schemaVersion": 1, "name": "ns/app", "tag": "old", "fsLayers": []}',
    )
    with pytest.raises(SourceError) as caught:
        fetch_image(parse_pull_spec(f"docker://{served.host}/ns/app:old"), served.options())
    assert "Docker schema 1 manifests are refused" in str(caught.value)


def test_the_token_service_refuses_wrong_credentials(served: Served, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"auths": {served.host: {"auth": "cm9ib3Q6bm8="}}}))  # robot:no
    with pytest.raises(SourceError) as caught:
        fetch_image(
            parse_pull_spec(f"docker://{served.host}/ns/app:v1"),
            served.options(authfile=str(wrong)),
        )
    assert str(caught.value) == f"{served.host}: the token service refused the credentials"


def test_a_host_off_the_allow_list_is_never_contacted(served: Served) -> None:
    with pytest.raises(SourceError) as caught:
        fetch_image(
            parse_pull_spec(f"docker://{served.host}/ns/app:v1"),
            served.options(allowed=lambda host: host == "registry.example.com"),
        )
    assert str(caught.value) == f"{served.host} is not on the allow-list; not contacted"
    assert served.registry.requests == []
