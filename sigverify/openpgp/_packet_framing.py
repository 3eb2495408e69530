"""Packet framing for the general reader: every framing RFC 4880 allows, within the limits.

Packets cut at their headers (:mod:`sigverify.openpgp._packet_header`: old and new format,
partial bodies, indeterminate lengths), compressed levels inflated with their output bounded
while it is produced, and the signed-message grammar the resulting packet sequence must
match. The single-pass fast path for the common shape is
:mod:`sigverify.openpgp._common_shape`.
"""

from __future__ import annotations

import bz2
import zlib
from typing import Final, NamedTuple

from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.limits import MAX_DECOMPRESSED_BYTES, MAX_NESTING, MAX_PACKETS
from sigverify.openpgp._packet_bodies import (
    SignedMessage,
    _invalid,
    _one_pass_message,
    _parse_literal,
    _parse_signature,
)
from sigverify.openpgp._packet_header import (
    INDETERMINATE,
    PARTIAL,
    TAG_AEAD,
    TAG_COMPRESSED,
    TAG_LITERAL,
    TAG_MARKER,
    TAG_ONE_PASS,
    TAG_PKESK,
    TAG_SED,
    TAG_SEIPD,
    TAG_SIGNATURE,
    TAG_SKESK,
    HeaderError,
    read_header,
)

_ENCRYPTED_TAGS: Final = frozenset({TAG_PKESK, TAG_SKESK, TAG_SED, TAG_SEIPD, TAG_AEAD})

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
    try:
        tag, start, stop, framing = read_header(data, offset, end)
        if framing == INDETERMINATE:
            return tag, data[start:], end, True
        if framing != PARTIAL:
            return tag, data[start:stop], stop, False
        chunks = [data[start:stop]]
        while framing == PARTIAL:
            _, start, stop, framing = read_header(data, stop, end, partial_of=tag)
            chunks.append(data[start:stop])
    except HeaderError as exc:
        raise _invalid(str(exc)) from exc
    return tag, b"".join(chunks), stop, False


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
