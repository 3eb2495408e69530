"""The native backend against real gpg-made keys and blobs: exact outcomes and reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.openpgp.backend import SignatureBackend
from sigverify.openpgp.native import NativeBackend
from tests.support import packetcraft as pc
from tests.support.fixtures import (
    FIXTURE_MANIFEST_DIGEST,
    SKOPEO_TESTING_KEY_FINGERPRINT,
    keyring_of,
)
from tests.support.gpgfactory import GpgFactory, KeySpec, atomic_payload

PAYLOAD = atomic_payload(FIXTURE_MANIFEST_DIGEST, "example.com/ns/app:v1")
ALGORITHMS = ["rsa2048", "rsa3072", "ed25519", "dsa2048", "nistp256", "nistp384", "nistp521"]


def _now() -> datetime:
    # Read per call: keys are generated during the session, after import time.
    return datetime.now(UTC)


def _reason(backend: NativeBackend, blob: bytes, now: datetime | None = None) -> Reason:
    with pytest.raises(SignatureRejected) as caught:
        backend.verify(blob, now=now or _now())
    return caught.value.reason


def test_is_a_signature_backend(skopeo_testing_keyring: object) -> None:
    backend = NativeBackend(skopeo_testing_keyring)  # type: ignore[arg-type]
    assert isinstance(backend, SignatureBackend)
    assert backend.name == "native"
    backend.close()


# -- containers/image fixtures --------------------------------------------------------------


def test_fixture_image_signature(
    containers_image_fixtures: Path, skopeo_testing_keyring: object
) -> None:
    backend = NativeBackend(skopeo_testing_keyring)  # type: ignore[arg-type]
    verified = backend.verify(
        (containers_image_fixtures / "image.signature").read_bytes(), now=_now()
    )
    assert verified.signer.fingerprint == SKOPEO_TESTING_KEY_FINGERPRINT
    assert verified.signer.signing_key_fingerprint == SKOPEO_TESTING_KEY_FINGERPRINT
    assert verified.signer.key_id == "DB72F2188BB46CC8"
    assert verified.signer.user_id == "skopeo testing key"
    assert verified.signature_created == datetime.fromtimestamp(1458239713, tz=UTC)
    assert verified.signature_expires is None
    assert FIXTURE_MANIFEST_DIGEST.encode() in verified.payload


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("image.signature", None),
        ("no-optional-fields.signature", None),
        ("invalid-reference.signature", None),  # crypto is fine; the claims are not
        ("invalid-blob.signature", None),
        ("invalid-blob.signature-v3", None),
        ("dir-img-valid/signature-1", None),
        ("dir-img-valid-2/signature-2", None),
        ("expired.signature", Reason.SIGNATURE_EXPIRED),
        ("corrupt.signature", Reason.INVALID_SIGNATURE),
        ("corrupt.signature-v3", Reason.INVALID_SIGNATURE),
        ("unknown-key.signature", Reason.UNKNOWN_KEY),
        ("unknown-key.signature-v3", Reason.UNKNOWN_KEY),
        ("unsigned-literal.signature", Reason.NO_SIGNATURE),
        ("unsigned-encrypted.signature", Reason.NO_SIGNATURE),
        ("double.signature", Reason.MULTIPLE_SIGNATURES),
    ],
)
def test_fixture_outcomes(
    containers_image_fixtures: Path,
    skopeo_testing_keyring: object,
    name: str,
    outcome: Reason | None,
) -> None:
    backend = NativeBackend(skopeo_testing_keyring)  # type: ignore[arg-type]
    blob = (containers_image_fixtures / name).read_bytes()
    if outcome is None:
        assert backend.verify(blob, now=_now()).signer.fingerprint == SKOPEO_TESTING_KEY_FINGERPRINT
    else:
        assert _reason(backend, blob) is outcome


def test_corrupt_v3_signature_math_is_checked(
    containers_image_fixtures: Path, skopeo_testing_keyring: object
) -> None:
    """corrupt.signature-v3 without its stray trailing byte: the RSA check itself fails."""
    backend = NativeBackend(skopeo_testing_keyring)  # type: ignore[arg-type]
    packets = pc.unwrap((containers_image_fixtures / "corrupt.signature-v3").read_bytes())
    assert _reason(backend, pc.join(packets)) is Reason.INVALID_SIGNATURE
    good = pc.unwrap((containers_image_fixtures / "invalid-blob.signature-v3").read_bytes())
    assert backend.verify(pc.join(good), now=_now()).signer.key_id == "DB72F2188BB46CC8"


# -- generated keys -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_key_algorithm(gpg_factory: GpgFactory, algorithm: str) -> None:
    key = gpg_factory.key(algorithm)
    backend = NativeBackend(keyring_of(key))
    verified = backend.verify(gpg_factory.sign(key, PAYLOAD), now=_now())
    assert verified.payload == PAYLOAD
    assert verified.signer.fingerprint == key.fingerprint
    assert verified.signer.signing_key_fingerprint == key.fingerprint
    assert verified.signer.key_id == key.key_id
    assert verified.signer.user_id == key.user_id


@pytest.mark.parametrize(
    "options",
    [
        {"compression": "none"},
        {"compression": "zip"},
        {"compression": "zlib"},
        {"compression": "bzip2"},
        {"compression": "uncompressed-packet"},
        {"textmode": True},
        {"textmode": True, "compression": "none", "filename": "sig.json"},
        {"digest_algo": "SHA1"},
        {"digest_algo": "SHA224"},
        {"digest_algo": "SHA384"},
        {"digest_algo": "SHA512"},
    ],
)
def test_signing_options(gpg_factory: GpgFactory, options: dict[str, object]) -> None:
    key = gpg_factory.key("rsa2048")
    blob = gpg_factory.sign(key, PAYLOAD, **options)  # type: ignore[arg-type]
    assert NativeBackend(keyring_of(key)).verify(blob, now=_now()).payload == PAYLOAD


def test_text_mode_payload_with_line_breaks(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key("ed25519")
    payload = PAYLOAD + b"\n"
    blob = gpg_factory.sign(key, payload, textmode=True)
    # gpg --textmode stores the canonical (CRLF) text in the literal packet itself.
    assert NativeBackend(keyring_of(key)).verify(blob, now=_now()).payload == PAYLOAD + b"\r\n"


@pytest.mark.parametrize("subkey_algorithm", ["ed25519", "rsa2048", "nistp256"])
def test_subkey_signature_is_attributed_to_primary(
    gpg_factory: GpgFactory, subkey_algorithm: str
) -> None:
    key = gpg_factory.key(KeySpec("ed25519", signing_subkey=subkey_algorithm))
    backend = NativeBackend(keyring_of(key))
    verified = backend.verify(gpg_factory.sign(key, PAYLOAD, subkey=True), now=_now())
    assert verified.signer.fingerprint == key.fingerprint
    assert verified.signer.key_id == key.key_id
    assert verified.signer.signing_key_fingerprint == key.signing_subkey_fingerprint
    primary = backend.verify(gpg_factory.sign(key, PAYLOAD), now=_now())
    assert primary.signer.signing_key_fingerprint == key.fingerprint


def test_skopeo_signature(gpg_factory: GpgFactory, fixture_manifest: Path) -> None:
    key = gpg_factory.key("rsa2048")
    blob = gpg_factory.skopeo_sign(key, fixture_manifest, "example.com/ns/app:v1")
    verified = NativeBackend(keyring_of(key)).verify(blob, now=_now())
    assert b'"docker-reference":"example.com/ns/app:v1"' in verified.payload
    assert verified.signer.fingerprint == key.fingerprint


def test_unknown_key(gpg_factory: GpgFactory) -> None:
    signer = gpg_factory.key("ed25519")
    other = gpg_factory.key(KeySpec("ed25519", name="other"))
    blob = gpg_factory.sign(signer, PAYLOAD)
    assert _reason(NativeBackend(keyring_of(other)), blob) is Reason.UNKNOWN_KEY
    assert _reason(NativeBackend(keyring_of()), blob) is Reason.UNKNOWN_KEY
    assert NativeBackend(keyring_of(other, signer)).verify(blob, now=_now())


def test_tampered_payload_is_invalid(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key("rsa2048")
    packets = pc.unwrap(gpg_factory.sign(key, PAYLOAD, compression="none"))
    ops, lit, sig = packets
    forged = pc.RawPacket(11, lit.body.replace(b"example.com", b"evil.example"))
    backend = NativeBackend(keyring_of(key))
    assert _reason(backend, pc.join([ops, forged, sig])) is Reason.INVALID_SIGNATURE
    # The literal's framing (mode, file name, date) is not signed, as in RFC 4880.
    reframed = pc.RawPacket(11, pc.literal(PAYLOAD, mode=b"u", filename=b"x", date=5))
    assert backend.verify(pc.join([ops, reframed, sig]), now=_now()).payload == PAYLOAD


def test_expired_key(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key(KeySpec("rsa2048", expired=True))
    backend = NativeBackend(keyring_of(key))
    assert _reason(backend, gpg_factory.sign(key, PAYLOAD)) is Reason.KEY_EXPIRED


def test_key_expiring_in_the_future(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key(KeySpec("nistp256", expires_in_days=30))
    backend = NativeBackend(keyring_of(key))
    blob = gpg_factory.sign(key, PAYLOAD)
    assert backend.verify(blob, now=_now()).signer.fingerprint == key.fingerprint
    assert _reason(backend, blob, _now() + timedelta(days=31)) is Reason.KEY_EXPIRED


def test_revoked_key(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key(KeySpec("ed25519", revoked=True))
    backend = NativeBackend(keyring_of(key))
    assert _reason(backend, gpg_factory.sign(key, PAYLOAD)) is Reason.KEY_REVOKED


@pytest.mark.slow  # the key generator waits for the subkey to expire (about 2 s)
def test_expired_subkey(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key(KeySpec("ed25519", signing_subkey="ed25519", subkey_expired=True))
    backend = NativeBackend(keyring_of(key))
    assert _reason(backend, gpg_factory.sign(key, PAYLOAD, subkey=True)) is Reason.KEY_EXPIRED
    assert backend.verify(gpg_factory.sign(key, PAYLOAD), now=_now())


def test_revoked_subkey(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key(KeySpec("ed25519", signing_subkey="rsa2048", subkey_revoked=True))
    backend = NativeBackend(keyring_of(key))
    assert _reason(backend, gpg_factory.sign(key, PAYLOAD, subkey=True)) is Reason.KEY_REVOKED
    assert backend.verify(gpg_factory.sign(key, PAYLOAD), now=_now())


def test_subkey_of_expired_primary(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key(KeySpec("ed25519", signing_subkey="ed25519", expired=True))
    backend = NativeBackend(keyring_of(key))
    assert _reason(backend, gpg_factory.sign(key, PAYLOAD, subkey=True)) is Reason.KEY_EXPIRED


def test_signature_expiry(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key("ed25519")
    blob = gpg_factory.sign(key, PAYLOAD, sig_expire="1d")
    backend = NativeBackend(keyring_of(key))
    verified = backend.verify(blob, now=_now())
    assert verified.signature_expires == verified.signature_created + timedelta(days=1)
    assert _reason(backend, blob, _now() + timedelta(days=2)) is Reason.SIGNATURE_EXPIRED
    # GnuPG: an expired signature is reported as such even when the key expired too.
    expired_key = gpg_factory.key(KeySpec("ed25519", expired=True))
    old = gpg_factory.sign(expired_key, PAYLOAD, sig_expire="1d")
    assert _reason(NativeBackend(keyring_of(expired_key)), old) is Reason.SIGNATURE_EXPIRED


def test_key_created_after_signature_or_now(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key("ed25519")
    backend = NativeBackend(keyring_of(key))
    blob = gpg_factory.sign(key, PAYLOAD)
    # "now" before the key existed: GnuPG calls it a time conflict, not a good signature.
    assert _reason(backend, blob, datetime(2001, 1, 1, tzinfo=UTC)) is Reason.INVALID_SIGNATURE
