"""A pure, bounded reader for atomic-signature blobs (RFC 4880 signed messages).

It accepts exactly the shape of a binary OpenPGP signed message (RFC 4880 §11.3)::

    [Marker]* [Compressed ->]* [One-Pass Signature] Literal Data Signature
    [Marker]* [Compressed ->]* Signature Literal Data            (the old form, no OPS)

and nothing else. Every size, count and nesting depth is bounded by :mod:`sigverify.limits`;
decompression stops as soon as its output passes the bound (a compression bomb is refused
while it is being inflated, not after). Only :class:`~sigverify.errors.SignatureRejected`
ever escapes :func:`parse_signed_message`:

* no signature packet at all (a plain literal, an encrypted message) → ``NoSignature``;
* more than one signature packet → ``MultipleSignatures``;
* anything malformed, truncated, oversized, unknown or critical-but-not-understood →
  ``InvalidSignature`` with a message naming what was wrong.

Both backends run this reader first, so what it refuses is refused identically by both.
No I/O, no cryptography: the returned :class:`SignedMessage` is unauthenticated data.
"""

from __future__ import annotations

import bz2
import struct
import zlib
from typing import Final, NamedTuple

from sigverify.core.verdict import Reason
from sigverify.errors import SignatureRejected
from sigverify.limits import (
    MAX_DECOMPRESSED_BYTES,
    MAX_NESTING,
    MAX_PACKETS,
    MAX_PAYLOAD_BYTES,
    MAX_SIGNATURE_BLOB_BYTES,
)

__all__ = [
    "HASH_ALGORITHMS",
    "PUBKEY_SIGNATURE_MPIS",
    "LiteralData",
    "OnePassSignature",
    "SignaturePacket",
    "SignedMessage",
    "Subpacket",
    "parse_signed_message",
]

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

#: RFC 4880 §9.4 hash algorithms accepted. MD5 (1) is refused as GnuPG 2.2 refuses it (a
#: "weak digest"); RIPEMD-160 (3) and the rest are refused by both backends alike.
HASH_ALGORITHMS: Final = {
    2: "SHA1",
    8: "SHA256",
    9: "SHA384",
    10: "SHA512",
    11: "SHA224",
}
#: RFC 4880 §5.2.2/§5.2.3 and RFC 6637/draft-koch-eddsa: signature MPIs per public-key algorithm.
PUBKEY_SIGNATURE_MPIS: Final = {1: 1, 3: 1, 17: 2, 19: 2, 22: 2}

# RFC 4880 §5.2.3.1 signature subpacket types.
SUB_CREATION_TIME: Final = 2
SUB_EXPIRATION_TIME: Final = 3
SUB_KEY_EXPIRATION_TIME: Final = 9
SUB_ISSUER: Final = 16
SUB_NOTATION: Final = 20
SUB_ISSUER_FINGERPRINT: Final = 33
# The critical subpackets GnuPG 2.2 understands (parse-packet.c, can_handle_critical);
# critical notations are refused outright (GnuPG knows none that matter to us).
_UNDERSTOOD_CRITICAL: Final = frozenset(
    {2, 3, 4, 7, 9, 11, 12, 16, 21, 22, 25, 26, 27, 29, 30, 31, 33}
)
# GnuPG refuses hashed or unhashed subpacket areas longer than this (parse_signature).
_MAX_SUBPACKET_AREA: Final = 10000

_COMPRESSION_NAMES: Final = {0: "uncompressed", 1: "ZIP", 2: "ZLIB", 3: "BZip2"}


def _invalid(message: str) -> SignatureRejected:
    return SignatureRejected(Reason.INVALID_SIGNATURE, message)


class LiteralData(NamedTuple):
    """RFC 4880 §5.9: the signed payload and its (unsigned) framing."""

    mode: str
    filename: bytes
    date: int
    body: bytes


class OnePassSignature(NamedTuple):
    """RFC 4880 §5.4."""

    sig_type: int
    hash_algo: int
    pubkey_algo: int
    key_id: str
    last: bool


class Subpacket(NamedTuple):
    """RFC 4880 §5.2.3.1 (a tuple: thousands are built per second on the hot path)."""

    type: int
    critical: bool
    hashed: bool
    body: bytes


class SignaturePacket(NamedTuple):
    """RFC 4880 §5.2: a v3 or v4 signature over a document (type 0x00 or 0x01).

    As in GnuPG 2.2, ``issuer_fingerprint`` comes from the hashed v4 issuer-fingerprint
    subpacket only and ``issuer_key_id`` from the issuer subpacket only (hashed, then
    unhashed); a verifier looks the fingerprint up first, then the key ID. ``hashed_trailer`` is
    what follows the document in the hash (§5.2.4); ``left16`` the two quick-check bytes.
    """

    version: int
    sig_type: int
    pubkey_algo: int
    hash_algo: int
    creation_time: int | None
    issuer_key_id: str | None
    issuer_fingerprint: str | None
    expiration_seconds: int | None
    key_expiration_seconds: int | None
    hashed_trailer: bytes
    left16: bytes
    mpis: tuple[int, ...]
    subpackets: tuple[Subpacket, ...] = ()

    @property
    def expiration_time(self) -> int | None:
        """Absolute expiry (seconds since the epoch), ``None`` when it never expires."""
        if self.expiration_seconds is None or self.creation_time is None:
            return None
        return self.creation_time + self.expiration_seconds


class SignedMessage(NamedTuple):
    literal: LiteralData
    signature: SignaturePacket
    one_pass: OnePassSignature | None
    compression: tuple[int, ...] = ()

    @property
    def payload(self) -> bytes:
        return self.literal.body


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


def parse_signed_message(blob: bytes) -> SignedMessage:
    """Read ``blob`` as an atomic-signature signed message (see the module docstring)."""
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise _invalid("the signature blob is not bytes")
    data = blob if type(blob) is bytes else bytes(blob)
    if len(data) > MAX_SIGNATURE_BLOB_BYTES:
        raise _invalid(
            f"the signature blob is {len(data)} bytes, more than {MAX_SIGNATURE_BLOB_BYTES}"
        )
    if not data:
        raise _invalid("the signature blob is empty")
    if not data[0] & 0x80:
        hint = " (ASCII-armored?)" if data.lstrip().startswith(b"-----BEGIN PGP") else ""
        raise _invalid(f"the signature blob is not a binary OpenPGP message{hint}")
    message = _read_common_shape(data)
    if message is not None:
        return message
    return _read_any_shape(data)


def _read_any_shape(data: bytes) -> SignedMessage:
    """The general reader: every framing RFC 4880 allows, within the limits."""
    budget = _Budget()
    packets: list[_Packet] = []
    compression: list[int] = []
    _read_level(data, 0, budget, packets, compression)
    return _assemble(packets, tuple(compression))


# Inflating ZIP (raw deflate) and ZLIB streams (RFC 4880 §9.3).
_ZLIB_WINDOW_BITS: Final = {1: -15, 2: 15}
# RFC 4880 §5.9 literal data formats.
_LITERAL_MODES: Final = {ord("b"): "b", ord("t"): "t", ord("u"): "u"}
# RFC 4880 §5.2.3: version, signature type, public-key algorithm, hash algorithm, hashed
# subpacket area length.
_V4_HEAD: Final = struct.Struct(">BBBBH")
# Subpacket body sizes the common shape allows (v4 fingerprints only), see _SIZE_CHECKED.
_COMMON_SIZES: Final = {
    SUB_CREATION_TIME: 4,
    SUB_EXPIRATION_TIME: 4,
    SUB_KEY_EXPIRATION_TIME: 4,
    SUB_ISSUER: 8,
    SUB_ISSUER_FINGERPRINT: 21,
}


def _read_common_shape(data: bytes) -> SignedMessage | None:
    """The shape gpg and skopeo write, framed without the general reader's bookkeeping.

    ``[Compressed (uncompressed, ZIP or ZLIB) ->] One-Pass Literal Signature``: the
    compressed packet (if any) is the whole blob and its stream ends exactly at the end,
    the three inner packets have definite lengths and fill the level exactly. For any other
    framing, including every framing error, this returns ``None`` and the general reader
    decides. When it does frame a blob, the general reader would have found exactly these
    three packet bodies at one level within every limit, so the same body parsers run in the
    same order: the result, and any refusal they raise, are identical.
    """
    end = len(data)
    if data[0] == 0xA3:
        # Old-format compressed packet of indeterminate length: runs to the end of the blob.
        tag, start, stop = TAG_COMPRESSED, 1, end
    else:
        header = _definite_header(data, 0, end)
        if header is None:
            return None
        tag, start, stop = header
    compression: tuple[int, ...] = ()
    inner = data
    if tag == TAG_COMPRESSED:
        if stop != end or start == stop:
            return None
        algorithm = data[start]
        if algorithm == 0:
            inner = data[start + 1 : stop]
            if len(inner) > MAX_DECOMPRESSED_BYTES:
                return None
        elif algorithm in _ZLIB_WINDOW_BITS:
            inflater = zlib.decompressobj(_ZLIB_WINDOW_BITS[algorithm])
            try:
                # Bounded like _decompress: never more than one byte past the limit.
                inner = inflater.decompress(
                    memoryview(data)[start + 1 : stop], MAX_DECOMPRESSED_BYTES + 1
                )
            except (zlib.error, ValueError):
                return None
            if len(inner) > MAX_DECOMPRESSED_BYTES or not inflater.eof or inflater.unused_data:
                return None
        else:
            return None
        compression = (algorithm,)
    end = len(inner)
    first = _definite_header(inner, 0, end)
    if first is None or first[0] != TAG_ONE_PASS:
        return None
    second = _definite_header(inner, first[2], end)
    if second is None or second[0] != TAG_LITERAL:
        return None
    third = _definite_header(inner, second[2], end)
    if third is None or third[0] != TAG_SIGNATURE or third[2] != end:
        return None
    return _read_common_packets(
        inner, (first[1], first[2]), (second[1], second[2]), third[1], end, compression
    )


def _read_common_packets(
    data: bytes,
    one_pass_span: tuple[int, int],
    literal_span: tuple[int, int],
    signature_at: int,
    end: int,
    compression: tuple[int, ...],
) -> SignedMessage | None:
    """The one-pass, literal and v4 signature bodies framed by ``_read_common_shape``.

    The same checks as ``_one_pass_message`` (``_parse_one_pass``, ``_parse_literal``,
    ``_parse_v4_signature``), in one pass and without raising: whatever one of them would
    refuse, or anything less common (a v3 signature, a subpacket length of two or five
    octets), returns ``None`` and the general reader decides, with its exact message.
    """
    one_pass_at, one_pass_end = one_pass_span
    literal_at, literal_end = literal_span
    # RFC 4880 §5.4: version 3, 13 bytes, the last (only) one-pass header.
    if one_pass_end - one_pass_at != 13 or data[one_pass_at] != 3 or not data[one_pass_end - 1]:
        return None
    # RFC 4880 §5.9: mode, file name, date, content.
    if literal_end - literal_at < 6:
        return None
    mode = _LITERAL_MODES.get(data[literal_at])
    name_end = literal_at + 2 + data[literal_at + 1]
    content_at = name_end + 4
    if mode is None or content_at > literal_end or literal_end - content_at > MAX_PAYLOAD_BYTES:
        return None
    # RFC 4880 §5.2.3: a v4 signature.
    if end - signature_at < 6:
        return None
    version, sig_type, pubkey_algo, hash_algo, hashed_length = _V4_HEAD.unpack_from(
        data, signature_at
    )
    mpi_count = PUBKEY_SIGNATURE_MPIS.get(pubkey_algo)
    if (
        version != 4
        or sig_type > 0x01
        or mpi_count is None
        or hash_algo not in HASH_ALGORITHMS
        # "signature digest conflict" and a one-pass header of another type.
        or data[one_pass_at + 1] != sig_type
        or data[one_pass_at + 2] != hash_algo
    ):
        return None
    hashed_end = signature_at + 6 + hashed_length
    if hashed_length > _MAX_SUBPACKET_AREA or hashed_end + 2 > end:
        return None
    unhashed_length = (data[hashed_end] << 8) | data[hashed_end + 1]
    unhashed_end = hashed_end + 2 + unhashed_length
    if unhashed_length > _MAX_SUBPACKET_AREA or unhashed_end + 2 > end:
        return None
    subpackets: list[Subpacket] = []
    hashed_first: dict[int, bytes] = {}
    unhashed_first: dict[int, bytes] = {}
    for offset, area_end, hashed, first in (
        (signature_at + 6, hashed_end, True, hashed_first),
        (hashed_end + 2, unhashed_end, False, unhashed_first),
    ):
        while offset < area_end:
            length = data[offset]
            offset += 1
            if length == 0 or length >= 192 or offset + length > area_end:
                return None
            head = data[offset]
            kind = head & 0x7F
            content = data[offset + 1 : offset + length]
            offset += length
            # A stricter test than _subpacket_size_problem (a longer fingerprint goes to the
            # general reader), without the call.
            if length - 1 != _COMMON_SIZES.get(kind, length - 1):
                return None
            if head > 0x7F and kind not in _UNDERSTOOD_CRITICAL:
                return None
            subpackets.append(_new_tuple(Subpacket, (kind, head > 0x7F, hashed, content)))
            first.setdefault(kind, content)
    # RFC 4880 §3.2: one or two MPIs end the packet.
    offset = unhashed_end + 4
    if offset > end:
        return None
    size = (((data[offset - 2] << 8) | data[offset - 1]) + 7) >> 3
    if size > 1024 or offset + size > end:
        return None
    mpis: tuple[int, ...] = (int.from_bytes(data[offset : offset + size], "big"),)
    offset += size
    if mpi_count == 2:
        offset += 2
        if offset > end:
            return None
        size = (((data[offset - 2] << 8) | data[offset - 1]) + 7) >> 3
        if size > 1024 or offset + size > end:
            return None
        mpis += (int.from_bytes(data[offset : offset + size], "big"),)
        offset += size
    if offset != end:
        return None

    hashed_part = data[signature_at:hashed_end]
    created = hashed_first.get(SUB_CREATION_TIME)
    expires = hashed_first.get(SUB_EXPIRATION_TIME)
    key_expires = hashed_first.get(SUB_KEY_EXPIRATION_TIME)
    fingerprint_body = hashed_first.get(SUB_ISSUER_FINGERPRINT)
    issuer = hashed_first.get(SUB_ISSUER, unhashed_first.get(SUB_ISSUER))
    signature = _new_tuple(
        SignaturePacket,
        (
            4,
            sig_type,
            pubkey_algo,
            hash_algo,
            int.from_bytes(created, "big") if created is not None else None,
            issuer.hex().upper() if issuer is not None else None,
            fingerprint_body[1:].hex().upper()
            if fingerprint_body is not None and fingerprint_body[0] == 4
            else None,
            (int.from_bytes(expires, "big") or None) if expires is not None else None,
            (int.from_bytes(key_expires, "big") or None) if key_expires is not None else None,
            hashed_part + b"\x04\xff" + len(hashed_part).to_bytes(4, "big"),
            data[unhashed_end : unhashed_end + 2],
            mpis,
            tuple(subpackets),
        ),
    )
    one_pass = _new_tuple(
        OnePassSignature,
        (
            sig_type,
            hash_algo,
            data[one_pass_at + 3],
            data[one_pass_at + 4 : one_pass_at + 12].hex().upper(),
            True,
        ),
    )
    literal = _new_tuple(
        LiteralData,
        (
            mode,
            data[literal_at + 2 : name_end],
            int.from_bytes(data[name_end:content_at], "big"),
            data[content_at:literal_end],
        ),
    )
    return _new_tuple(SignedMessage, (literal, signature, one_pass, compression))


def _definite_header(data: bytes, offset: int, end: int) -> tuple[int, int, int] | None:
    """(tag, body start, body end) of a packet with a definite length that fits, else None."""
    if offset >= end:
        return None
    ctb = data[offset]
    if ctb & 0xC0 == 0xC0:  # new format (RFC 4880 §4.2.2)
        tag = ctb & 0x3F
        if offset + 1 >= end:
            return None
        octet = data[offset + 1]
        if octet < 192:
            start, length = offset + 2, octet
        elif octet < 224:
            if offset + 3 > end:
                return None
            start, length = offset + 3, ((octet - 192) << 8) + data[offset + 2] + 192
        elif octet == 255:
            start = offset + 6
            if start > end:
                return None
            length = int.from_bytes(data[offset + 2 : start], "big")
        else:
            return None  # partial body length
    elif ctb & 0x80:  # old format (RFC 4880 §4.2.1)
        tag = (ctb >> 2) & 0x0F
        length_type = ctb & 0x03
        if length_type == 3:
            return None  # indeterminate length
        start = offset + 1 + (1 << length_type)
        if start > end:
            return None
        length = int.from_bytes(data[offset + 1 : start], "big")
    else:
        return None
    if start + length > end:
        return None
    return tag, start, start + length


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


def _one_pass_message(
    one_pass_body: bytes, literal_body: bytes, signature_body: bytes, compression: tuple[int, ...]
) -> SignedMessage:
    """One-Pass Literal Signature, once framed (by either reader)."""
    one_pass = _parse_one_pass(one_pass_body)
    literal = _parse_literal(literal_body)
    signature = _parse_signature(signature_body)
    if one_pass.hash_algo != signature.hash_algo:
        # GnuPG hashes the literal with the OPS's algorithm: "signature digest conflict".
        raise _invalid("the one-pass header and the signature name different hashes")
    if one_pass.sig_type != signature.sig_type:
        raise _invalid("the one-pass header and the signature have different types")
    if not one_pass.last:
        raise _invalid("the one-pass header announces more signatures than present")
    return SignedMessage(literal, signature, one_pass, compression)


def _parse_one_pass(body: bytes) -> OnePassSignature:
    if len(body) != 13:
        raise _invalid(f"one-pass signature packet of {len(body)} bytes (13 expected)")
    if body[0] != 3:
        raise _invalid(f"one-pass signature version {body[0]} (3 expected)")
    # sig_type, hash_algo, pubkey_algo, key_id, last
    return OnePassSignature(body[1], body[2], body[3], body[4:12].hex().upper(), body[12] != 0)


def _parse_literal(body: bytes) -> LiteralData:
    if len(body) < 6:
        raise _invalid("truncated literal data packet")
    mode = chr(body[0])
    if mode not in ("b", "t", "u"):
        raise _invalid(f"literal data with unsupported mode 0x{body[0]:02x}")
    name_length = body[1]
    if 2 + name_length + 4 > len(body):
        raise _invalid("truncated literal data packet")
    filename = body[2 : 2 + name_length]
    date = int.from_bytes(body[2 + name_length : 6 + name_length], "big")
    content = body[6 + name_length :]
    if len(content) > MAX_PAYLOAD_BYTES:
        raise _invalid(f"the signed payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    return LiteralData(mode, filename, date, content)


def _parse_signature(body: bytes) -> SignaturePacket:
    if not body:
        raise _invalid("empty signature packet")
    version = body[0]
    if version in (2, 3):
        return _parse_v3_signature(body)
    if version == 4:
        return _parse_v4_signature(body)
    raise _invalid(f"signature packet version {version} is not supported")


def _check_type_and_algorithms(sig_type: int, pubkey_algo: int, hash_algo: int) -> None:
    if sig_type not in (0x00, 0x01):
        raise _invalid(f"signature type 0x{sig_type:02x} is not a document signature")
    if pubkey_algo not in PUBKEY_SIGNATURE_MPIS:
        raise _invalid(f"unsupported public-key algorithm {pubkey_algo}")
    if hash_algo not in HASH_ALGORITHMS:
        raise _invalid(f"unsupported hash algorithm {hash_algo}")


def _parse_v3_signature(body: bytes) -> SignaturePacket:
    # RFC 4880 §5.2.2: version, 5, type, time(4), key ID(8), pk algo, hash algo, left16, MPIs.
    if len(body) < 19:
        raise _invalid("truncated v3 signature packet")
    if body[1] != 5:
        raise _invalid(f"v3 signature with hashed length {body[1]} (5 expected)")
    sig_type = body[2]
    creation = int.from_bytes(body[3:7], "big")
    key_id = body[7:15].hex().upper()
    pubkey_algo, hash_algo = body[15], body[16]
    _check_type_and_algorithms(sig_type, pubkey_algo, hash_algo)
    left16 = body[17:19]
    mpis = _parse_mpis(body, 19, PUBKEY_SIGNATURE_MPIS[pubkey_algo])
    return SignaturePacket(
        version=body[0],
        sig_type=sig_type,
        pubkey_algo=pubkey_algo,
        hash_algo=hash_algo,
        creation_time=creation,
        issuer_key_id=key_id,
        issuer_fingerprint=None,
        expiration_seconds=None,
        key_expiration_seconds=None,
        hashed_trailer=body[2:7],
        left16=left16,
        mpis=mpis,
    )


def _parse_v4_signature(body: bytes) -> SignaturePacket:
    # RFC 4880 §5.2.3.
    if len(body) < 6:
        raise _invalid("truncated v4 signature packet")
    sig_type, pubkey_algo, hash_algo = body[1], body[2], body[3]
    _check_type_and_algorithms(sig_type, pubkey_algo, hash_algo)
    hashed_length = (body[4] << 8) | body[5]
    offset = 6 + hashed_length
    if hashed_length > _MAX_SUBPACKET_AREA or offset + 2 > len(body):
        raise _invalid("truncated or oversized hashed subpacket area")
    hashed_area = body[6:offset]
    unhashed_length = (body[offset] << 8) | body[offset + 1]
    unhashed_start = offset + 2
    offset = unhashed_start + unhashed_length
    if unhashed_length > _MAX_SUBPACKET_AREA or offset + 2 > len(body):
        raise _invalid("truncated or oversized unhashed subpacket area")
    # First occurrence of each type per area; GnuPG reads only the hashed area for
    # everything but the issuer key ID.
    hashed_first: dict[int, bytes] = {}
    unhashed_first: dict[int, bytes] = {}
    hashed = _parse_subpackets(hashed_area, True, hashed_first)
    unhashed = _parse_subpackets(body[unhashed_start:offset], False, unhashed_first)
    left16 = body[offset : offset + 2]
    mpis = _parse_mpis(body, offset + 2, PUBKEY_SIGNATURE_MPIS[pubkey_algo])
    hashed_part = body[: 6 + hashed_length]
    trailer = hashed_part + b"\x04\xff" + len(hashed_part).to_bytes(4, "big")

    created = hashed_first.get(SUB_CREATION_TIME)
    expires = hashed_first.get(SUB_EXPIRATION_TIME)
    key_expires = hashed_first.get(SUB_KEY_EXPIRATION_TIME)
    fingerprint_body = hashed_first.get(SUB_ISSUER_FINGERPRINT)
    issuer = hashed_first.get(SUB_ISSUER, unhashed_first.get(SUB_ISSUER))
    fingerprint: str | None = None
    if fingerprint_body is not None and fingerprint_body[0] == 4:
        fingerprint = fingerprint_body[1:].hex().upper()
    # GnuPG 2.2.40 (measured): the key ID comes from the issuer subpacket alone (hashed,
    # then unhashed); the fingerprint is looked up on its own, before the key ID.
    key_id = issuer.hex().upper() if issuer is not None else None
    expiration = int.from_bytes(expires, "big") if expires is not None else None
    key_expiration = int.from_bytes(key_expires, "big") if key_expires is not None else None
    # Positional: this runs for every blob, and keyword construction of a 13-field tuple
    # costs as much as the rest of this function.
    return SignaturePacket(
        4,
        sig_type,
        pubkey_algo,
        hash_algo,
        int.from_bytes(created, "big") if created is not None else None,
        key_id,
        fingerprint,
        expiration or None,
        key_expiration or None,
        trailer,
        left16,
        mpis,
        (*hashed, *unhashed),
    )


# Minimum/exact body sizes GnuPG insists on (parse-packet.c, parse_one_sig_subpkt).
_EXACT_SIZES: Final = {SUB_CREATION_TIME: 4, SUB_EXPIRATION_TIME: 4, SUB_KEY_EXPIRATION_TIME: 4}
_MIN_SIZES: Final = {SUB_ISSUER: 8, SUB_ISSUER_FINGERPRINT: 21}
_SIZE_CHECKED: Final = frozenset(_EXACT_SIZES) | frozenset(_MIN_SIZES)
_new_tuple: Final = tuple.__new__
_V4_FINGERPRINT_SUBPACKET: Final = 21


def _parse_subpackets(area: bytes, hashed: bool, first: dict[int, bytes]) -> list[Subpacket]:
    """RFC 4880 §5.2.3.1. Malformed areas and unknown critical subpackets are refused.

    ``first`` receives the body of each type's first occurrence.
    """
    result: list[Subpacket] = []
    offset = 0
    end = len(area)
    while offset < end:
        octet = area[offset]
        if octet < 192:
            length, offset = octet, offset + 1
        elif octet < 255:
            if offset + 2 > end:
                raise _invalid("truncated signature subpacket length")
            length = ((octet - 192) << 8) + area[offset + 1] + 192
            offset += 2
        else:
            if offset + 5 > end:
                raise _invalid("truncated signature subpacket length")
            length = int.from_bytes(area[offset + 1 : offset + 5], "big")
            offset += 5
        if length == 0 or offset + length > end:
            raise _invalid("truncated or empty signature subpacket")
        head = area[offset]
        kind = head & 0x7F
        content = area[offset + 1 : offset + length]
        offset += length
        if kind in _SIZE_CHECKED:
            problem = _subpacket_size_problem(kind, content)
            if problem:
                raise _invalid(problem)
        critical = head > 0x7F
        if critical and kind not in _UNDERSTOOD_CRITICAL:
            # RFC 4880 §5.2.3.1: an unknown critical subpacket makes the signature invalid.
            raise _invalid(f"signature carries an unknown critical subpacket (type {kind})")
        # tuple.__new__ skips the NamedTuple constructor's argument handling (half the cost
        # of a subpacket, and there are several per blob).
        result.append(_new_tuple(Subpacket, (kind, critical, hashed, content)))
        first.setdefault(kind, content)
    return result


def _subpacket_size_problem(kind: int, content: bytes) -> str | None:
    """What is wrong with the size of a subpacket of a kind in ``_SIZE_CHECKED``, if anything."""
    size = len(content)
    exact = _EXACT_SIZES.get(kind)
    if (exact is not None and size != exact) or size < _MIN_SIZES.get(kind, 0):
        return f"signature subpacket {kind} has a bad length ({size})"
    if kind == SUB_ISSUER and size != 8:
        return f"issuer subpacket of {size} bytes"
    if kind == SUB_ISSUER_FINGERPRINT and content[0] == 4 and size != _V4_FINGERPRINT_SUBPACKET:
        return f"v4 issuer fingerprint subpacket of {size} bytes"
    return None


def _parse_mpis(body: bytes, offset: int, count: int) -> tuple[int, ...]:
    """RFC 4880 §3.2 multiprecision integers; the packet must end with the last one."""
    values: list[int] = []
    end = len(body)
    for _ in range(count):
        if offset + 2 > end:
            raise _invalid("truncated signature value")
        size = (((body[offset] << 8) | body[offset + 1]) + 7) >> 3
        offset += 2
        if offset + size > end:
            raise _invalid("truncated signature value")
        if size > 1024:
            raise _invalid("signature value is implausibly large")
        values.append(int.from_bytes(body[offset : offset + size], "big"))
        offset += size
    if offset != end:
        raise _invalid("trailing data in the signature packet")
    return tuple(values)
