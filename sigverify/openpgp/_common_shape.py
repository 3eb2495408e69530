"""The single-pass fast path for the blob shape gpg and skopeo write.

It frames and checks ``[Compressed ->] One-Pass Literal Signature`` in one pass over the bytes,
without raising and without building a packet object: anything it does not take returns
``None`` and the general reader (:mod:`sigverify.openpgp._packet_framing`) decides, with its
exact message. Two readers share that pass:

* :func:`_read_common_facts`, the native backend's: the :class:`SignedFacts` a verifier needs
  (offsets into the bytes turned into a few slices and integers, nothing else);
* :func:`_read_common_shape`, :func:`~sigverify.openpgp.packets.parse_signed_message`'s: once
  the pass has taken the blob, the general reader's own body parsers build the
  :class:`SignedMessage` from the three packet bodies it found.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final, NamedTuple

from sigverify.limits import MAX_DECOMPRESSED_BYTES, MAX_PAYLOAD_BYTES
from sigverify.openpgp._packet_bodies import (
    _MAX_SUBPACKET_AREA,
    _UNDERSTOOD_CRITICAL,
    HASH_ALGORITHMS,
    PUBKEY_SIGNATURE_MPIS,
    SUB_CREATION_TIME,
    SUB_EXPIRATION_TIME,
    SUB_ISSUER,
    SUB_ISSUER_FINGERPRINT,
    SUB_KEY_EXPIRATION_TIME,
    SignedFacts,
    SignedMessage,
    _new_tuple,
    _one_pass_message,
)
from sigverify.openpgp._packet_header import (
    PARTIAL,
    TAG_COMPRESSED,
    TAG_LITERAL,
    TAG_ONE_PASS,
    TAG_SIGNATURE,
    HeaderError,
    read_header,
)

# Inflating ZIP (raw deflate) and ZLIB streams (RFC 4880 §9.3).
_ZLIB_WINDOW_BITS: Final = {1: -15, 2: 15}
# RFC 4880 §5.9 literal data formats.
_LITERAL_MODES: Final = frozenset(b"btu")
# RFC 4880 §5.2.3: version, signature type, public-key algorithm, hash algorithm, hashed
# subpacket area length.
_V4_HEAD: Final = struct.Struct(">BBBBH")
_U32: Final = struct.Struct(">I")
# Subpacket body sizes the common shape allows (v4 fingerprints only), see
# _packet_bodies._SIZE_CHECKED.
_COMMON_SIZES: Final = {
    SUB_CREATION_TIME: 4,
    SUB_EXPIRATION_TIME: 4,
    SUB_KEY_EXPIRATION_TIME: 4,
    SUB_ISSUER: 8,
    SUB_ISSUER_FINGERPRINT: 21,
}
# RFC 4880 §5.4: a one-pass signature packet's body.
_ONE_PASS_SIZE: Final = 13
# The largest MPI the general reader takes (_packet_bodies._parse_mpis), in octets.
_MAX_MPI_OCTETS: Final = 1024


class _Layout(NamedTuple):
    """Where the common shape's three packet bodies are, in the level that holds them."""

    data: bytes
    compression: tuple[int, ...]
    one_pass_at: int
    literal_at: int
    literal_end: int
    signature_at: int
    end: int


def _read_common_facts(data: bytes) -> SignedFacts | None:
    """What a verifier needs from a blob of the common shape, or ``None`` (see the module)."""
    layout = _frame(data)
    return None if layout is None else _scan(layout)


def _read_common_shape(data: bytes) -> SignedMessage | None:
    """The blob as a :class:`SignedMessage` when it is of the common shape, else ``None``.

    When the single pass takes a blob, the general reader would have found exactly these three
    packet bodies at one level within every limit, and would have accepted them: the same body
    parsers build the message here, so it is the general reader's, field for field.
    """
    layout = _frame(data)
    if layout is None or _scan(layout) is None:
        return None
    inner = layout.data
    return _one_pass_message(
        inner[layout.one_pass_at : layout.one_pass_at + _ONE_PASS_SIZE],
        inner[layout.literal_at : layout.literal_end],
        inner[layout.signature_at : layout.end],
        layout.compression,
    )


def _frame(data: bytes) -> _Layout | None:
    """``[Compressed (uncompressed, ZIP or ZLIB) ->] One-Pass Literal Signature``, framed.

    The compressed packet (if any) is the whole blob and its stream ends exactly at the end;
    the three inner packets have definite lengths and fill the level exactly. For any other
    framing, including every framing error, this returns ``None``.
    """
    end = len(data)
    compression: tuple[int, ...] = ()
    inner = data
    try:
        tag, start, stop, framing = read_header(data, 0, end)
        if tag == TAG_COMPRESSED:
            # Definite or indeterminate (to the end of the blob); chunks are left to the
            # general reader, which joins them.
            if framing == PARTIAL or stop != end or start == stop:
                return None
            algorithm = data[start]
            inflated = _inflate(data, start + 1, stop, algorithm)
            if inflated is None:
                return None
            inner, compression, end = inflated, (algorithm,), len(inflated)
            tag, start, stop, framing = read_header(inner, 0, end)
        # DEFINITE is 0: any other framing is partial or indeterminate, not the common shape.
        if tag != TAG_ONE_PASS or framing or stop - start != _ONE_PASS_SIZE:
            return None
        one_pass_at = start
        tag, literal_at, literal_end, framing = read_header(inner, stop, end)
        if tag != TAG_LITERAL or framing:
            return None
        tag, signature_at, stop, framing = read_header(inner, literal_end, end)
        if tag != TAG_SIGNATURE or framing or stop != end:
            return None
    except HeaderError:
        return None
    return _Layout(inner, compression, one_pass_at, literal_at, literal_end, signature_at, end)


def _inflate(data: bytes, start: int, stop: int, algorithm: int) -> bytes | None:
    """The compressed packet's content, when it inflates within the limit and exactly ends."""
    if algorithm == 0:
        content = data[start:stop]
        return content if len(content) <= MAX_DECOMPRESSED_BYTES else None
    window_bits = _ZLIB_WINDOW_BITS.get(algorithm)
    if window_bits is None:
        return None  # BZip2 and unknown algorithms: the general reader
    inflater = zlib.decompressobj(window_bits)
    try:
        # Bounded like _decompress: never more than one byte past the limit.
        inner = inflater.decompress(memoryview(data)[start:stop], MAX_DECOMPRESSED_BYTES + 1)
    except (zlib.error, ValueError):
        return None
    if len(inner) > MAX_DECOMPRESSED_BYTES or not inflater.eof or inflater.unused_data:
        return None
    return inner


def _scan(layout: _Layout) -> SignedFacts | None:
    """The one-pass, literal and v4 signature bodies checked in one pass, and their facts.

    The same checks as ``_one_pass_message`` (``_parse_one_pass``, ``_parse_literal``,
    ``_parse_v4_signature``), without raising: whatever one of them would refuse, or anything
    less common (a v3 signature, a subpacket length of two or five octets), returns ``None``.
    """
    data, _, one_pass_at, literal_at, literal_end, signature_at, end = layout
    # RFC 4880 §5.4: version 3 (the 13 bytes are checked by _frame), the last (only) header.
    if data[one_pass_at] != 3 or not data[one_pass_at + 12]:
        return None
    # RFC 4880 §5.9: mode, file name, date, content.
    if literal_end - literal_at < 6 or data[literal_at] not in _LITERAL_MODES:
        return None
    content_at = literal_at + 6 + data[literal_at + 1]
    if content_at > literal_end or literal_end - content_at > MAX_PAYLOAD_BYTES:
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
    hashed_at = signature_at + 6
    hashed_end = hashed_at + hashed_length
    if hashed_length > _MAX_SUBPACKET_AREA or hashed_end + 2 > end:
        return None
    unhashed_length = (data[hashed_end] << 8) | data[hashed_end + 1]
    unhashed_end = hashed_end + 2 + unhashed_length
    if unhashed_length > _MAX_SUBPACKET_AREA or unhashed_end + 2 > end:
        return None
    hashed = _subpacket_offsets(data, hashed_at, hashed_end)
    unhashed = _subpacket_offsets(data, hashed_end + 2, unhashed_end)
    values = _signature_values(data, unhashed_end + 2, end, mpi_count)
    if hashed is None or unhashed is None or values is None:
        return None
    return _new_tuple(
        SignedFacts,
        (
            data[content_at:literal_end],
            pubkey_algo,
            hash_algo,
            _u32_at(data, hashed.get(SUB_CREATION_TIME)),
            _u32_at(data, hashed.get(SUB_EXPIRATION_TIME)) or None,
            _issuer_key_id(data, hashed.get(SUB_ISSUER, unhashed.get(SUB_ISSUER))),
            _v4_fingerprint(data, hashed.get(SUB_ISSUER_FINGERPRINT)),
            # RFC 4880 §5.2.4: the hashed part, then 0x04 0xFF and its length in four octets.
            data[signature_at:hashed_end] + b"\x04\xff" + _U32.pack(hashed_end - signature_at),
            values,
        ),
    )


def _subpacket_offsets(data: bytes, offset: int, end: int) -> dict[int, int] | None:
    """Where the body of each subpacket type's first occurrence starts in ``data[offset:end]``.

    ``None`` for an area the general reader would refuse, or would read otherwise (two- and
    five-octet subpacket lengths, a longer fingerprint).
    """
    first: dict[int, int] = {}
    while offset < end:
        length = data[offset]
        if length == 0 or length >= 192 or offset + 1 + length > end:
            return None
        head = data[offset + 1]
        kind = head & 0x7F
        # A stricter test than _subpacket_size_problem, without the call.
        if length - 1 != _COMMON_SIZES.get(kind, length - 1):
            return None
        if head > 0x7F and kind not in _UNDERSTOOD_CRITICAL:
            return None
        first.setdefault(kind, offset + 2)
        offset += 1 + length
    return first


def _signature_values(data: bytes, offset: int, end: int, count: int) -> tuple[bytes, ...] | None:
    """RFC 4880 §3.2: ``count`` MPIs that end the packet exactly, as their magnitudes."""
    values: tuple[bytes, ...] = ()
    for _ in range(count):
        offset += 2
        if offset > end:
            return None
        size = (((data[offset - 2] << 8) | data[offset - 1]) + 7) >> 3
        if size > _MAX_MPI_OCTETS or offset + size > end:
            return None
        values += (data[offset : offset + size],)
        offset += size
    return values if offset == end else None


def _u32_at(data: bytes, offset: int | None) -> int | None:
    return _U32.unpack_from(data, offset)[0] if offset is not None else None


def _issuer_key_id(data: bytes, offset: int | None) -> bytes | None:
    return data[offset : offset + 8] if offset is not None else None


def _v4_fingerprint(data: bytes, offset: int | None) -> bytes | None:
    """The hashed issuer fingerprint when it is a v4 one (GnuPG ignores the others)."""
    if offset is None or data[offset] != 4:
        return None
    return data[offset + 1 : offset + 21]
