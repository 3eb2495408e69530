"""The pure packet reader: the signed-message shape, limits, and exact rejection reasons."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.limits import (
    MAX_DECOMPRESSED_BYTES,
    MAX_NESTING,
    MAX_PACKETS,
    MAX_PAYLOAD_BYTES,
    MAX_SIGNATURE_BLOB_BYTES,
)
from sigverify.openpgp.packets import parse_signed_message
from tests.support import packetcraft as pc
from tests.support.fixtures import FIXTURE_MANIFEST_DIGEST

SKOPEO_KEY_ID = "DB72F2188BB46CC8"


def _reject(blob: bytes) -> SignatureRejected:
    with pytest.raises(SignatureRejected) as caught:
        parse_signed_message(blob)
    return caught.value


@pytest.fixture(scope="module")
def image_packets(containers_image_fixtures: Path) -> list[pc.RawPacket]:
    """OPS, literal, signature of the fixture image.signature (v4, RSA, SHA-256)."""
    packets = pc.unwrap((containers_image_fixtures / "image.signature").read_bytes())
    assert [p.tag for p in packets] == [4, 11, 2]
    return packets


@pytest.fixture(scope="module")
def v3_packets(containers_image_fixtures: Path) -> list[pc.RawPacket]:
    packets = pc.unwrap((containers_image_fixtures / "invalid-blob.signature-v3").read_bytes())
    assert [p.tag for p in packets] == [4, 11, 2]
    return packets


# -- the containers/image fixtures ----------------------------------------------------------


def test_fixture_image_signature(containers_image_fixtures: Path) -> None:
    message = parse_signed_message((containers_image_fixtures / "image.signature").read_bytes())
    signature = message.signature
    assert message.compression == (1,)
    assert message.one_pass is not None and message.one_pass.key_id == SKOPEO_KEY_ID
    assert message.literal.mode == "b" and message.literal.filename == b""
    assert FIXTURE_MANIFEST_DIGEST.encode() in message.payload
    assert (signature.version, signature.sig_type) == (4, 0x00)
    assert (signature.pubkey_algo, signature.hash_algo) == (1, 8)
    assert signature.creation_time == 1458239713
    assert signature.issuer_key_id == SKOPEO_KEY_ID
    assert signature.expiration_seconds is None
    assert len(signature.mpis) == 1
    # RFC 4880 §5.2.4: the v4 trailer ends with 0x04 0xFF and the hashed length.
    hashed_length = len(signature.hashed_trailer) - 6
    assert signature.hashed_trailer[-6:] == b"\x04\xff" + hashed_length.to_bytes(4, "big")


def test_fixture_v3_signature(containers_image_fixtures: Path) -> None:
    blob = (containers_image_fixtures / "invalid-blob.signature-v3").read_bytes()
    signature = parse_signed_message(blob).signature
    assert signature.version == 3
    assert signature.issuer_key_id == SKOPEO_KEY_ID
    assert signature.issuer_fingerprint is None
    # RFC 4880 §5.2.4: v3 hashes the type and the creation time (5 bytes).
    assert signature.hashed_trailer == bytes([0]) + signature.creation_time.to_bytes(4, "big")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("unsigned-literal.signature", Reason.NO_SIGNATURE),
        ("unsigned-encrypted.signature", Reason.NO_SIGNATURE),
        ("double.signature", Reason.MULTIPLE_SIGNATURES),
        # image.signature with a changed signature *and* a stray byte after the stream.
        ("corrupt.signature", Reason.INVALID_SIGNATURE),
        ("corrupt.signature-v3", Reason.INVALID_SIGNATURE),
        ("unknown-cosign-key.signature", Reason.INVALID_SIGNATURE),
    ],
)
def test_fixture_rejections(containers_image_fixtures: Path, name: str, reason: Reason) -> None:
    assert _reject((containers_image_fixtures / name).read_bytes()).reason is reason


# -- shapes ---------------------------------------------------------------------------------


def test_uncompressed_and_every_compression(image_packets: list[pc.RawPacket]) -> None:
    message = pc.join(image_packets)
    assert parse_signed_message(message).compression == ()
    for algorithm in (0, 1, 2, 3):
        blob = pc.new_packet(8, pc.compressed(message, algorithm))
        assert parse_signed_message(blob).compression == (algorithm,)


def test_old_form_signature_then_literal(image_packets: list[pc.RawPacket]) -> None:
    _, lit, sig = image_packets
    message = parse_signed_message(pc.join([sig, lit]))
    assert message.one_pass is None
    assert message.signature.issuer_key_id == SKOPEO_KEY_ID


def test_literal_then_signature_without_one_pass(image_packets: list[pc.RawPacket]) -> None:
    _, lit, sig = image_packets
    assert _reject(pc.join([lit, sig])).reason is Reason.INVALID_SIGNATURE


def test_old_format_headers_and_partial_lengths(image_packets: list[pc.RawPacket]) -> None:
    ops, lit, sig = image_packets
    blob = (
        pc.old_packet(4, ops.body, length_type=0)
        + pc.partial_packet(11, lit.body, chunk_power=0)
        + pc.old_packet(2, sig.body, length_type=2)
    )
    assert (
        parse_signed_message(blob).literal.body
        == parse_signed_message(pc.join(image_packets)).literal.body
    )
    inner = pc.join(image_packets)
    wrapped = pc.old_packet(8, pc.compressed(inner, 1), length_type=3)
    assert parse_signed_message(wrapped).compression == (1,)
    partial_compressed = pc.partial_packet(8, pc.compressed(inner, 0), chunk_power=6)
    assert parse_signed_message(partial_compressed).compression == (0,)


def test_marker_packets_are_ignored(image_packets: list[pc.RawPacket]) -> None:
    blob = pc.new_packet(10, b"PGP") + pc.join(image_packets)
    assert parse_signed_message(blob).signature.issuer_key_id == SKOPEO_KEY_ID
    assert _reject(pc.new_packet(10, b"XYZ") + pc.join(image_packets)).reason is (
        Reason.INVALID_SIGNATURE
    )


def test_literal_modes_and_filename(image_packets: list[pc.RawPacket]) -> None:
    ops, _, sig = image_packets
    for mode in (b"b", b"t", b"u"):
        lit = pc.RawPacket(11, pc.literal(b"{}", mode=mode, filename=b"x.json", date=7))
        literal = parse_signed_message(pc.join([ops, lit, sig])).literal
        assert (literal.mode, literal.filename, literal.date, literal.body) == (
            mode.decode(),
            b"x.json",
            7,
            b"{}",
        )
    bad = pc.RawPacket(11, pc.literal(b"{}", mode=b"m"))
    assert _reject(pc.join([ops, bad, sig])).reason is Reason.INVALID_SIGNATURE


@pytest.mark.parametrize(
    "order",
    [
        [0, 1],  # no signature
        [1],
        [0, 1, 2, 2],
        [2, 1, 2],
    ],
)
def test_signature_counts(image_packets: list[pc.RawPacket], order: list[int]) -> None:
    blob = pc.join([image_packets[i] for i in order])
    expected = {0: Reason.NO_SIGNATURE, 1: None, 2: Reason.MULTIPLE_SIGNATURES}[order.count(2)]
    assert _reject(blob).reason is expected


@pytest.mark.parametrize(
    "order",
    [[1, 0, 2], [0, 2, 1], [2, 0, 1], [0, 0, 1, 2], [0, 1, 1, 2], [2, 1, 1], [2]],
)
def test_wrong_shapes_are_invalid(image_packets: list[pc.RawPacket], order: list[int]) -> None:
    blob = pc.join([image_packets[i] for i in order])
    assert _reject(blob).reason is Reason.INVALID_SIGNATURE


def test_one_pass_must_agree_with_signature(image_packets: list[pc.RawPacket]) -> None:
    _, lit, sig = image_packets
    for ops in (
        pc.one_pass(hash_algo=2, key_id=bytes.fromhex(SKOPEO_KEY_ID)),  # "digest conflict"
        pc.one_pass(sig_type=1, key_id=bytes.fromhex(SKOPEO_KEY_ID)),
        pc.one_pass(last=0, key_id=bytes.fromhex(SKOPEO_KEY_ID)),
        b"\x02" + pc.one_pass()[1:],
        pc.one_pass()[:-1],
    ):
        blob = pc.join([pc.RawPacket(4, ops), lit, sig])
        assert _reject(blob).reason is Reason.INVALID_SIGNATURE


@pytest.mark.parametrize("tag", [1, 3, 9, 18, 20])
def test_encrypted_packets_mean_no_signature(image_packets: list[pc.RawPacket], tag: int) -> None:
    blob = pc.new_packet(tag, b"\x03" + b"\0" * 20) + pc.join(image_packets)
    assert _reject(blob).reason is Reason.NO_SIGNATURE


@pytest.mark.parametrize("tag", [5, 6, 7, 12, 13, 14, 17, 19, 60])
def test_foreign_packets_are_invalid(image_packets: list[pc.RawPacket], tag: int) -> None:
    blob = pc.join(image_packets) + pc.new_packet(tag, b"\x04abc")
    assert _reject(blob).reason is Reason.INVALID_SIGNATURE


def test_appended_message_counts_as_second_signature(
    containers_image_fixtures: Path,
) -> None:
    blob = (containers_image_fixtures / "image.signature").read_bytes()
    # The fixture's compressed packet has an indeterminate length: a second message after
    # its deflate stream is still part of the blob (GnuPG silently ignores it).
    assert _reject(blob + blob).reason is Reason.MULTIPLE_SIGNATURES
    assert _reject(blob + b"\n").reason is Reason.INVALID_SIGNATURE


# -- signature packet details ---------------------------------------------------------------


def _v4_signature(
    hashed: bytes, unhashed: bytes = b"", *, algo: int = 1, hash_algo: int = 8
) -> bytes:
    return (
        bytes([4, 0, algo, hash_algo])
        + len(hashed).to_bytes(2, "big")
        + hashed
        + len(unhashed).to_bytes(2, "big")
        + unhashed
        + b"\xab\xcd"
        + (8).to_bytes(2, "big")
        + b"\x99"
    )


def _sub(kind: int, body: bytes) -> bytes:
    return bytes([len(body) + 1, kind]) + body


def _message(signature_body: bytes) -> bytes:
    return pc.join([pc.RawPacket(2, signature_body), pc.RawPacket(11, pc.literal(b"{}"))])


def test_subpackets_are_read_as_gnupg_reads_them() -> None:
    fingerprint = bytes(range(20))
    hashed = (
        _sub(2, (1000).to_bytes(4, "big"))
        + _sub(3, (60).to_bytes(4, "big"))
        + _sub(33, b"\x04" + fingerprint)
    )
    unhashed = _sub(16, b"\x11" * 8)
    signature = parse_signed_message(_message(_v4_signature(hashed, unhashed))).signature
    assert signature.creation_time == 1000
    assert signature.expiration_time == 1060
    assert signature.issuer_fingerprint == fingerprint.hex().upper()
    # The issuer subpacket wins over the issuer fingerprint, as in GnuPG 2.2.
    assert signature.issuer_key_id == "11" * 8
    fingerprint_only = _v4_signature(hashed)
    assert parse_signed_message(_message(fingerprint_only)).signature.issuer_key_id is None
    only_unhashed = parse_signed_message(
        _message(_v4_signature(_sub(2, b"\0\0\0\1"), unhashed))
    ).signature
    assert only_unhashed.issuer_key_id == "11" * 8
    # An expiration of zero means "never".
    never = _v4_signature(_sub(2, b"\0\0\0\1") + _sub(3, b"\0\0\0\0"))
    assert parse_signed_message(_message(never)).signature.expiration_time is None
    # A creation time only in the unhashed area does not count.
    unhashed_time = _v4_signature(b"", _sub(2, b"\0\0\0\1"))
    assert parse_signed_message(_message(unhashed_time)).signature.creation_time is None


@pytest.mark.parametrize(
    "hashed",
    [
        _sub(0x80 | 40, b"x"),  # unknown critical subpacket
        _sub(0x80 | 20, b"\x80\0\0\0\0\x01\0\x01ab"),  # critical notation
        _sub(2, b"\0\0\1"),  # creation time of 3 bytes
        _sub(16, b"\1" * 7),  # short issuer
        b"\x05\x02\0\0",  # subpacket longer than the area
        b"\x00",  # zero-length subpacket
    ],
)
def test_bad_subpacket_areas_are_invalid(hashed: bytes) -> None:
    assert _reject(_message(_v4_signature(hashed))).reason is Reason.INVALID_SIGNATURE


def test_known_critical_subpackets_are_accepted() -> None:
    hashed = bytes([5, 0x80 | 2]) + b"\0\0\0\1" + _sub(0x80 | 27, b"\x03")
    assert parse_signed_message(_message(_v4_signature(hashed))).signature.creation_time == 1


@pytest.mark.parametrize(
    ("algo", "hash_algo"),
    [(16, 8), (18, 8), (99, 8), (1, 1), (1, 3), (1, 4), (1, 12)],
)
def test_unsupported_algorithms_are_invalid(algo: int, hash_algo: int) -> None:
    body = _v4_signature(_sub(2, b"\0\0\0\1"), algo=algo, hash_algo=hash_algo)
    assert _reject(_message(body)).reason is Reason.INVALID_SIGNATURE


@pytest.mark.parametrize("sig_type", [0x02, 0x10, 0x13, 0x18, 0x1F, 0x20, 0x40])
def test_non_document_signature_types_are_invalid(sig_type: int) -> None:
    body = bytearray(_v4_signature(_sub(2, b"\0\0\0\1")))
    body[1] = sig_type
    assert _reject(_message(bytes(body))).reason is Reason.INVALID_SIGNATURE


def test_signature_versions(v3_packets: list[pc.RawPacket]) -> None:
    ops, lit, sig = v3_packets
    for version in (2, 3):
        body = bytes([version]) + sig.body[1:]
        assert (
            parse_signed_message(pc.join([ops, lit, pc.RawPacket(2, body)])).signature.version
            == version
        )
    for version in (5, 6):
        body = bytes([version]) + sig.body[1:]
        assert _reject(pc.join([ops, lit, pc.RawPacket(2, body)])).reason is (
            Reason.INVALID_SIGNATURE
        )
    bad_length = sig.body[:1] + b"\x04" + sig.body[2:]
    assert _reject(pc.join([ops, lit, pc.RawPacket(2, bad_length)])).reason is (
        Reason.INVALID_SIGNATURE
    )


def test_trailing_bytes_in_signature_packet(image_packets: list[pc.RawPacket]) -> None:
    ops, lit, sig = image_packets
    blob = pc.join([ops, lit, pc.RawPacket(2, sig.body + b"\0")])
    assert _reject(blob).reason is Reason.INVALID_SIGNATURE


# -- truncation and limits ------------------------------------------------------------------


def test_every_truncation_is_rejected(containers_image_fixtures: Path) -> None:
    blob = (containers_image_fixtures / "image.signature").read_bytes()
    packets = pc.unwrap(blob)
    plain = pc.join(packets)
    for data in (blob, plain):
        for cut in range(len(data)):
            with pytest.raises(SignatureRejected):
                parse_signed_message(data[:cut])


def test_empty_and_armored_blobs() -> None:
    assert _reject(b"").reason is Reason.INVALID_SIGNATURE
    armored = _reject(b"-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----\n")
    assert armored.reason is Reason.INVALID_SIGNATURE
    assert "armored" in str(armored)


def test_blob_size_limit(image_packets: list[pc.RawPacket]) -> None:
    ops, _, sig = image_packets
    filler = b"x" * (MAX_SIGNATURE_BLOB_BYTES + 1)
    blob = pc.join([ops, pc.RawPacket(11, pc.literal(filler)), sig])
    assert "bytes, more than" in str(_reject(blob))


def test_packet_count_limit(image_packets: list[pc.RawPacket]) -> None:
    markers = pc.new_packet(10, b"PGP") * MAX_PACKETS
    assert f"more than {MAX_PACKETS}" in str(_reject(markers + pc.join(image_packets)))


def test_nesting_limit(image_packets: list[pc.RawPacket]) -> None:
    data = pc.join(image_packets)
    for _ in range(MAX_NESTING):
        data = pc.new_packet(8, pc.compressed(data, 0))
    assert parse_signed_message(data).compression == (0,) * MAX_NESTING
    deeper = pc.new_packet(8, pc.compressed(data, 0))
    assert "nested deeper" in str(_reject(deeper))


@pytest.mark.slow
def test_compression_bomb_is_stopped_while_inflating(image_packets: list[pc.RawPacket]) -> None:
    ops, _, sig = image_packets
    huge = pc.join([ops, pc.RawPacket(11, pc.literal(b"\0" * (64 * 1024 * 1024))), sig])
    for algorithm in (1, 2, 3):
        blob = pc.new_packet(8, pc.compressed(huge, algorithm))
        assert len(blob) < MAX_SIGNATURE_BLOB_BYTES
        rejected = _reject(blob)
        assert rejected.reason is Reason.INVALID_SIGNATURE
        assert f"more than {MAX_DECOMPRESSED_BYTES}" in str(rejected)


def test_payload_limit(image_packets: list[pc.RawPacket]) -> None:
    ops, _, sig = image_packets
    big = pc.join([ops, pc.RawPacket(11, pc.literal(b"a" * (MAX_PAYLOAD_BYTES + 1))), sig])
    blob = pc.new_packet(8, pc.compressed(big, 2))
    assert f"larger than {MAX_PAYLOAD_BYTES}" in str(_reject(blob))
    fits = pc.join([ops, pc.RawPacket(11, pc.literal(b"a" * MAX_PAYLOAD_BYTES)), sig])
    assert len(parse_signed_message(pc.new_packet(8, pc.compressed(fits, 2))).payload) == (
        MAX_PAYLOAD_BYTES
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",  # no algorithm byte
        b"\x07abc",  # unknown algorithm
        b"\x01" + b"\xff\xff\xff",  # corrupt deflate
        b"\x02" + zlib.compress(b"abc")[:-3],  # truncated zlib
        b"\x03BZh9garbage",  # corrupt bzip2
    ],
)
def test_bad_compressed_data(body: bytes) -> None:
    assert _reject(pc.new_packet(8, body)).reason is Reason.INVALID_SIGNATURE


def test_data_after_definite_length_compressed_stream(image_packets: list[pc.RawPacket]) -> None:
    body = pc.compressed(pc.join(image_packets), 1) + b"\xc0"
    assert _reject(pc.new_packet(8, body)).reason is Reason.INVALID_SIGNATURE


def test_partial_lengths_only_where_allowed(image_packets: list[pc.RawPacket]) -> None:
    ops, lit, sig = image_packets
    blob = pc.join([ops, lit]) + pc.partial_packet(2, sig.body, chunk_power=4)
    assert "partial body length" in str(_reject(blob))


def test_indeterminate_length_only_where_allowed(image_packets: list[pc.RawPacket]) -> None:
    ops, lit, sig = image_packets
    blob = pc.join([ops, lit]) + pc.old_packet(2, sig.body, length_type=3)
    assert "indeterminate" in str(_reject(blob))


def test_non_bytes_input_is_rejected() -> None:
    assert _reject("text").reason is Reason.INVALID_SIGNATURE  # type: ignore[arg-type]
