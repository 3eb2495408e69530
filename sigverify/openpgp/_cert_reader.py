"""Key files read in-process, for the plain certificates whose reading is not in doubt.

:func:`sigverify.openpgp.keyring.load_key_data` used to start gpg (import, list, export) for
every key file. This reader gives the same :class:`~sigverify.openpgp.keyring.PublicKey`
records GnuPG 2.2 lists (``--with-colons --fixed-list-mode``) without a process, for the
common shape of a key file: v4 certificates, each a primary key with one user ID and its one
self-certification, then subkeys each with one binding signature (and, for a signing subkey,
its primary-key binding back-signature), every signature made by the primary and checked here
with ``cryptography``. Anything else — a revocation, a direct-key signature, third-party
certifications, several user IDs or self-signatures, SHA-1 self-signatures, a signature
expiry, a bad signature, armor it does not fully understand — raises :class:`Unsure`, and
the caller asks gpg, whose answer is then the one used. So the keys accepted and refused,
and every flag of each, are GnuPG's: tests/openpgp/test_native_key_reading.py compares both
readings over every kind of key the test factory makes.

GnuPG's rules mirrored (g10/getkey.c merge_selfsigs*, g10/keylist.c print_capabilities): the
key flags subpacket of the self-signature decides the capabilities (``s`` listed even for an
expired key); the key expiration subpacket gives ``created + seconds``; user IDs are listed
as read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from sigverify.core.verdict import SignatureRejected
from sigverify.openpgp._packet_bodies import _parse_mpis, _parse_subpackets
from sigverify.openpgp._packet_header import DEFINITE, HeaderError, read_header
from sigverify.openpgp.keyring import PublicKey, Subkey
from sigverify.openpgp.keys import KeyFormatError, KeyPacket, _parse_key

__all__ = ["Unsure", "read_certificates"]

_TAG_SIGNATURE: Final = 2
_TAG_PUBLIC_KEY: Final = 6
_TAG_USER_ID: Final = 13
_TAG_PUBLIC_SUBKEY: Final = 14

_POSITIVE_CERTIFICATIONS: Final = frozenset({0x10, 0x11, 0x12, 0x13})
_SUBKEY_BINDING: Final = 0x18
_PRIMARY_KEY_BINDING: Final = 0x19

_SUB_CREATION: Final = 2
_SUB_SIGNATURE_EXPIRATION: Final = 3
_SUB_KEY_EXPIRATION: Final = 9
_SUB_REVOCATION_KEY: Final = 12
_SUB_ISSUER: Final = 16
_SUB_KEY_FLAGS: Final = 27
_SUB_EMBEDDED_SIGNATURE: Final = 32
_SUB_ISSUER_FINGERPRINT: Final = 33
_FLAG_SIGN: Final = 0x02

#: Self-signature hashes read here (SHA-1 and the rest: gpg decides).
_HASHES: Final[dict[int, Callable[[bytes], hashlib._Hash]]] = {
    8: hashlib.sha256,
    9: hashlib.sha384,
    10: hashlib.sha512,
    11: hashlib.sha224,
}
#: Algorithms that can sign (RFC 4880 §9.1): RSA, RSA sign-only, DSA, ECDSA, EdDSA.
_SIGNING_ALGORITHMS: Final = frozenset({1, 3, 17, 19, 22})
_SIGNATURE_MPIS: Final = {1: 1, 3: 1, 17: 2, 19: 2, 22: 2}
_MIN_RSA_BITS: Final = 2048

_ARMOR_BEGIN: Final = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
_ARMOR_END: Final = "-----END PGP PUBLIC KEY BLOCK-----"


class Unsure(Exception):
    """This reader does not decide the file: ask gpg."""


_UNSURE: Final = Unsure()

_MathCheck = Callable[[tuple[int, ...], int, bytes], bool]


class _Signature:
    """A v4 signature over key material: what a self-signature check needs."""

    __slots__ = (
        "created",
        "embedded",
        "flags",
        "hash_algo",
        "hashed",
        "key_expires",
        "mpis",
        "sig_type",
    )

    def __init__(self, body: bytes, primary: KeyPacket, *, needs_flags: bool = True) -> None:
        if len(body) < 6 or body[0] != 4:
            raise _UNSURE
        self.sig_type, pubkey_algo, self.hash_algo = body[1], body[2], body[3]
        if pubkey_algo != primary.algorithm or self.hash_algo not in _HASHES:
            raise _UNSURE
        hashed_length = (body[4] << 8) | body[5]
        offset = 6 + hashed_length
        if offset + 2 > len(body):
            raise _UNSURE
        unhashed_end = offset + 2 + ((body[offset] << 8) | body[offset + 1])
        try:
            hashed = _parse_subpackets(body[6 : 6 + hashed_length], True, {})
            unhashed = _parse_subpackets(body[offset + 2 : unhashed_end], False, {})
            self.mpis = _parse_mpis(body, unhashed_end + 2, _SIGNATURE_MPIS[pubkey_algo])
        except (SignatureRejected, KeyError):
            raise _UNSURE from None
        part = body[: 6 + hashed_length]
        self.hashed = part + b"\x04\xff" + len(part).to_bytes(4, "big")
        first: dict[int, bytes] = {}
        for subpacket in hashed:
            if subpacket.type in first or subpacket.type in (
                _SUB_SIGNATURE_EXPIRATION,
                _SUB_REVOCATION_KEY,
            ):
                raise _UNSURE  # repeated subpackets, expiring or revocable-by-others: gpg
            first[subpacket.type] = subpacket.body
        created = first.get(_SUB_CREATION)
        if created is None:
            raise _UNSURE
        self.created = int.from_bytes(created, "big")
        expiration = first.get(_SUB_KEY_EXPIRATION)
        self.key_expires = int.from_bytes(expiration, "big") if expiration is not None else None
        flags = first.get(_SUB_KEY_FLAGS)
        if needs_flags and not flags:
            raise _UNSURE  # no key flags: gpg derives them from the algorithm
        self.flags = flags[0] if flags else 0
        # The issuer must be the primary: named in the hashed fingerprint or the key ID.
        fingerprint = first.get(_SUB_ISSUER_FINGERPRINT)
        issuers = [s.body for s in (*hashed, *unhashed) if s.type == _SUB_ISSUER]
        if fingerprint is not None and fingerprint[1:].hex().upper() != primary.fingerprint:
            raise _UNSURE
        if any(issuer.hex().upper() != primary.key_id for issuer in issuers):
            raise _UNSURE
        if fingerprint is None and not issuers:
            raise _UNSURE
        embedded = [s.body for s in (*hashed, *unhashed) if s.type == _SUB_EMBEDDED_SIGNATURE]
        if len(embedded) > 1:
            raise _UNSURE
        self.embedded = embedded[0] if embedded else None

    def verifies(self, check: _MathCheck, *material: bytes) -> bool:
        hasher = _HASHES[self.hash_algo](b"".join(material))
        hasher.update(self.hashed)
        return check(self.mpis, self.hash_algo, hasher.digest())


def _key_material(body: bytes) -> bytes:
    return b"\x99" + len(body).to_bytes(2, "big") + body


def _dearmor(data: bytes) -> bytes:
    """The one armored public key block of ``data``, decoded and checksummed."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise _UNSURE from None
    lines = [line.strip() for line in text.splitlines()]
    if lines.count(_ARMOR_BEGIN) != 1 or lines.count(_ARMOR_END) != 1:
        raise _UNSURE
    begin, end = lines.index(_ARMOR_BEGIN), lines.index(_ARMOR_END)
    if any(lines[:begin]) or any(lines[end + 1 :]) or end < begin:
        raise _UNSURE
    block = lines[begin + 1 : end]
    if "" not in block:
        raise _UNSURE
    blank = block.index("")
    if any(":" not in header for header in block[:blank]):
        raise _UNSURE
    body = block[blank + 1 :]
    checksum: str | None = None
    if body and body[-1].startswith("="):
        checksum = body.pop()[1:]
    if not body or any(not line for line in body):
        raise _UNSURE
    try:
        decoded = base64.b64decode("".join(body), validate=True)
        crc = base64.b64decode(checksum, validate=True) if checksum is not None else None
    except (binascii.Error, ValueError):
        raise _UNSURE from None
    if crc is not None and crc != _crc24(decoded).to_bytes(3, "big"):
        raise _UNSURE
    return decoded


def _crc24(data: bytes) -> int:
    # RFC 4880 §6.1.
    crc = 0xB704CE
    for octet in data:
        crc ^= octet << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _packets(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(tag, body, the packet as written) for every packet of a binary key file."""
    packets = []
    offset, end = 0, len(data)
    while offset < end:
        try:
            tag, start, after, framing = read_header(data, offset, end)
        except HeaderError:
            raise _UNSURE from None
        if framing != DEFINITE:
            raise _UNSURE
        packets.append((tag, data[start:after], data[offset:after]))
        offset = after
    return packets


def _key(body: bytes, *, is_subkey: bool, now: int) -> KeyPacket:
    try:
        packet = _parse_key(body, is_subkey=is_subkey)
    except KeyFormatError:
        raise _UNSURE from None
    if packet is None or packet.created > now:
        raise _UNSURE
    return packet


def _time(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _expiry(key: KeyPacket, signature: _Signature) -> datetime | None:
    if not signature.key_expires:
        return None
    return _time(key.created + signature.key_expires)


def _checked(signature: _Signature, key: KeyPacket, now: int) -> None:
    if not key.created <= signature.created <= now:
        raise _UNSURE  # gpg: "signature is newer/older than the key" or a time warp


def _can_sign(key: KeyPacket, flags: int) -> bool:
    can_sign = bool(flags & _FLAG_SIGN)
    if can_sign and key.algorithm not in _SIGNING_ALGORITHMS:
        raise _UNSURE
    return can_sign


def _certificate(
    packets: list[tuple[int, bytes, bytes]],
    source: str,
    now: int,
    math: Callable[[KeyPacket], _MathCheck | None],
) -> PublicKey:
    tags = [tag for tag, _, _ in packets]
    # Primary, one user ID and its one self-signature, then (subkey, binding) pairs.
    if tags[:3] != [_TAG_PUBLIC_KEY, _TAG_USER_ID, _TAG_SIGNATURE] or (len(tags) - 3) % 2:
        raise _UNSURE
    if any(
        pair != (_TAG_PUBLIC_SUBKEY, _TAG_SIGNATURE)
        for pair in zip(tags[3::2], tags[4::2], strict=True)
    ):
        raise _UNSURE
    primary = _key(packets[0][1], is_subkey=False, now=now)
    primary_check = math(primary)
    if primary_check is None or primary.algorithm not in _SIGNING_ALGORITHMS:
        raise _UNSURE
    public_key = primary.public_key
    if getattr(public_key, "key_size", _MIN_RSA_BITS) < _MIN_RSA_BITS and primary.algorithm in (
        1,
        3,
    ):
        raise _UNSURE
    primary_material = _key_material(packets[0][1])
    user_id = packets[1][1]
    try:
        user_id_text = user_id.decode("utf-8")
    except UnicodeDecodeError:
        raise _UNSURE from None
    if not user_id_text.isprintable():
        raise _UNSURE
    certification = _Signature(packets[2][1], primary)
    if certification.sig_type not in _POSITIVE_CERTIFICATIONS or certification.embedded:
        raise _UNSURE
    _checked(certification, primary, now)
    uid_material = b"\xb4" + len(user_id).to_bytes(4, "big") + user_id
    if not certification.verifies(primary_check, primary_material, uid_material):
        raise _UNSURE
    subkeys: list[Subkey] = []
    seen = {primary.fingerprint}
    for index in range(3, len(packets), 2):
        subkey = _key(packets[index][1], is_subkey=True, now=now)
        if subkey.fingerprint in seen:
            raise _UNSURE
        seen.add(subkey.fingerprint)
        binding = _Signature(packets[index + 1][1], primary)
        if binding.sig_type != _SUBKEY_BINDING:
            raise _UNSURE
        _checked(binding, subkey, now)
        subkey_material = _key_material(packets[index][1])
        if not binding.verifies(primary_check, primary_material, subkey_material):
            raise _UNSURE
        can_sign = _can_sign(subkey, binding.flags)
        if can_sign:
            _check_back_signature(binding, subkey, primary_material, subkey_material, math, now)
        elif binding.embedded is not None:
            raise _UNSURE
        subkeys.append(
            Subkey(
                fingerprint=subkey.fingerprint,
                key_id=subkey.key_id,
                algorithm=subkey.algorithm,
                created=_time(subkey.created),
                expires=_expiry(subkey, binding),
                revoked=False,
                can_sign=can_sign,
            )
        )
    return PublicKey(
        fingerprint=primary.fingerprint,
        key_id=primary.key_id,
        algorithm=primary.algorithm,
        created=_time(primary.created),
        expires=_expiry(primary, certification),
        revoked=False,
        can_sign=_can_sign(primary, certification.flags),
        user_ids=(user_id_text,),
        subkeys=tuple(subkeys),
        material=b"".join(raw for _, _, raw in packets),
        source=source,
    )


def _check_back_signature(
    binding: _Signature,
    subkey: KeyPacket,
    primary_material: bytes,
    subkey_material: bytes,
    math: Callable[[KeyPacket], _MathCheck | None],
    now: int,
) -> None:
    """A signing subkey must cross-certify its primary (RFC 4880 §5.2.1, 0x19)."""
    check = math(subkey)
    if binding.embedded is None or check is None:
        raise _UNSURE
    back = _Signature(binding.embedded, subkey, needs_flags=False)
    if back.sig_type != _PRIMARY_KEY_BINDING:
        raise _UNSURE
    _checked(back, subkey, now)
    if not back.verifies(check, primary_material, subkey_material):
        raise _UNSURE


def read_certificates(
    data: bytes, source: str, math: Callable[[KeyPacket], _MathCheck | None]
) -> list[PublicKey]:
    """Every certificate of a key file, as GnuPG lists it; :class:`Unsure` when in doubt."""
    binary = data if data[:1] and data[0] & 0x80 else _dearmor(data)
    packets = _packets(binary)
    starts = [index for index, (tag, _, _) in enumerate(packets) if tag == _TAG_PUBLIC_KEY]
    if not starts or starts[0] != 0:
        raise _UNSURE
    now = int(datetime.now(UTC).timestamp())
    keys = []
    for begin, end in zip(starts, [*starts[1:], len(packets)], strict=True):
        keys.append(_certificate(packets[begin:end], source, now, math))
    if len({key.fingerprint for key in keys}) != len(keys):
        raise _UNSURE
    return keys
