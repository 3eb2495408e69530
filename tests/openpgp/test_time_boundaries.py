"""Which side of ``now`` an expiring signature or key falls on, at the second, for both
backends against real gpg (differential style: gpg's verdict is the reference).

GnuPG 2.2 (sig.c, check_signature_metadata_validity): a signature whose expiration time
equals the verification time has expired (``expiredate <= cur_time``); a key whose expiry
equals the verification time is still valid (``expiredate < cur_time``). Each boundary is
probed one second before, at, and one second after.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.openpgp.backend import SignatureBackend
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.native import NativeBackend
from tests.support.fixtures import keyring_of
from tests.support.forge import Forger, subpacket
from tests.support.gpgfactory import PAST_EPOCH, GeneratedKey, GpgFactory, KeySpec, atomic_payload

PAYLOAD = atomic_payload("sha256:" + "ab" * 32, "registry.example.com/ns/app:v1")
LIFETIME = 60  # seconds between a forged signature's creation and its expiry
ONE_SECOND = timedelta(seconds=1)


def outcome(backend: SignatureBackend, blob: bytes, now: datetime) -> str:
    try:
        backend.verify(blob, now=now)
    except SignatureRejected as exc:
        return exc.reason.value
    return "verified"


@pytest.fixture(scope="module")
def fresh(gpg_factory: GpgFactory) -> GeneratedKey:
    return gpg_factory.key(KeySpec("ed25519", name="time-boundary"))


@pytest.fixture(scope="module")
def expired(gpg_factory: GpgFactory) -> GeneratedKey:
    # Created at PAST_EPOCH with a one-day expiry (and an ed25519 signing subkey).
    return gpg_factory.key(KeySpec("ed25519", signing_subkey="ed25519", expired=True))


def backends(keyring: Keyring) -> Iterator[SignatureBackend]:
    with GnuPGBackend(keyring) as gnupg:
        yield gnupg
        yield NativeBackend(keyring)


def judged_at(keyring: Keyring, blob: bytes, moments: list[datetime]) -> dict[str, list[str]]:
    return {
        backend.name: [outcome(backend, blob, moment) for moment in moments]
        for backend in backends(keyring)
    }


def test_a_signature_expiring_at_now_has_expired(
    gpg_factory: GpgFactory, fresh: GeneratedKey
) -> None:
    keyring = keyring_of(fresh)
    [key] = keyring
    created = int(key.created.timestamp()) + 10
    forger = Forger(gpg_factory, fresh)
    blob = forger.message(
        PAYLOAD,
        created=created,
        hashed=[*forger.default_hashed(created), subpacket(3, LIFETIME.to_bytes(4, "big"))],
    )
    expires = datetime.fromtimestamp(created + LIFETIME, UTC)
    moments = [expires - ONE_SECOND, expires, expires + ONE_SECOND]
    expired = Reason.SIGNATURE_EXPIRED.value
    assert judged_at(keyring, blob, moments) == {
        "gnupg": ["verified", expired, expired],
        "native": ["verified", expired, expired],
    }


def test_a_gpg_made_signature_expiring_at_now_has_expired(
    gpg_factory: GpgFactory, expired: GeneratedKey
) -> None:
    # gpg's own --default-sig-expire (whole days), made while the key was valid.
    signed_at = PAST_EPOCH + timedelta(hours=2)
    blob = gpg_factory.sign(expired, PAYLOAD, sig_expire="seconds=600", at=signed_at)
    keyring = keyring_of(expired)
    ends = signed_at + timedelta(seconds=600)
    moments = [ends - ONE_SECOND, ends, ends + ONE_SECOND]
    gone = Reason.SIGNATURE_EXPIRED.value
    assert judged_at(keyring, blob, moments) == {
        "gnupg": ["verified", gone, gone],
        "native": ["verified", gone, gone],
    }


@pytest.mark.parametrize("subkey", [False, True], ids=["primary", "subkey"])
def test_a_key_expiring_at_now_is_still_valid(
    gpg_factory: GpgFactory, expired: GeneratedKey, subkey: bool
) -> None:
    keyring = keyring_of(expired)
    [key] = keyring
    # The subkey expires a minute after its primary; it inherits the primary's expiry.
    assert key.expires == PAST_EPOCH + timedelta(days=1)
    assert key.subkeys[0].expires == PAST_EPOCH + timedelta(days=1, minutes=1)
    blob = gpg_factory.sign(expired, PAYLOAD, subkey=subkey, at=PAST_EPOCH + timedelta(hours=1))
    ends = key.expires
    moments = [ends - ONE_SECOND, ends, ends + ONE_SECOND]
    gone = Reason.KEY_EXPIRED.value
    assert judged_at(keyring, blob, moments) == {
        "gnupg": ["verified", "verified", gone],
        "native": ["verified", "verified", gone],
    }
