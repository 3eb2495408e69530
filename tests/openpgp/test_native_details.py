"""The native backend's refusals, exactly (mutation testing found them unpinned): tampered
signatures of every algorithm, out-of-range signature values, which key an issuer names,
and the words of every rejection. Each outcome is checked against gpg where gpg has one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.openpgp.backend import SignatureBackend
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.keys import parse_key_packets
from sigverify.openpgp.native import NativeBackend
from tests.support import packetcraft as pc
from tests.support.fixtures import keyring_of
from tests.support.forge import Forger, subpacket
from tests.support.gpgfactory import PAST_EPOCH, GeneratedKey, GpgFactory, KeySpec, atomic_payload

PAYLOAD = atomic_payload("sha256:" + "ab" * 32, "registry.example.com/ns/app:v1")


def now() -> datetime:
    # A minute ahead: the forged signatures below are dated just after their key's creation.
    return datetime.now(UTC) + timedelta(minutes=1)


def created_after(key: GeneratedKey) -> int:
    """A signing time just after ``key`` was made (never before it: a time conflict)."""
    [public] = keyring_of(key)
    return int(public.created.timestamp()) + 1


def refusal(backend: SignatureBackend, blob: bytes, at: datetime | None = None) -> tuple[str, str]:
    with pytest.raises(SignatureRejected) as caught:
        backend.verify(blob, now=at or now())
    return caught.value.reason.value, str(caught.value)


def both(keyring: Keyring) -> Iterator[SignatureBackend]:
    with GnuPGBackend(keyring) as gnupg:
        yield gnupg
        yield NativeBackend(keyring)


def key_id(fingerprint: str) -> str:
    return "0x" + fingerprint[-16:]


def _mpi(value: int, bits: int | None = None) -> bytes:
    bits = value.bit_length() if bits is None else bits
    return bits.to_bytes(2, "big") + value.to_bytes((bits + 7) // 8, "big")


def _signature_head(body: bytes) -> bytes:
    """A v4 signature packet body up to and including the two quick-check bytes."""
    hashed = int.from_bytes(body[4:6], "big")
    unhashed_at = 6 + hashed
    unhashed = int.from_bytes(body[unhashed_at : unhashed_at + 2], "big")
    return body[: unhashed_at + 2 + unhashed + 2]


def _with_signature(blob: bytes, body: bytes) -> bytes:
    packets = pc.unwrap(blob)
    return pc.join([*packets[:-1], pc.RawPacket(2, body)])


# -- the math refuses what it must --------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["rsa2048", "dsa2048", "nistp256", "nistp384", "ed25519"])
def test_a_tampered_signature_value_is_invalid(gpg_factory: GpgFactory, algorithm: str) -> None:
    key = gpg_factory.key(algorithm)
    blob = gpg_factory.sign(key, PAYLOAD, compression="none")
    body = pc.unwrap(blob)[-1].body
    tampered = _with_signature(blob, body[:-1] + bytes([body[-1] ^ 0x01]))
    for backend in both(keyring_of(key)):
        assert refusal(backend, tampered)[0] == Reason.INVALID_SIGNATURE.value, backend.name


def test_an_rsa_value_not_below_the_modulus_is_invalid(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key("rsa2048")
    keyring = keyring_of(key)
    [packet] = [p for p in parse_key_packets(keyring.material()) if not p.is_subkey]
    modulus = packet.public_key.public_numbers().n  # type: ignore[union-attr]
    blob = gpg_factory.sign(key, PAYLOAD, compression="none")
    head = _signature_head(pc.unwrap(blob)[-1].body)
    for value in (modulus, modulus + 1):
        forged = _with_signature(blob, head + _mpi(value))
        for backend in both(keyring):
            assert refusal(backend, forged)[0] == Reason.INVALID_SIGNATURE.value, backend.name


def test_an_eddsa_value_longer_than_256_bits_is_invalid(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key("ed25519")
    keyring = keyring_of(key)
    blob = gpg_factory.sign(key, PAYLOAD, compression="none")
    body = pc.unwrap(blob)[-1].body
    head = _signature_head(body)
    oversized = 1 << 256 | 5
    for r, s in ((oversized, 5), (5, oversized)):
        forged = _with_signature(blob, head + _mpi(r) + _mpi(s))
        assert refusal(NativeBackend(keyring), forged)[0] == Reason.INVALID_SIGNATURE.value


# -- which key the issuer names -----------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(gpg_factory: GpgFactory) -> tuple[GeneratedKey, GeneratedKey]:
    return (
        gpg_factory.key(KeySpec("ed25519", name="issuer-a")),
        gpg_factory.key(KeySpec("ed25519", name="issuer-b")),
    )


def test_the_issuer_fingerprint_wins_over_the_key_id(
    gpg_factory: GpgFactory, pair: tuple[GeneratedKey, GeneratedKey]
) -> None:
    signer, other = pair
    forger = Forger(gpg_factory, signer)
    created = created_after(signer)
    # Hashed issuer fingerprint: the signer; unhashed issuer key ID: the other key.
    blob = forger.message(
        PAYLOAD, created=created, unhashed=[subpacket(16, bytes.fromhex(other.key_id))]
    )
    keyring = keyring_of(signer, other)
    for backend in both(keyring):
        assert backend.verify(blob, now=now()).signer.fingerprint == signer.fingerprint


def test_unknown_issuers_are_named_as_the_blob_claims(
    gpg_factory: GpgFactory, pair: tuple[GeneratedKey, GeneratedKey]
) -> None:
    signer, other = pair
    forger = Forger(gpg_factory, signer)
    created = created_after(signer)
    hashed = forger.default_hashed(created)
    native = NativeBackend(keyring_of(other))
    cases = {
        "key ID": forger.message(PAYLOAD, created=created),
        "fingerprint only": forger.message(PAYLOAD, created=created, unhashed=[]),
        "no issuer": forger.message(PAYLOAD, created=created, hashed=hashed[:1], unhashed=[]),
    }
    expected = {
        "key ID": (signer.key_id, key_id(signer.fingerprint)),
        "fingerprint only": (signer.key_id, key_id(signer.fingerprint)),
        "no issuer": (None, "(no issuer given)"),
    }
    for case, blob in cases.items():
        with pytest.raises(SignatureRejected) as caught:
            native.verify(blob, now=now())
        claimed, shown = expected[case]
        assert (caught.value.reason, caught.value.key_id) == (Reason.UNKNOWN_KEY, claimed), case
        assert str(caught.value) == f"signed by key {shown}, which is not in the policy's keyring"


# -- every refusal's words ------------------------------------------------------------------------


def test_time_and_status_refusals(gpg_factory: GpgFactory) -> None:
    expired = gpg_factory.key(KeySpec("ed25519", signing_subkey="ed25519", expired=True))
    backend = NativeBackend(keyring_of(expired))
    blob = gpg_factory.sign(expired, PAYLOAD, at=PAST_EPOCH + timedelta(hours=1))
    assert refusal(backend, blob) == (
        "KeyExpired",
        f"signed by key {key_id(expired.fingerprint)}, which has expired",
    )
    expiring = gpg_factory.sign(expired, PAYLOAD, sig_expire="seconds=60", at=PAST_EPOCH)
    assert refusal(backend, expiring, PAST_EPOCH + timedelta(minutes=5)) == (
        "SignatureExpired",
        "the signature has expired",
    )
    revoked = gpg_factory.key(KeySpec("ed25519", revoked=True))
    assert refusal(NativeBackend(keyring_of(revoked)), gpg_factory.sign(revoked, PAYLOAD)) == (
        "KeyRevoked",
        f"signed by key {key_id(revoked.fingerprint)}, which is revoked",
    )


def test_key_usability_refusals(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key("rsa2048")
    keyring = keyring_of(key)
    blob = gpg_factory.sign(key, PAYLOAD, compression="none")
    body = pc.unwrap(blob)[-1].body
    # The signature claims another public-key algorithm (17, DSA: two values) than the key.
    head = _signature_head(body)
    other_algorithm = head[:2] + bytes([17]) + head[3:] + _mpi(5) + _mpi(7)
    assert refusal(NativeBackend(keyring), _with_signature(blob, other_algorithm)) == (
        "InvalidSignature",
        f"key {key_id(key.fingerprint)} cannot make this kind of signature",
    )
    forger = Forger(gpg_factory, key)
    before_key = forger.message(PAYLOAD, created=1000)
    assert refusal(NativeBackend(keyring), before_key) == (
        "InvalidSignature",
        f"key {key_id(key.fingerprint)} is newer than the signature (time conflict)",
    )
    altered = _with_signature(blob, body[:-1] + bytes([body[-1] ^ 0x01]))
    assert refusal(NativeBackend(keyring), altered) == (
        "InvalidSignature",
        f"bad signature: the blob was altered or not made by {key_id(key.fingerprint)}",
    )
    with_encryption = gpg_factory.key(KeySpec("rsa2048", encryption_subkey="rsa2048"))
    encryption_subkey = with_encryption.subkey_fingerprints[-1]
    by_encryption_key = Forger(gpg_factory, with_encryption, fingerprint=encryption_subkey)
    forged = by_encryption_key.message(PAYLOAD, created=created_after(with_encryption))
    assert refusal(NativeBackend(keyring_of(with_encryption)), forged) == (
        "InvalidSignature",
        f"key {key_id(encryption_subkey)} is not a signing key",
    )


def test_a_missing_key_packet_does_not_hide_the_others(gpg_factory: GpgFactory) -> None:
    key = gpg_factory.key(KeySpec("ed25519", signing_subkey="ed25519", name="split"))
    [public] = keyring_of(key)
    # The material lacks the primary key packet; its signing subkey is still usable.
    without_primary = b"".join(
        pc.new_packet(p.tag, p.body) for p in pc.split_packets(public.material) if p.tag != 6
    )
    backend = NativeBackend(Keyring([replace(public, material=without_primary)]))
    verified = backend.verify(gpg_factory.sign(key, PAYLOAD, subkey=True), now=now())
    assert verified.signer.fingerprint == key.fingerprint
    assert refusal(backend, gpg_factory.sign(key, PAYLOAD))[0] == Reason.UNKNOWN_KEY.value
