"""Packet bodies of an atomic-signature blob: what they hold and how each is read.

The one-pass signature (RFC 4880 §5.4), literal data (§5.9) and v3/v4 signature (§5.2)
packets, signature subpackets (§5.2.3.1) and MPIs (§3.2), once framing has cut the body out.
Each parser refuses with :class:`~sigverify.errors.SignatureRejected` and nothing else; the
public names are re-exported by :mod:`sigverify.openpgp.packets`.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.limits import MAX_PAYLOAD_BYTES

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


class SignedFacts(NamedTuple):
    """What a verifier reads from a signed message, in the form the bytes hold it.

    The native backend's input: it looks keys up by the raw issuer octets and hands the raw
    signature values to ``cryptography``, so neither hex strings nor integers are made on the
    way. :func:`facts_of` derives it from a :class:`SignedMessage`; the common shape's reader
    (:mod:`sigverify.openpgp._common_shape`) produces it directly.
    """

    payload: bytes
    pubkey_algo: int
    hash_algo: int
    creation_time: int | None
    expiration_seconds: int | None
    #: The issuer subpacket's 8 octets (hashed, else unhashed); a v3 signature's key ID.
    issuer_key_id: bytes | None
    #: The hashed v4 issuer fingerprint subpacket's 20 octets (version octet dropped).
    issuer_fingerprint: bytes | None
    hashed_trailer: bytes
    #: The signature MPIs' magnitudes, big-endian, as they are written (RFC 4880 §3.2).
    values: tuple[bytes, ...]


def facts_of(message: SignedMessage) -> SignedFacts:
    """``message``'s :class:`SignedFacts` (the general reader's path to the verifier)."""
    signature = message.signature
    key_id, fingerprint = signature.issuer_key_id, signature.issuer_fingerprint
    return SignedFacts(
        message.literal.body,
        signature.pubkey_algo,
        signature.hash_algo,
        signature.creation_time,
        signature.expiration_seconds,
        bytes.fromhex(key_id) if key_id is not None else None,
        bytes.fromhex(fingerprint) if fingerprint is not None else None,
        signature.hashed_trailer,
        tuple(value.to_bytes((value.bit_length() + 7) // 8, "big") for value in signature.mpis),
    )


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
    fingerprint_body = hashed_first.get(SUB_ISSUER_FINGERPRINT)
    issuer = hashed_first.get(SUB_ISSUER, unhashed_first.get(SUB_ISSUER))
    fingerprint: str | None = None
    if fingerprint_body is not None and fingerprint_body[0] == 4:
        fingerprint = fingerprint_body[1:].hex().upper()
    # GnuPG 2.2.40 (measured): the key ID comes from the issuer subpacket alone (hashed,
    # then unhashed); the fingerprint is looked up on its own, before the key ID.
    key_id = issuer.hex().upper() if issuer is not None else None
    expiration = int.from_bytes(expires, "big") if expires is not None else None
    # Positional: this runs for every blob, and keyword construction of a 12-field tuple
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
