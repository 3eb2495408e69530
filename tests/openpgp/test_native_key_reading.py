"""Key files read in-process give GnuPG's reading (issue 12: no gpg process per key file).

For every kind of key the test factory makes — each algorithm, signing and encryption
subkeys, expired, expiring, revoked, revoked and expired subkeys — and for the project's own
key files, :func:`load_key_data` (the in-process reader, or gpg when it declines) must list
exactly what gpg lists: the same keys, flags, times, user IDs and subkeys. Material may
differ (gpg re-exports; the reader keeps the packets as read), so it is compared through
what the native backend takes from it: the key packets.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sigverify.errors import PolicyError
from sigverify.openpgp import _cert_reader
from sigverify.openpgp.keyring import PublicKey, load_key_data, load_key_data_with_gpg
from sigverify.openpgp.keys import parse_key_packets
from sigverify.openpgp.native import _math_check
from tests.support.gpgfactory import KEY_ALGORITHMS, GpgFactory, KeySpec

pytestmark = pytest.mark.slow  # generates keys with gpg

ROOT = Path(__file__).resolve().parents[2]
SPECS = [
    *(KeySpec(algorithm) for algorithm in KEY_ALGORITHMS),
    KeySpec("ed25519", signing_subkey="nistp256"),
    KeySpec("rsa2048", signing_subkey="rsa2048"),
    KeySpec("rsa2048", expired=True),
    KeySpec("ed25519", signing_subkey="ed25519", expired=True),
    KeySpec("ed25519", revoked=True),
    KeySpec("ed25519", signing_subkey="ed25519", subkey_expired=True),
    KeySpec("ed25519", signing_subkey="rsa2048", subkey_revoked=True),
    KeySpec("nistp256", expires_in_days=30),
    KeySpec("rsa2048", encryption_subkey="rsa2048"),
    KeySpec("ed25519", signing_subkey="ed25519", encryption_subkey="rsa2048"),
]
#: Kinds the in-process reader must decide itself (the rest may go to gpg).
READ_NATIVELY = {
    "rsa2048",
    "rsa3072",
    "rsa4096",
    "ed25519",
    "dsa2048",
    "dsa3072",
    "nistp256",
    "nistp384",
    "nistp521",
    "ed25519_sub-nistp256",
    "rsa2048_sub-rsa2048",
    "nistp256_exp30d",
    "rsa2048_enc-rsa2048",
}


def listing(keys: list[PublicKey]) -> list[tuple[PublicKey, list[tuple[str, int]]]]:
    """Everything but the material, and the key packets the native backend reads from it."""
    return [
        (
            replace(key, material=b""),
            [(p.fingerprint, p.created) for p in parse_key_packets(key.material)],
        )
        for key in keys
    ]


def native_only(data: bytes, source: str) -> list[PublicKey] | None:
    try:
        return _cert_reader.read_certificates(data, source, _math_check)
    except _cert_reader.Unsure:
        return None


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.label)
@pytest.mark.parametrize("form", ["binary", "armored"])
def test_every_kind_of_key_reads_as_gpg_reads_it(
    gpg_factory: GpgFactory, spec: KeySpec, form: str
) -> None:
    key = gpg_factory.key(spec)
    data = (key.public_binary if form == "binary" else key.public_armored).read_bytes()
    expected = load_key_data_with_gpg(data, "key")
    assert listing(load_key_data(data, "key")) == listing(expected)
    native = native_only(data, "key")
    if native is not None:
        assert listing(native) == listing(expected)
    if spec.label in READ_NATIVELY:
        assert native is not None, f"{spec.label} went to gpg"


def test_several_keys_in_one_file(gpg_factory: GpgFactory) -> None:
    data = b"".join(
        gpg_factory.key(KeySpec(algorithm)).public_binary.read_bytes()
        for algorithm in ("rsa2048", "ed25519", "nistp256")
    )
    expected = load_key_data_with_gpg(data, "keys")
    assert native_only(data, "keys") is not None
    assert listing(load_key_data(data, "keys")) == listing(expected)


@pytest.mark.parametrize("path", sorted((ROOT / "keys").glob("*.asc")), ids=lambda p: p.name)
def test_the_projects_key_files(path: Path) -> None:
    data = path.read_bytes()
    assert listing(load_key_data(data, "k")) == listing(load_key_data_with_gpg(data, "k"))


def test_a_tampered_certificate_is_left_to_gpg(gpg_factory: GpgFactory) -> None:
    data = bytearray(gpg_factory.key(KeySpec("rsa2048")).public_binary.read_bytes())
    data[-5] ^= 0x01  # inside the last signature's value
    assert native_only(bytes(data), "k") is None
    try:
        expected = listing(load_key_data_with_gpg(bytes(data), "k"))
    except PolicyError as exc:
        with pytest.raises(PolicyError, match=str(exc).split(":")[0]):
            load_key_data(bytes(data), "k")
    else:
        assert listing(load_key_data(bytes(data), "k")) == expected


def test_garbage_is_refused_as_before() -> None:
    with pytest.raises(PolicyError, match="no OpenPGP public key found"):
        load_key_data(b"not a key at all\n", "junk")
