"""The single-pass fast path for the blob shape gpg and skopeo write.

It frames and parses ``[Compressed ->] One-Pass Literal Signature`` in one pass, without
raising: anything it does not take returns ``None`` and the general reader
(:mod:`sigverify.openpgp._packet_framing`) decides, with its exact message.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

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
    LiteralData,
    OnePassSignature,
    SignaturePacket,
    SignedMessage,
    Subpacket,
    _new_tuple,
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
_LITERAL_MODES: Final = {ord("b"): "b", ord("t"): "t", ord("u"): "u"}
# RFC 4880 §5.2.3: version, signature type, public-key algorithm, hash algorithm, hashed
# subpacket area length.
_V4_HEAD: Final = struct.Struct(">BBBBH")
# Subpacket body sizes the common shape allows (v4 fingerprints only), see
# _packet_bodies._SIZE_CHECKED.
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
            tag, start, stop, framing = read_header(inner, 0, end)
        # Without compression, the blob's first packet is the first of the three.
        one_pass_at, one_pass_end = start, stop
        # DEFINITE is 0: any other framing is partial or indeterminate, not the common shape.
        if tag != TAG_ONE_PASS or framing:
            return None
        tag, literal_at, literal_end, framing = read_header(inner, one_pass_end, end)
        if tag != TAG_LITERAL or framing:
            return None
        tag, signature_at, stop, framing = read_header(inner, literal_end, end)
        if tag != TAG_SIGNATURE or framing or stop != end:
            return None
    except HeaderError:
        return None
    return _read_common_packets(
        inner,
        (one_pass_at, one_pass_end),
        (literal_at, literal_end),
        signature_at,
        end,
        compression,
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
