"""Public-key packets (RFC 4880 §5.5.2) read from a key's exported material.

Only what the native backend needs: each v4 primary key and subkey's algorithm, creation
time, fingerprint and public parameters, turned into a ``cryptography`` public key.
Certification and binding signatures are *not* checked here: the keys come from a
:class:`~sigverify.openpgp.keyring.Keyring`, whose validity flags GnuPG itself computed at load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from sigverify.openpgp._packet_header import (
    DEFINITE,
    PARTIAL,
    TAG_PUBLIC_KEY,
    TAG_PUBLIC_SUBKEY,
    HeaderError,
    read_header,
)

__all__ = [
    "KeyFormatError",
    "KeyPacket",
    "PublicKeyParameters",
    "key_bits",
    "parse_key_packets",
    "user_id_packets",
]

# RFC 6637 §11 and RFC 4880bis: curve OIDs (DER contents, without tag/length).
_ECDSA_CURVES: Final[dict[bytes, ec.EllipticCurve]] = {
    bytes.fromhex("2a8648ce3d030107"): ec.SECP256R1(),
    bytes.fromhex("2b81040022"): ec.SECP384R1(),
    bytes.fromhex("2b81040023"): ec.SECP521R1(),
}
_ED25519_OID: Final = bytes.fromhex("2b06010401da470f01")
_TAG_USER_ID: Final = 13

PublicKeyParameters = (
    rsa.RSAPublicKey | dsa.DSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
)


class KeyFormatError(ValueError):
    """Key material this module cannot read (never raised for a key it simply skips)."""


@dataclass(frozen=True)
class KeyPacket:
    """One v4 public key or subkey packet."""

    fingerprint: str
    key_id: str
    algorithm: int
    created: int
    is_subkey: bool
    #: None when the algorithm cannot sign or is not supported (ECDH, ElGamal, ...).
    public_key: PublicKeyParameters | None = field(repr=False)
    #: DSA: bits of q; ECDSA: the curve's order size as GnuPG computes it; else 0.
    qbits: int = 0


def parse_key_packets(material: bytes) -> list[KeyPacket]:
    """Every v4 (sub)key packet in a binary transferable public key sequence."""
    packets: list[KeyPacket] = []
    offset = 0
    end = len(material)
    while offset < end:
        try:
            tag, start, offset, framing = read_header(material, offset, end)
        except HeaderError as exc:
            raise KeyFormatError(f"key material: {exc}") from exc
        if framing != DEFINITE:
            # Only data packets may be partial or indeterminate; none belongs in key material.
            form = "partial body" if framing == PARTIAL else "indeterminate"
            raise KeyFormatError(f"{form} length in key material")
        if tag in (TAG_PUBLIC_KEY, TAG_PUBLIC_SUBKEY):
            packet = _parse_key(material[start:offset], is_subkey=tag == TAG_PUBLIC_SUBKEY)
            if packet is not None:
                packets.append(packet)
    return packets


def user_id_packets(material: bytes) -> list[str]:
    """The text of every User ID packet in ``material``, in order (UTF-8, undecodable bytes
    replaced), whatever their certifications say: for reports, never for trust."""
    found: list[str] = []
    offset = 0
    end = len(material)
    while offset < end:
        try:
            tag, start, offset, framing = read_header(material, offset, end)
        except HeaderError as exc:
            raise KeyFormatError(f"key material: {exc}") from exc
        if framing != DEFINITE:
            raise KeyFormatError("partial or indeterminate length in key material")
        if tag == _TAG_USER_ID:
            found.append(material[start:offset].decode("utf-8", "replace"))
    return found


def key_bits(packet: KeyPacket) -> int | None:
    """The key's size as GnuPG lists it: RSA modulus and DSA prime bits, the ECDSA curve's
    size (256, 384, 521), 255 for Ed25519; None for a key whose parameters were not read."""
    key = packet.public_key
    if key is None:
        return None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return 255
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.key_size
    return key.key_size


def _mpi(body: bytes, offset: int) -> tuple[int, int, int]:
    """(value, bit count as written, next offset)."""
    if offset + 2 > len(body):
        raise KeyFormatError("truncated MPI")
    bits = int.from_bytes(body[offset : offset + 2], "big")
    size = (bits + 7) // 8
    if offset + 2 + size > len(body):
        raise KeyFormatError("truncated MPI")
    value = int.from_bytes(body[offset + 2 : offset + 2 + size], "big")
    return value, bits, offset + 2 + size


def _oid(body: bytes, offset: int) -> tuple[bytes, int]:
    length = body[offset]
    if length in (0, 0xFF) or offset + 1 + length > len(body):
        raise KeyFormatError("bad curve OID")
    return body[offset + 1 : offset + 1 + length], offset + 1 + length


def _parse_key(body: bytes, *, is_subkey: bool) -> KeyPacket | None:
    if len(body) < 6 or body[0] != 4:
        return None  # v3 keys (MD5 fingerprints) and unknown versions are not supported
    created = int.from_bytes(body[1:5], "big")
    algorithm = body[5]
    fingerprint = (
        hashlib.sha1(  # noqa: S324 - RFC 4880 §12.2 defines v4 fingerprints
            b"\x99" + len(body).to_bytes(2, "big") + body
        )
        .hexdigest()
        .upper()
    )
    public_key: PublicKeyParameters | None = None
    qbits = 0
    try:
        if algorithm in (1, 2, 3):
            n, _, offset = _mpi(body, 6)
            e, _, _ = _mpi(body, offset)
            public_key = rsa.RSAPublicNumbers(e, n).public_key()
        elif algorithm == 17:
            p, _, offset = _mpi(body, 6)
            q, qbits, offset = _mpi(body, offset)
            g, _, offset = _mpi(body, offset)
            y, _, _ = _mpi(body, offset)
            qbits = q.bit_length()
            public_key = dsa.DSAPublicNumbers(y, dsa.DSAParameterNumbers(p, q, g)).public_key()
        elif algorithm == 19:
            oid, offset = _oid(body, 6)
            curve = _ECDSA_CURVES.get(oid)
            if curve is not None:
                point, point_bits, _ = _mpi(body, offset)
                encoded = point.to_bytes((point_bits + 7) // 8, "big")
                public_key = ec.EllipticCurvePublicKey.from_encoded_point(curve, encoded)
                # GnuPG (ecdsa_qbits_from_Q): the order size, capped at 512 for P-521.
                qbits = min(curve.key_size + (-curve.key_size % 8), 512)
        elif algorithm == 22:
            oid, offset = _oid(body, 6)
            if oid == _ED25519_OID:
                point, _, _ = _mpi(body, offset)
                encoded = point.to_bytes(33, "big")
                if encoded[0] != 0x40:
                    raise KeyFormatError("Ed25519 point without the 0x40 prefix")
                public_key = ed25519.Ed25519PublicKey.from_public_bytes(encoded[1:])
    except (ValueError, OverflowError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"key {fingerprint}: unusable public parameters: {exc}") from exc
    return KeyPacket(
        fingerprint=fingerprint,
        key_id=fingerprint[-16:],
        algorithm=algorithm,
        created=created,
        is_subkey=is_subkey,
        public_key=public_key,
        qbits=qbits,
    )
