"""What each backend does with key material it cannot read: the native backend refuses to
start (a ``BackendError`` naming the key, never a crash nor a silently smaller keyring);
gpg imports what it can, so the unreadable key's signatures are from an unknown key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.errors import BackendError
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring, PublicKey
from sigverify.openpgp.native import NativeBackend
from tests.support import packetcraft as pc
from tests.support.fixtures import keyring_of
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec, atomic_payload

PAYLOAD = atomic_payload("sha256:" + "ab" * 32, "registry.example.com/ns/app:v1")


@pytest.fixture(scope="module")
def key(gpg_factory: GpgFactory) -> GeneratedKey:
    return gpg_factory.key(KeySpec("ed25519", name="material"))


@pytest.fixture(scope="module")
def public(key: GeneratedKey) -> PublicKey:
    [loaded] = keyring_of(key)
    return loaded


def _materials(material: bytes) -> dict[str, bytes]:
    key_packet = pc.split_packets(material)[0]
    return {
        "garbage": b"\x00not an OpenPGP packet",
        "truncated key packet": pc.new_packet(6, key_packet.body[:12]),
        "cut mid-packet": material[:20],
    }


@pytest.mark.parametrize("case", ["garbage", "truncated key packet", "cut mid-packet"])
def test_native_refuses_to_start_on_unreadable_material(public: PublicKey, case: str) -> None:
    broken = replace(public, material=_materials(public.material)[case])
    with pytest.raises(BackendError, match=f"cannot read the material of key {public.fingerprint}"):
        NativeBackend(Keyring([broken]))


def test_material_without_the_key_packet_leaves_its_signatures_unknown(
    gpg_factory: GpgFactory, key: GeneratedKey, public: PublicKey
) -> None:
    # Readable, but no v4 key packet for the fingerprint (as a v3 key would be): the
    # native backend cannot use the key, so its signatures are by an unknown key.
    user_id_only = b"".join(
        pc.new_packet(p.tag, p.body) for p in pc.split_packets(public.material) if p.tag == 13
    )
    keyring = Keyring([replace(public, material=user_id_only)])
    blob = gpg_factory.sign(key, PAYLOAD)
    for backend in (NativeBackend(keyring), GnuPGBackend(keyring)):
        with backend, pytest.raises(SignatureRejected) as caught:
            backend.verify(blob, now=datetime.now(UTC))
        assert caught.value.reason is Reason.UNKNOWN_KEY, backend.name


def test_gnupg_skips_unreadable_material(
    gpg_factory: GpgFactory, key: GeneratedKey, public: PublicKey
) -> None:
    keyring = Keyring([replace(public, material=b"\x00not an OpenPGP packet")])
    with GnuPGBackend(keyring) as gnupg, pytest.raises(SignatureRejected) as caught:
        gnupg.verify(gpg_factory.sign(key, PAYLOAD), now=datetime.now(UTC))
    assert caught.value.reason is Reason.UNKNOWN_KEY
