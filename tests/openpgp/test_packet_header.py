"""The one packet-header reader: every length form, and each refusal with its message.

The signed-message readers (general and fast path) and the key reader all frame packets with
``read_header``; their own tests cover it through them, these pin its answers directly.
Packets are built with ``tests.support.packetcraft``, independently of the code under test.
"""

from __future__ import annotations

import pytest

from sigverify.openpgp._packet_header import (
    DEFINITE,
    INDETERMINATE,
    PARTIAL,
    TAG_COMPRESSED,
    TAG_LITERAL,
    TAG_PUBLIC_KEY,
    TAG_SIGNATURE,
    HeaderError,
    read_header,
)
from sigverify.openpgp.keys import KeyFormatError, parse_key_packets
from tests.support import packetcraft as pc


def _header(data: bytes, offset: int = 0) -> tuple[int, int, int, int]:
    return read_header(data, offset, len(data))


@pytest.mark.parametrize("size", [0, 1, 191, 192, 8383, 8384, 70000])
def test_new_format_definite_lengths(size: int) -> None:
    body = bytes(range(256)) * (size // 256 + 1)
    packet = pc.new_packet(TAG_SIGNATURE, body[:size]) + b"trailing"
    tag, start, stop, framing = _header(packet)
    assert (tag, framing) == (TAG_SIGNATURE, DEFINITE)
    assert packet[start:stop] == body[:size]


@pytest.mark.parametrize("length_type", [0, 1, 2])
def test_old_format_definite_lengths(length_type: int) -> None:
    packet = pc.old_packet(TAG_SIGNATURE, b"body", length_type=length_type) + b"next"
    tag, start, stop, framing = _header(packet)
    assert (tag, packet[start:stop], framing) == (TAG_SIGNATURE, b"body", DEFINITE)
    assert stop == 1 + (1 << length_type) + 4


def test_header_at_an_offset() -> None:
    first = pc.old_packet(TAG_LITERAL, b"a")
    data = first + pc.new_packet(TAG_SIGNATURE, b"bc")
    tag, start, stop, _ = _header(data, len(first))
    assert (tag, data[start:stop]) == (TAG_SIGNATURE, b"bc")


@pytest.mark.parametrize("tag", [TAG_LITERAL, TAG_COMPRESSED])
def test_indeterminate_length_runs_to_the_end(tag: int) -> None:
    packet = pc.old_packet(tag, b"to the end", length_type=3)
    assert _header(packet) == (tag, 1, len(packet), INDETERMINATE)


def test_partial_chunks_then_a_definite_one() -> None:
    body = bytes(1000)
    packet = pc.partial_packet(TAG_LITERAL, body, chunk_power=9)
    tag, start, stop, framing = _header(packet)
    assert (tag, stop - start, framing) == (TAG_LITERAL, 512, PARTIAL)
    assert read_header(packet, stop, len(packet), partial_of=tag)[1:] == (
        stop + 2,
        len(packet),
        DEFINITE,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated packet header"),
        (b"\x7f\x00", "invalid packet header byte 0x7f at offset 0"),
        (b"\x89", "truncated packet header"),  # old format, two length octets missing
        (b"\x89\x00", "truncated packet header"),
        (b"\xc2", "truncated packet length"),
        (b"\xc2\xc0", "truncated packet length"),
        (b"\xc2\xff\x00\x00", "truncated packet length"),
        (b"\xc2\x05abc", "truncated packet (tag 2): 5 bytes announced"),
        (b"\x88\x05abc", "truncated packet (tag 2): 5 bytes announced"),
        (b"\xc2\xe1ab", "partial body length on a packet with tag 2"),
        (b"\xcb\xe2ab", "truncated partial body (tag 11)"),
        (b"\x8b", "indeterminate length on a packet with tag 2"),
    ],
)
def test_refusals(data: bytes, message: str) -> None:
    with pytest.raises(HeaderError) as caught:
        _header(data)
    assert str(caught.value) == message


def test_key_material_is_framed_by_the_same_reader() -> None:
    # A user ID packet (tag 13) is skipped; a key packet that is not v4 is skipped too.
    material = pc.new_packet(13, b"someone") + pc.old_packet(TAG_PUBLIC_KEY, b"\x03" + bytes(9))
    assert parse_key_packets(material) == []
    with pytest.raises(KeyFormatError, match=r"^key material: truncated packet \(tag 6\)"):
        parse_key_packets(pc.new_packet(TAG_PUBLIC_KEY, b"\x04" + bytes(9))[:-1])
    with pytest.raises(KeyFormatError, match=r"^key material: truncated packet length$"):
        parse_key_packets(b"\xc6")  # cut inside the header: no IndexError
    with pytest.raises(KeyFormatError, match=r"^partial body length in key material$"):
        parse_key_packets(pc.partial_packet(TAG_LITERAL, bytes(600)))
    with pytest.raises(KeyFormatError, match=r"^indeterminate length in key material$"):
        parse_key_packets(pc.old_packet(TAG_LITERAL, b"x", length_type=3))
