"""Packet framing for the general reader: every framing RFC 4880 allows, within the limits.

Packet headers and lengths (old and new format, partial bodies, indeterminate lengths),
compressed levels inflated with their output bounded while it is produced, and the
signed-message grammar the resulting packet sequence must match. The single-pass fast path
for the common shape is :mod:`sigverify.openpgp._common_shape`.
"""

from __future__ import annotations

import bz2
import zlib
from typing import Final, NamedTuple

from sigverify.core.verdict import Reason
from sigverify.errors import SignatureRejected
from sigverify.limits import MAX_DECOMPRESSED_BYTES, MAX_NESTING, MAX_PACKETS
from sigverify.openpgp._packet_bodies import (
    SignedMessage,
    _invalid,
    _one_pass_message,
    _parse_literal,
    _parse_signature,
)

# RFC 4880 §4.3 packet tags.
TAG_PKESK: Final = 1
TAG_SIGNATURE: Final = 2
TAG_SKESK: Final = 3
TAG_ONE_PASS: Final = 4
TAG_COMPRESSED: Final = 8
TAG_SED: Final = 9
TAG_MARKER: Final = 10
TAG_LITERAL: Final = 11
TAG_SEIPD: Final = 18
TAG_AEAD: Final = 20
_ENCRYPTED_TAGS: Final = frozenset({TAG_PKESK, TAG_SKESK, TAG_SED, TAG_SEIPD, TAG_AEAD})
# RFC 4880 §4.2.2.4: only these packets may use partial body lengths.
_PARTIAL_OK: Final = frozenset({TAG_LITERAL, TAG_COMPRESSED, TAG_SED, TAG_SEIPD, TAG_AEAD})

_COMPRESSION_NAMES: Final = {0: "uncompressed", 1: "ZIP", 2: "ZLIB", 3: "BZip2"}


class _Packet(NamedTuple):
    tag: int
    body: bytes
    depth: int


class _Budget:
    """Counts packets across nesting levels (limits.MAX_PACKETS)."""

    def __init__(self) -> None:
        self.packets = 0

    def take(self) -> None:
        self.packets += 1
        if self.packets > MAX_PACKETS:
            raise _invalid(f"more than {MAX_PACKETS} OpenPGP packets")


def _read_any_shape(data: bytes) -> SignedMessage:
    """The general reader: every framing RFC 4880 allows, within the limits."""
    budget = _Budget()
    packets: list[_Packet] = []
    compression: list[int] = []
    _read_level(data, 0, budget, packets, compression)
    return _assemble(packets, tuple(compression))


def _read_level(
    data: bytes, depth: int, budget: _Budget, out: list[_Packet], compression: list[int]
) -> None:
    """Split one nesting level into packets, descending into compressed data."""
    offset = 0
    end = len(data)
    while offset < end:
        budget.take()
        tag, body, offset, indeterminate = _read_packet(data, offset)
        if tag in _ENCRYPTED_TAGS:
            raise SignatureRejected(
                Reason.NO_SIGNATURE, "the blob is an encrypted message, not a signed one"
            )
        if tag == TAG_MARKER:
            # RFC 4880 §5.8: "Such a packet MUST be ignored when received."
            if body != b"PGP":
                raise _invalid("malformed marker packet")
            continue
        if tag == TAG_COMPRESSED:
            if depth >= MAX_NESTING:
                raise _invalid(f"compressed data nested deeper than {MAX_NESTING} levels")
            algorithm, inner, rest = _decompress(body)
            compression.append(algorithm)
            _read_level(inner, depth + 1, budget, out, compression)
            if rest:
                if not indeterminate or not rest[0] & 0x80:
                    raise _invalid("data after the end of the compressed stream")
                # An indeterminate-length packet runs to the end of the input, so whatever
                # follows the compressed stream sits at this level (e.g. a second message
                # appended to the blob): read it as such instead of ignoring it.
                _read_level(rest, depth, budget, out, compression)
            continue
        if tag not in (TAG_SIGNATURE, TAG_ONE_PASS, TAG_LITERAL):
            raise _invalid(f"unexpected OpenPGP packet (tag {tag}) in a signed message")
        out.append(_Packet(tag, body, depth))


def _read_packet(data: bytes, offset: int) -> tuple[int, bytes, int, bool]:
    """RFC 4880 §4.2: one packet; returns (tag, body, next offset, indeterminate length)."""
    end = len(data)
    ctb = data[offset]
    if not ctb & 0x80:
        raise _invalid(f"invalid packet header byte 0x{ctb:02x} at offset {offset}")
    offset += 1
    if ctb & 0x40:  # new format
        tag = ctb & 0x3F
        return (*_read_new_format_body(data, offset, tag), False)
    tag = (ctb >> 2) & 0x0F
    length_type = ctb & 0x03
    if length_type == 3:
        # Indeterminate length: the packet runs to the end of the enclosing data.
        if tag not in (TAG_LITERAL, TAG_COMPRESSED):
            raise _invalid(f"indeterminate length on a packet with tag {tag}")
        return tag, data[offset:], end, True
    size = 1 << length_type
    if offset + size > end:
        raise _invalid("truncated packet header")
    length = int.from_bytes(data[offset : offset + size], "big")
    offset += size
    if offset + length > end:
        raise _invalid(f"truncated packet (tag {tag}): {length} bytes announced")
    return tag, data[offset : offset + length], offset + length, False


def _read_new_format_body(data: bytes, offset: int, tag: int) -> tuple[int, bytes, int]:
    end = len(data)
    chunks: list[bytes] = []
    total = 0
    while True:
        if offset >= end:
            raise _invalid("truncated packet length")
        first = data[offset]
        if first < 192:
            length, offset = first, offset + 1
        elif first < 224:
            if offset + 2 > end:
                raise _invalid("truncated packet length")
            length = ((first - 192) << 8) + data[offset + 1] + 192
            offset += 2
        elif first == 255:
            if offset + 5 > end:
                raise _invalid("truncated packet length")
            length = int.from_bytes(data[offset + 1 : offset + 5], "big")
            offset += 5
        else:
            # Partial body length (RFC 4880 §4.2.2.4).
            if tag not in _PARTIAL_OK:
                raise _invalid(f"partial body length on a packet with tag {tag}")
            length = 1 << (first & 0x1F)
            offset += 1
            if offset + length > end:
                raise _invalid(f"truncated partial body (tag {tag})")
            chunks.append(data[offset : offset + length])
            total += length
            offset += length
            continue
        if offset + length > end:
            raise _invalid(f"truncated packet (tag {tag}): {length} bytes announced")
        chunks.append(data[offset : offset + length])
        total += length
        offset += length
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return tag, body, offset


def _decompress(body: bytes) -> tuple[int, bytes, bytes]:
    """RFC 4880 §5.6, output bounded while it is produced: (algorithm, output, rest)."""
    if not body:
        raise _invalid("empty compressed-data packet")
    algorithm = body[0]
    compressed = body[1:]
    limit = MAX_DECOMPRESSED_BYTES
    if algorithm == 0:
        if len(compressed) > limit:
            raise _invalid("compressed-data content is too large")
        return algorithm, compressed, b""
    name = _COMPRESSION_NAMES.get(algorithm)
    try:
        if algorithm in (1, 2):
            inflater = zlib.decompressobj(-15 if algorithm == 1 else 15)
            output = inflater.decompress(compressed, limit + 1)
            if len(output) > limit:
                raise _invalid(
                    f"{name} data inflates to more than {limit} bytes (compression bomb?)"
                )
            if not inflater.eof:
                raise _invalid(f"truncated {name} compressed data")
            return algorithm, output, inflater.unused_data
        if algorithm == 3:
            expander = bz2.BZ2Decompressor()
            output = expander.decompress(compressed, limit + 1)
            if len(output) > limit:
                raise _invalid(f"BZip2 data expands to more than {limit} bytes (compression bomb?)")
            if not expander.eof:
                raise _invalid("truncated BZip2 compressed data")
            return algorithm, output, expander.unused_data
    except (zlib.error, OSError, EOFError, ValueError) as exc:
        raise _invalid(f"corrupt {name} compressed data: {exc}") from exc
    raise _invalid(f"unknown compression algorithm {algorithm}")


def _assemble(packets: list[_Packet], compression: tuple[int, ...]) -> SignedMessage:
    """Check the packet sequence against the signed-message grammar."""
    tags = [packet.tag for packet in packets]
    signatures = tags.count(TAG_SIGNATURE)
    if signatures == 0:
        raise SignatureRejected(Reason.NO_SIGNATURE, "the blob carries no signature")
    if signatures > 1:
        raise SignatureRejected(
            Reason.MULTIPLE_SIGNATURES,
            f"the blob carries {signatures} signatures; an atomic signature has exactly one",
        )
    if len({packet.depth for packet in packets}) != 1:
        raise _invalid("the signed message is split across compression levels")
    if tags == [TAG_ONE_PASS, TAG_LITERAL, TAG_SIGNATURE]:
        return _one_pass_message(packets[0].body, packets[1].body, packets[2].body, compression)
    if tags == [TAG_SIGNATURE, TAG_LITERAL]:
        one_pass = None
        signature = _parse_signature(packets[0].body)
        literal = _parse_literal(packets[1].body)
    elif tags == [TAG_LITERAL, TAG_SIGNATURE]:
        raise _invalid("a signature after literal data without a one-pass header")
    else:
        names = {TAG_ONE_PASS: "one-pass", TAG_LITERAL: "literal", TAG_SIGNATURE: "signature"}
        shape = " -> ".join(names[tag] for tag in tags)
        raise _invalid(f"not a signed message: packet sequence {shape}")
    return SignedMessage(literal, signature, one_pass, compression)
