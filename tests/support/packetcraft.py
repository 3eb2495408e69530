"""Hand-built OpenPGP packets for structural tests and mutations (RFC 4880 §4.2).

Deliberately independent of ``sigverify.openpgp.packets``: a test that builds its input with
the code under test proves little.
"""

from __future__ import annotations

import bz2
import zlib
from dataclasses import dataclass

__all__ = [
    "RawPacket",
    "compressed",
    "join",
    "literal",
    "new_packet",
    "old_packet",
    "one_pass",
    "partial_packet",
    "split_packets",
    "unwrap",
]


@dataclass(frozen=True)
class RawPacket:
    tag: int
    body: bytes

    def encode(self) -> bytes:
        return new_packet(self.tag, self.body)


def new_packet(tag: int, body: bytes) -> bytes:
    """A new-format packet with the shortest definite length encoding."""
    length = len(body)
    if length < 192:
        header = bytes([length])
    elif length < 8384:
        length -= 192
        header = bytes([(length >> 8) + 192, length & 0xFF])
    else:
        header = b"\xff" + length.to_bytes(4, "big")
    return bytes([0xC0 | tag]) + header + body


def old_packet(tag: int, body: bytes, *, length_type: int | None = None) -> bytes:
    """An old-format packet; ``length_type`` 0/1/2 (1/2/4 bytes) or 3 (indeterminate)."""
    if length_type is None:
        length_type = 0 if len(body) < 256 else 1 if len(body) < 65536 else 2
    ctb = 0x80 | (tag << 2) | length_type
    if length_type == 3:
        return bytes([ctb]) + body
    return bytes([ctb]) + len(body).to_bytes(1 << length_type, "big") + body


def partial_packet(tag: int, body: bytes, *, chunk_power: int = 9) -> bytes:
    """A new-format packet split into partial body chunks of 2**chunk_power bytes."""
    chunk = 1 << chunk_power
    out = bytearray([0xC0 | tag])
    rest = body
    while len(rest) > chunk:
        out.append(224 + chunk_power)
        out += rest[:chunk]
        rest = rest[chunk:]
    out += new_packet(tag, rest)[1:]
    return bytes(out)


def literal(body: bytes, *, mode: bytes = b"b", filename: bytes = b"", date: int = 0) -> bytes:
    """A literal data packet body (RFC 4880 §5.9)."""
    return mode + bytes([len(filename)]) + filename + date.to_bytes(4, "big") + body


def one_pass(
    *,
    sig_type: int = 0,
    hash_algo: int = 8,
    pubkey_algo: int = 1,
    key_id: bytes = b"\0" * 8,
    last: int = 1,
) -> bytes:
    """A one-pass signature packet body (RFC 4880 §5.4)."""
    return bytes([3, sig_type, hash_algo, pubkey_algo]) + key_id + bytes([last])


def compressed(message: bytes, algorithm: int = 1) -> bytes:
    """A compressed-data packet body (RFC 4880 §5.6) holding ``message``."""
    if algorithm == 0:
        data = message
    elif algorithm == 1:
        deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = deflater.compress(message) + deflater.flush()
    elif algorithm == 2:
        data = zlib.compress(message)
    elif algorithm == 3:
        data = bz2.compress(message)
    else:
        data = message
    return bytes([algorithm]) + data


def split_packets(data: bytes) -> list[RawPacket]:
    """Split a sequence of definite-length (or indeterminate, last) packets."""
    packets: list[RawPacket] = []
    offset = 0
    while offset < len(data):
        ctb = data[offset]
        offset += 1
        if ctb & 0x40:
            tag = ctb & 0x3F
            body = bytearray()
            while True:
                first = data[offset]
                if first < 192:
                    length, offset = first, offset + 1
                elif first < 224:
                    length = ((first - 192) << 8) + data[offset + 1] + 192
                    offset += 2
                elif first == 255:
                    length = int.from_bytes(data[offset + 1 : offset + 5], "big")
                    offset += 5
                else:
                    length = 1 << (first & 0x1F)
                    offset += 1
                    body += data[offset : offset + length]
                    offset += length
                    continue
                body += data[offset : offset + length]
                offset += length
                break
            packets.append(RawPacket(tag, bytes(body)))
        else:
            tag = (ctb >> 2) & 0x0F
            length_type = ctb & 3
            if length_type == 3:
                packets.append(RawPacket(tag, data[offset:]))
                break
            size = 1 << length_type
            length = int.from_bytes(data[offset : offset + size], "big")
            offset += size
            packets.append(RawPacket(tag, data[offset : offset + length]))
            offset += length
    return packets


def unwrap(blob: bytes) -> list[RawPacket]:
    """The packets of a signed message, with one level of compression removed."""
    packets = split_packets(blob)
    if len(packets) == 1 and packets[0].tag == 8:
        body = packets[0].body
        algorithm, data = body[0], body[1:]
        if algorithm == 1:
            data = zlib.decompressobj(-15).decompress(data)
        elif algorithm == 2:
            data = zlib.decompress(data)
        elif algorithm == 3:
            data = bz2.decompress(data)
        return split_packets(data)
    return packets


def join(packets: list[RawPacket]) -> bytes:
    return b"".join(packet.encode() for packet in packets)
