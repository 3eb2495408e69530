"""The GnuPG reference backend: containers/image fixtures and keys made by real gpg."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sigverify.core.claims import parse_claims
from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring
from tests.support.fixtures import (
    FIXTURE_MANIFEST_DIGEST,
    SKOPEO_TESTING_KEY_FINGERPRINT,
    keyring_of,
)
from tests.support.gpgfactory import GpgFactory, KeySpec, atomic_payload

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def fixture_backend(skopeo_testing_keyring: Keyring) -> GnuPGBackend:
    backend = GnuPGBackend(skopeo_testing_keyring)
    yield backend  # type: ignore[misc]
    backend.close()


def test_valid_fixture_signature(
    fixture_backend: GnuPGBackend, containers_image_fixtures: Path
) -> None:
    message = fixture_backend.verify(
        (containers_image_fixtures / "image.signature").read_bytes(), now=NOW
    )
    assert message.signer.fingerprint == SKOPEO_TESTING_KEY_FINGERPRINT
    assert message.signer.key_id == "DB72F2188BB46CC8"
    assert message.signer.public_key_id == "0xDB72F2188BB46CC8"
    assert message.signer.user_id == "skopeo testing key"
    assert message.signature_created == datetime(2016, 3, 17, 18, 35, 13, tzinfo=UTC)
    claims = parse_claims(message.payload)
    assert (claims.manifest_digest, claims.docker_reference) == (
        FIXTURE_MANIFEST_DIGEST,
        "testing/manifest",
    )


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("corrupt.signature", Reason.INVALID_SIGNATURE),
        ("corrupt.signature-v3", Reason.INVALID_SIGNATURE),
        ("expired.signature", Reason.SIGNATURE_EXPIRED),
        ("unknown-key.signature", Reason.UNKNOWN_KEY),
        ("unknown-key.signature-v3", Reason.UNKNOWN_KEY),
        ("unsigned-literal.signature", Reason.NO_SIGNATURE),
        ("unsigned-encrypted.signature", Reason.NO_SIGNATURE),
        ("double.signature", Reason.MULTIPLE_SIGNATURES),
    ],
)
def test_fixture_rejections(
    fixture_backend: GnuPGBackend, containers_image_fixtures: Path, fixture: str, reason: Reason
) -> None:
    with pytest.raises(SignatureRejected) as caught:
        fixture_backend.verify((containers_image_fixtures / fixture).read_bytes(), now=NOW)
    assert caught.value.reason is reason


@pytest.mark.parametrize("fixture", ["invalid-blob.signature", "invalid-blob.signature-v3"])
def test_valid_crypto_over_an_invalid_payload_is_verified_here(
    fixture_backend: GnuPGBackend, containers_image_fixtures: Path, fixture: str
) -> None:
    # The backend only judges crypto; the engine rejects the payload afterwards.
    message = fixture_backend.verify((containers_image_fixtures / fixture).read_bytes(), now=NOW)
    assert message.payload == b"This is not JSON\n"
    assert message.signer.fingerprint == SKOPEO_TESTING_KEY_FINGERPRINT


@pytest.mark.parametrize(
    "blob", [b"", b"\x00", b"garbage that is not OpenPGP", b"-----BEGIN PGP MESSAGE-----\n\n"]
)
def test_garbage_is_invalid(fixture_backend: GnuPGBackend, blob: bytes) -> None:
    with pytest.raises(SignatureRejected) as caught:
        fixture_backend.verify(blob, now=NOW)
    assert caught.value.reason in {Reason.INVALID_SIGNATURE, Reason.NO_SIGNATURE}


def test_empty_keyring_knows_no_signer(containers_image_fixtures: Path) -> None:
    with GnuPGBackend(Keyring()) as backend, pytest.raises(SignatureRejected) as caught:
        backend.verify((containers_image_fixtures / "image.signature").read_bytes(), now=NOW)
    assert caught.value.reason is Reason.UNKNOWN_KEY


def test_never_reads_the_users_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, containers_image_fixtures: Path
) -> None:
    # A GNUPGHOME holding the signer's key must not make the signature verify.
    home = tmp_path / "user-gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    import subprocess

    subprocess.run(
        [
            "gpg",
            "--batch",
            "--homedir",
            str(home),
            "--import",
            str(containers_image_fixtures / "public-key.gpg"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with GnuPGBackend(Keyring()) as backend, pytest.raises(SignatureRejected) as caught:
        backend.verify((containers_image_fixtures / "image.signature").read_bytes(), now=NOW)
    assert caught.value.reason is Reason.UNKNOWN_KEY


@pytest.mark.parametrize("algorithm", ["rsa2048", "ed25519"])
def test_generated_keys_verify(gpg_factory: GpgFactory, algorithm: str) -> None:
    key = gpg_factory.key(algorithm)
    blob = gpg_factory.sign(key, atomic_payload(FIXTURE_MANIFEST_DIGEST, "quay.io/acme/app:1"))
    with GnuPGBackend(keyring_of(key)) as backend:
        message = backend.verify(blob, now=datetime.now(UTC))
    assert message.signer.fingerprint == key.fingerprint
    assert message.signer.signing_key_fingerprint == key.fingerprint


def test_subkey_signature_is_attributed_to_the_primary(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key(KeySpec("ed25519", signing_subkey="ed25519"))
    blob = gpg_factory.sign(key, atomic_payload(FIXTURE_MANIFEST_DIGEST, "a/b:1"), subkey=True)
    with GnuPGBackend(keyring_of(key)) as backend:
        message = backend.verify(blob, now=datetime.now(UTC))
    assert message.signer.fingerprint == key.fingerprint
    assert message.signer.signing_key_fingerprint == key.signing_subkey_fingerprint
    assert message.signer.key_id == key.fingerprint[-16:]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (KeySpec("rsa2048", expired=True), Reason.KEY_EXPIRED),
        (KeySpec("ed25519", revoked=True), Reason.KEY_REVOKED),
    ],
)
def test_expired_and_revoked_keys(gpg_factory: GpgFactory, spec: KeySpec, reason: Reason) -> None:
    key = gpg_factory.key(spec)
    blob = gpg_factory.sign(key, atomic_payload(FIXTURE_MANIFEST_DIGEST, "a/b:1"))
    with GnuPGBackend(keyring_of(key)) as backend, pytest.raises(SignatureRejected) as caught:
        backend.verify(blob, now=datetime.now(UTC))
    assert caught.value.reason is reason


def test_signature_expiry_is_judged_as_of_now(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key("ed25519")
    signed_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    blob = gpg_factory.sign(
        key, atomic_payload(FIXTURE_MANIFEST_DIGEST, "a/b:1"), sig_expire="1d", at=signed_at
    )
    with GnuPGBackend(keyring_of(key)) as backend:
        message = backend.verify(blob, now=signed_at + timedelta(hours=1))
        assert message.signature_expires == signed_at + timedelta(days=1)
        with pytest.raises(SignatureRejected) as caught:
            backend.verify(blob, now=signed_at + timedelta(days=2))
    assert caught.value.reason is Reason.SIGNATURE_EXPIRED


def test_oversized_blob_is_rejected_before_gpg(fixture_backend: GnuPGBackend) -> None:
    with pytest.raises(SignatureRejected) as caught:
        fixture_backend.verify(b"\xa3\x01" + b"\x00" * (1024 * 1024), now=NOW)
    assert caught.value.reason is Reason.INVALID_SIGNATURE
    assert str(caught.value) == "the signature blob is 1048578 bytes, more than 65536"


@pytest.mark.parametrize("fixture", ["unknown-key.signature", "unknown-key.signature-v3"])
def test_both_backends_name_the_claimed_unknown_key(
    skopeo_testing_keyring: Keyring, containers_image_fixtures: Path, fixture: str
) -> None:
    from sigverify.openpgp.native import NativeBackend

    blob = (containers_image_fixtures / fixture).read_bytes()
    claimed = []
    with GnuPGBackend(skopeo_testing_keyring) as gnupg:
        for backend in (gnupg, NativeBackend(skopeo_testing_keyring)):
            with pytest.raises(SignatureRejected) as caught:
                backend.verify(blob, now=NOW)
            claimed.append((caught.value.reason, caught.value.key_id))
    assert claimed == [(Reason.UNKNOWN_KEY, "BB75E91990DF8F7E")] * 2
