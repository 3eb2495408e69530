"""The test-material factory itself: real gpg must accept what it makes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.gpgfactory import (
    GeneratedKey,
    GpgFactory,
    KeySpec,
    atomic_payload,
    wrap_in_compressed_packet,
)

DIGEST = "sha256:" + "ab" * 32


def _gpg_status(factory: GpgFactory, key: GeneratedKey, blob: bytes) -> set[str]:
    home = factory._new_home("t")
    factory._gpg(home, ["--import", str(key.public_binary)])
    done = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--status-fd", "1", "--verify"],
        input=blob,
        capture_output=True,
        check=False,
    )
    return {line.split()[1] for line in done.stdout.decode().splitlines() if line.strip()}


def test_atomic_payload_is_canonical() -> None:
    document = json.loads(atomic_payload(DIGEST, "example.com/ns/app:v1"))
    assert document == {
        "critical": {
            "type": "atomic container signature",
            "image": {"docker-manifest-digest": DIGEST},
            "identity": {"docker-reference": "example.com/ns/app:v1"},
        },
        "optional": {"creator": "sigverify tests", "timestamp": 1458239713},
    }
    bare = json.loads(atomic_payload(DIGEST, "r", creator=None, timestamp=None))
    assert bare["optional"] == {}


def test_keys_are_cached(gpg_factory: GpgFactory) -> None:
    assert gpg_factory.key("ed25519") is gpg_factory.key(KeySpec("ed25519"))
    assert gpg_factory.key(KeySpec("ed25519", name="b")).fingerprint != (
        gpg_factory.key("ed25519").fingerprint
    )


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"compression": "none"},
        {"compression": "zlib", "textmode": True},
        {"compression": "bzip2", "filename": "payload.json"},
        {"compression": "uncompressed-packet"},
        {"sig_expire": "1d"},
    ],
)
def test_signed_blobs_verify_with_gpg(gpg_factory: GpgFactory, options: dict[str, object]) -> None:
    key = gpg_factory.key("ed25519")
    blob = gpg_factory.sign(key, atomic_payload(DIGEST, "example.com/a:b"), **options)  # type: ignore[arg-type]
    assert {"GOODSIG", "VALIDSIG"} <= _gpg_status(gpg_factory, key, blob)


def test_special_keys_are_judged_by_gpg(gpg_factory: GpgFactory) -> None:
    payload = atomic_payload(DIGEST, "example.com/a:b")
    expired = gpg_factory.key(KeySpec("ed25519", expired=True))
    assert "EXPKEYSIG" in _gpg_status(gpg_factory, expired, gpg_factory.sign(expired, payload))
    revoked = gpg_factory.key(KeySpec("ed25519", revoked=True))
    assert "REVKEYSIG" in _gpg_status(gpg_factory, revoked, gpg_factory.sign(revoked, payload))
    sub = gpg_factory.key(KeySpec("ed25519", signing_subkey="nistp256"))
    status = _gpg_status(gpg_factory, sub, gpg_factory.sign(sub, payload, subkey=True))
    assert "GOODSIG" in status


def test_uncompressed_packet_wrapper() -> None:
    assert wrap_in_compressed_packet(b"xyz") == b"\xc8\x04\x00xyz"
    with pytest.raises(ValueError):
        wrap_in_compressed_packet(b"x", algorithm=1)


def test_skopeo_round_trip(gpg_factory: GpgFactory, fixture_manifest: Path) -> None:
    key = gpg_factory.key("rsa2048")
    blob = gpg_factory.skopeo_sign(key, fixture_manifest, "example.com/ns/app:v1")
    assert gpg_factory.skopeo_verify(
        fixture_manifest, "example.com/ns/app:v1", key.fingerprint, blob, key.public_material
    )
    other = gpg_factory.key(KeySpec("rsa2048", name="other"))
    assert not gpg_factory.skopeo_verify(
        fixture_manifest, "example.com/ns/app:v1", other.fingerprint, blob, other.public_material
    )
