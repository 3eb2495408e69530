"""DSA parity: which DSA keys and signatures each backend accepts, beside real gpg.

GnuPG 2.2 needs q to be a multiple of 8 bits and at least 160 (a self-signature by a key
with q of 152 bits is "an unsafe (152 bit) hash", with 161 bits "DSA requires the hash
length to be a multiple of 8 bits": gpg will not even import such a key), and a hash at
least as long as q (longer ones are truncated). gpg generates dsa1024 keys (q = 160) and
signs with them; the native backend must verify those.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import dsa

from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.errors import BackendError, PolicyError
from sigverify.openpgp.backend import SignatureBackend
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring, load_key_data
from sigverify.openpgp.keys import parse_key_packets
from sigverify.openpgp.native import NativeBackend
from tests.support.dsa_craft import DsaKey, dsa_key, dsa_parameters
from tests.support.fixtures import keyring_of
from tests.support.gpgfactory import GpgError, GpgFactory, KeySpec, atomic_payload

pytestmark = pytest.mark.slow  # DSA domain parameters take seconds to find

PAYLOAD = atomic_payload("sha256:" + "ab" * 32, "registry.example.com/ns/app:v1")
INVALID = Reason.INVALID_SIGNATURE.value
SHA1, SHA224, SHA256, SHA384, SHA512 = 2, 11, 8, 9, 10


def outcomes(keyring: Keyring, blob: bytes, now: datetime) -> dict[str, str]:
    backends: list[SignatureBackend] = [GnuPGBackend(keyring), NativeBackend(keyring)]
    seen = {}
    for backend in backends:
        try:
            backend.verify(blob, now=now)
        except SignatureRejected as exc:
            seen[backend.name] = exc.reason.value
        else:
            seen[backend.name] = "verified"
        finally:
            backend.close()
    return seen


# -- gpg's own dsa1024 keys (q = 160) ---------------------------------------------------------


@pytest.mark.parametrize("digest", [None, "SHA1", "SHA224", "SHA256", "SHA384", "SHA512"])
def test_gpg_dsa1024_signatures_verify_on_both(gpg_factory: GpgFactory, digest: str | None) -> None:
    key = gpg_factory.key(KeySpec("dsa1024"))
    keyring = keyring_of(key)
    [packet] = parse_key_packets(keyring.material())
    assert (packet.algorithm, packet.qbits) == (17, 160)
    try:
        blob = gpg_factory.sign(key, PAYLOAD, digest_algo=digest)
    except GpgError as exc:  # pragma: no cover - this gpg signs with every hash above
        pytest.fail(f"gpg refused to sign with {digest}: {exc}")
    now = datetime.now(UTC)
    assert outcomes(keyring, blob, now) == {"gnupg": "verified", "native": "verified"}


# -- the hash must be at least as long as q -----------------------------------------------------


@pytest.fixture(scope="module")
def created() -> int:
    return int(time.time()) - 600


@pytest.fixture(scope="module")
def standard_keys(created: int) -> dict[int, DsaKey]:
    """Keys over cryptography-made parameters: q of 160 bits (p 1024) and 256 bits (p 2048)."""
    keys = {}
    for size in (1024, 2048):
        numbers = dsa.generate_parameters(size).parameter_numbers()
        keys[numbers.q.bit_length()] = dsa_key(
            numbers.p, numbers.q, numbers.g, created=created, name=f"dsa q{size}"
        )
    assert sorted(keys) == [160, 256]
    return keys


@pytest.mark.parametrize(
    ("qbits", "hash_algo", "expected"),
    [
        (160, SHA1, "verified"),  # a hash exactly as long as q
        (160, SHA256, "verified"),  # longer: truncated
        (256, SHA1, INVALID),
        (256, SHA224, INVALID),  # one step short of q
        (256, SHA256, "verified"),  # exactly q
        (256, SHA512, "verified"),
    ],
)
def test_the_hash_must_be_at_least_q(
    standard_keys: dict[int, DsaKey], created: int, qbits: int, hash_algo: int, expected: str
) -> None:
    key = standard_keys[qbits]
    keyring = Keyring(load_key_data(key.material))  # gpg accepts these keys
    blob = key.message(PAYLOAD, created=created + 10, hash_algo=hash_algo)
    now = datetime.fromtimestamp(created + 60, UTC)
    assert outcomes(keyring, blob, now) == {"gnupg": expected, "native": expected}


# -- q sizes GnuPG refuses ----------------------------------------------------------------------


@pytest.mark.parametrize("qbits", [152, 161])
def test_a_key_with_a_q_gnupg_refuses_is_refused_by_both(created: int, qbits: int) -> None:
    key = dsa_key(*dsa_parameters(qbits), created=created, name=f"dsa q{qbits}")
    blob = key.message(PAYLOAD, created=created + 10)
    # gpg refuses the key's self-signature, so the key has no user ID and is not imported.
    with pytest.raises(PolicyError, match="no OpenPGP public key found"):
        load_key_data(key.material)
    # Handed the material anyway, gpg still does not know the key ...
    keyring = Keyring([key.public_key()])
    with GnuPGBackend(keyring) as gnupg:
        with pytest.raises(SignatureRejected) as caught:
            gnupg.verify(blob, now=datetime.fromtimestamp(created + 60, UTC))
        assert caught.value.reason is Reason.UNKNOWN_KEY
    # ... and the native backend cannot use its material at all.
    with pytest.raises(BackendError, match=f"cannot read the material of key {key.fingerprint}"):
        NativeBackend(keyring)


def test_a_q_of_168_bits_is_a_known_gap() -> None:
    """GnuPG accepts q = 168 (a multiple of 8, at least 160); cryptography loads DSA keys
    only with q of 160, 224 or 256 bits, so the native backend refuses the whole keyring.
    Pinned so that a change on either side is noticed; no signer is known to make such keys.
    """
    created = int(time.time()) - 600
    key = dsa_key(*dsa_parameters(168), created=created, name="dsa q168")
    keyring = Keyring(load_key_data(key.material))
    blob = key.message(PAYLOAD, created=created + 10)
    with GnuPGBackend(keyring) as gnupg:
        verified = gnupg.verify(blob, now=datetime.fromtimestamp(created + 60, UTC))
    assert verified.signer.fingerprint == key.fingerprint
    with pytest.raises(BackendError, match="q must be exactly 160, 224, or 256 bits long"):
        NativeBackend(keyring)
