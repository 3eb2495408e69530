"""The reader's fast path for the common shape agrees with the general reader, byte for byte.

``parse_signed_message`` first tries ``_read_common_shape`` (the framing gpg and skopeo
write) and falls back to ``_read_any_shape``. Whenever the fast path returns a message, the
general reader must return an equal one; whenever the general reader refuses, the fast path
must not accept. Rejections themselves always come from the general reader, so their reasons
and messages cannot drift.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigverify.core.verdict import SignatureRejected
from sigverify.openpgp import packets
from tests.support import packetcraft as pc
from tests.support.budget import examples, iterations
from tests.support.gpgfactory import GpgFactory, KeySpec, atomic_payload
from tests.support.mutations import mutations

_SETTINGS = settings(
    max_examples=examples(1500),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PAYLOAD = atomic_payload(
    "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55",
    "registry.example.com/ns/app:v1",
)


def _general(blob: bytes) -> packets.SignedMessage | SignatureRejected:
    try:
        return packets._read_any_shape(blob)
    except SignatureRejected as exc:
        return exc


def _agree(blob: bytes) -> packets.SignedMessage | None:
    """Check the two readers on ``blob``; the fast path's result (or None)."""
    if not blob or not blob[0] & 0x80:
        return None  # refused by parse_signed_message before either reader runs
    fast = packets._read_common_shape(blob)
    if fast is not None:
        assert _general(blob) == fast
    return fast


@pytest.fixture(scope="module")
def gpg_blobs(gpg_factory: GpgFactory) -> list[bytes]:
    """gpg-made blobs in every shape the fast path should take."""
    blobs = []
    for algorithm in ("rsa2048", "ed25519", "nistp256", "dsa2048"):
        key = gpg_factory.key(KeySpec(algorithm))
        blobs.append(gpg_factory.sign(key, PAYLOAD))
        blobs.append(gpg_factory.sign(key, PAYLOAD, compression="none"))
        blobs.append(gpg_factory.sign(key, PAYLOAD, compression="zlib"))
        blobs.append(gpg_factory.sign(key, PAYLOAD, compression="uncompressed-packet"))
    return blobs


def _seeds(fixtures: Path) -> list[bytes]:
    names = ["image.signature", "no-optional-fields.signature", "expired.signature"]
    return [(fixtures / name).read_bytes() for name in names]


@pytest.mark.slow  # signs 16 blobs with real gpg (keys of four algorithms)
def test_common_blobs_take_the_fast_path(
    containers_image_fixtures: Path, gpg_blobs: list[bytes]
) -> None:
    """gpg, skopeo and the fixtures write the common shape: the fast path must take them."""
    for blob in [*_seeds(containers_image_fixtures), *gpg_blobs]:
        fast = _agree(blob)
        assert fast is not None
        assert packets.parse_signed_message(blob) == fast


def test_every_framing_variant(containers_image_fixtures: Path) -> None:
    """Old and new headers of every length encoding, compressed or not."""
    ops, lit, sig = pc.unwrap((containers_image_fixtures / "image.signature").read_bytes())
    bodies = [ops.body, lit.body, sig.body]
    tags = [4, 11, 2]
    headers: list[Callable[[int, bytes], bytes]] = [
        lambda tag, body: pc.new_packet(tag, body),
        lambda tag, body: (
            pc.new_packet(tag, body)[:1] + b"\xff" + len(body).to_bytes(4, "big") + body
        ),
        lambda tag, body: pc.old_packet(tag, body, length_type=0 if len(body) < 256 else 1),
        lambda tag, body: pc.old_packet(tag, body, length_type=1),
        lambda tag, body: pc.old_packet(tag, body, length_type=2),
    ]
    taken = 0
    for header in headers:
        inner = b"".join(header(tag, body) for tag, body in zip(tags, bodies, strict=True))
        for algorithm in (None, 0, 1, 2, 3):
            if algorithm is None:
                blob = inner
            else:
                blob = pc.new_packet(8, pc.compressed(inner, algorithm))
                old = pc.old_packet(8, pc.compressed(inner, algorithm), length_type=3)
                taken += _agree(old) is not None
            taken += _agree(blob) is not None
    # Every one of the 5 * 9 blobs but the 5 * 2 BZip2 ones (left to the general reader).
    assert taken == 35
    # Shapes left to the general reader.
    partial_literal = pc.partial_packet(11, lit.body, chunk_power=6)
    assert _agree(ops.encode() + partial_literal + sig.encode()) is None
    assert _agree(pc.join([sig, lit])) is None
    assert _agree(b"\xa8\x03PGP" + pc.join([ops, lit, sig])) is None  # a marker packet first


@pytest.mark.slow
def test_mutants_agree(containers_image_fixtures: Path, gpg_blobs: list[bytes]) -> None:
    taken = 0
    for index, blob in enumerate([*_seeds(containers_image_fixtures), *gpg_blobs]):
        for _, mutant in mutations(blob, iterations(200, dev=20), seed=20261127 + index):
            taken += _agree(mutant) is not None
    assert taken > 0


@pytest.mark.slow
@_SETTINGS
@given(st.data())
def test_spliced_signature_fields(containers_image_fixtures: Path, data: st.DataObject) -> None:
    """Random bytes over one packet body, framing kept intact: the hardest case to agree on."""
    parts = pc.unwrap((containers_image_fixtures / "image.signature").read_bytes())
    which = data.draw(st.integers(0, 2))
    body = parts[which].body
    start = data.draw(st.integers(0, len(body) - 1))
    patch = data.draw(st.binary(min_size=1, max_size=24))
    parts[which] = pc.RawPacket(parts[which].tag, body[:start] + patch + body[start + len(patch) :])
    inner = pc.join(parts)
    _agree(inner)
    _agree(pc.new_packet(8, pc.compressed(inner, data.draw(st.sampled_from([0, 1, 2])))))


@pytest.mark.slow
@_SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes(blob: bytes) -> None:
    _agree(blob)
    _agree(b"\xa3\x01" + blob)


# Signature bodies built field by field: every subpacket kind (critical or not) with sizes
# around the ones GnuPG insists on, every algorithm byte near the accepted ones, MPIs of
# plausible and implausible sizes.
_subpacket_bodies = st.one_of(
    st.binary(max_size=3),
    st.binary(min_size=4, max_size=4),
    st.binary(min_size=7, max_size=9),
    st.binary(min_size=20, max_size=22).map(lambda body: b"\x04" + body[1:]),
    st.binary(min_size=20, max_size=33),
)
_random_subpacket = st.builds(
    lambda kind, critical, body: bytes([len(body) + 1, kind | (0x80 if critical else 0)]) + body,
    st.sampled_from([2, 3, 9, 16, 20, 28, 33, 40, 0, 127]) | st.integers(0, 127),
    st.sampled_from([False, False, False, True]),
    _subpacket_bodies,
)
_well_formed_subpacket = st.sampled_from(
    [
        (2, b"\x00\x00\x00\x07"),
        (3, b"\x00\x00\x00\x00"),
        (3, b"\x00\x00\x01\x00"),
        (9, b"\x00\x00\x10\x00"),
        (16, b"\x11" * 8),
        (33, b"\x04" + b"\x22" * 20),
        (28, b"someone"),
    ]
).map(lambda item: bytes([len(item[1]) + 1, item[0]]) + item[1])
_subpacket = st.one_of(_well_formed_subpacket, _well_formed_subpacket, _random_subpacket)
_mpi = st.builds(
    lambda bits, extra: bits.to_bytes(2, "big") + b"\x7f" * ((bits + 7) // 8 + extra),
    st.sampled_from([1024, 2048, 256, 8192, 8193, 0, 1, 8, 255]),
    st.sampled_from([0, 0, 0, -1, 1]),
)


@pytest.mark.slow
@_SETTINGS
@given(
    st.tuples(
        st.sampled_from([4, 4, 4, 3, 5]), st.integers(0, 2), st.sampled_from([1, 17, 19, 22, 2, 18])
    ),
    st.sampled_from([2, 8, 9, 10, 11, 1, 3]),
    st.lists(_subpacket, max_size=5),
    st.lists(_subpacket, max_size=3),
    st.lists(_mpi, min_size=1, max_size=2) | st.lists(_mpi, max_size=3),
    st.tuples(
        st.sampled_from([3, 3, 0, 1, 2]), st.sampled_from([0, 0, 1, 2]), st.sampled_from(b"btuBx")
    ),
)
def test_signature_fields(
    containers_image_fixtures: Path,
    head: tuple[int, int, int],
    hash_algo: int,
    hashed: list[bytes],
    unhashed: list[bytes],
    mpis: list[bytes],
    one_pass_and_literal: tuple[int, int, int],
) -> None:
    version, sig_type, pubkey_algo = head
    ops_type, ops_hash_shift, mode = one_pass_and_literal
    hashed_area, unhashed_area = b"".join(hashed), b"".join(unhashed)
    signature = (
        bytes([version, sig_type, pubkey_algo, hash_algo])
        + len(hashed_area).to_bytes(2, "big")
        + hashed_area
        + len(unhashed_area).to_bytes(2, "big")
        + unhashed_area
        + b"\xab\xcd"
        + b"".join(mpis)
    )
    one_pass = pc.one_pass(
        sig_type=ops_type if ops_type < 2 else sig_type,
        hash_algo=hash_algo if ops_hash_shift == 0 else hash_algo + ops_hash_shift,
        pubkey_algo=pubkey_algo,
        last=ops_type % 2 if ops_type >= 2 else 1,
    )
    literal = pc.literal(PAYLOAD, mode=bytes([mode]), filename=b"f.json", date=7)
    inner = pc.join(
        [pc.RawPacket(4, one_pass), pc.RawPacket(11, literal), pc.RawPacket(2, signature)]
    )
    _agree(inner)
    _agree(pc.new_packet(8, pc.compressed(inner, 1)))


def test_signature_value_edges(containers_image_fixtures: Path) -> None:
    """MPIs: trailing, missing, truncated and implausibly large values go to the general reader."""
    ops, lit, sig = pc.unwrap((containers_image_fixtures / "image.signature").read_bytes())
    mpi_at = len(sig.body) - 2 - 128  # one 1024-bit RSA value ends the fixture's signature
    huge = (8193).to_bytes(2, "big") + b"\x01" * 1025
    for body in (
        sig.body + b"\x00",
        sig.body[:mpi_at],
        sig.body[: mpi_at + 1],
        sig.body[:-1],
        sig.body[:mpi_at] + huge,
        sig.body[:mpi_at] + (8192).to_bytes(2, "big") + b"\x01" * 1024,
    ):
        inner = pc.join([ops, lit, pc.RawPacket(2, body)])
        expected_fast = body.endswith(b"\x01" * 1024) and not body.endswith(huge)
        assert (_agree(inner) is not None) == expected_fast
        with contextlib.nullcontext() if expected_fast else pytest.raises(SignatureRejected):
            packets.parse_signed_message(inner)
