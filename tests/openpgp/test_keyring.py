"""Key files as GnuPG reads them, and naming keys by fingerprint or key ID."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigverify.errors import PolicyError
from sigverify.openpgp.keyring import Keyring, load_key_data, load_key_file, load_keys_dir
from tests.support.gpgfactory import GpgFactory, KeySpec

ROOT = Path(__file__).resolve().parents[2]
SKOPEO_KEY = "1D8230F6CDB6A06716E414C1DB72F2188BB46CC8"


def test_fixture_key(containers_image_fixtures: Path) -> None:
    [key] = load_key_file(containers_image_fixtures / "public-key.gpg")
    assert (key.fingerprint, key.key_id, key.public_key_id) == (
        SKOPEO_KEY,
        "DB72F2188BB46CC8",
        "0xDB72F2188BB46CC8",
    )
    assert (key.user_ids, key.can_sign, key.revoked, key.expires) == (
        ("skopeo testing key",),
        True,
        False,
        None,
    )
    [subkey] = key.subkeys
    assert (subkey.fingerprint, subkey.can_sign) == (
        "639109B08C9782973617E7FE9823CCA2EFCB559B",
        False,
    )
    assert key.material  # exported by gpg, ready for a backend


def test_expired_and_revoked_keys_as_gnupg_sees_them(gpg_factory: GpgFactory) -> None:
    [expired] = load_key_file(gpg_factory.key(KeySpec("rsa2048", expired=True)).public_binary)
    [revoked] = load_key_file(gpg_factory.key(KeySpec("ed25519", revoked=True)).public_binary)
    assert expired.expires is not None and not expired.revoked
    assert revoked.revoked


def test_shipped_keys_directory() -> None:
    keyring = load_keys_dir(ROOT / "keys")
    assert len(keyring) == 4
    red_hat = keyring.resolve("0x199E2F91FD431D51")
    assert red_hat.fingerprint == "567E347AD0044ADE55BA8A5F199E2F91FD431D51"
    assert red_hat.primary_user_id == "Red Hat, Inc. (release key 2) <security@redhat.com>"
    assert keyring.resolve("567e 347a d004 4ade 55ba  8a5f 199e 2f91 fd43 1d51") is red_hat


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("0x0123456789ABCDEF", "no key file holds the key with key ID 0x0123456789ABCDEF"),
        ("A" * 40, "no key file holds the key with fingerprint " + "A" * 40),
        ("redhat", "is neither a 40-hex-digit fingerprint nor a 16-hex-digit key ID"),
    ],
)
def test_names_that_resolve_to_nothing(name: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_keys_dir(ROOT / "keys").resolve(name)


def test_subkey_fingerprint_resolves_to_its_primary(containers_image_fixtures: Path) -> None:
    keyring = Keyring(load_key_file(containers_image_fixtures / "public-key.gpg"))
    assert keyring.resolve("0x9823CCA2EFCB559B").fingerprint == SKOPEO_KEY
    assert keyring.owner_of("639109B08C9782973617E7FE9823CCA2EFCB559B") is keyring.keys[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "key data is empty"),
        (b"not a key at all", "no OpenPGP public key found"),
        (b"\x99" + b"\x00" * 40, "no OpenPGP public key found"),
        (b"x" * (1024 * 1024 + 1), "larger than 1048576 bytes"),
    ],
)
def test_bad_key_data(data: bytes, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_key_data(data, "bad.asc")


def test_missing_key_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read key file"):
        load_key_file(tmp_path / "gone.asc")
    with pytest.raises(PolicyError, match="key directory does not exist"):
        load_keys_dir(tmp_path / "nowhere")
