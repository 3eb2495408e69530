"""Hand-made signatures with the *real* secret keys of gpg-generated test keys.

gpg itself will not write every shape worth testing (v3 signatures from new keys, unknown
critical subpackets, missing creation times, text signatures over bare-LF text, MD5, ...).
This module exports a factory key's secret (``gpg --export-secret-keys``, unprotected) and
builds such signatures directly, so both backends can be asked about them. RSA and Ed25519
keys are supported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils

from tests.support import packetcraft as pc
from tests.support.gpgfactory import GeneratedKey, GpgFactory

__all__ = ["Forger", "subpacket"]

_HASHES = {
    1: ("md5", hashes.MD5),
    2: ("sha1", hashes.SHA1),
    8: ("sha256", hashes.SHA256),
    9: ("sha384", hashes.SHA384),
    10: ("sha512", hashes.SHA512),
    11: ("sha224", hashes.SHA224),
}


def subpacket(kind: int, body: bytes, *, critical: bool = False) -> bytes:
    """One signature subpacket (RFC 4880 §5.2.3.1)."""
    length = len(body) + 1
    header = bytes([length]) if length < 192 else b"\xff" + length.to_bytes(4, "big")
    return header + bytes([kind | (0x80 if critical else 0)]) + body


def _mpi(value: int) -> bytes:
    return value.bit_length().to_bytes(2, "big") + value.to_bytes(
        (value.bit_length() + 7) // 8, "big"
    )


def _read_mpi(body: bytes, offset: int) -> tuple[int, int]:
    bits = int.from_bytes(body[offset : offset + 2], "big")
    size = (bits + 7) // 8
    return int.from_bytes(body[offset + 2 : offset + 2 + size], "big"), offset + 2 + size


@dataclass
class _Secret:
    fingerprint: str
    algorithm: int
    private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def _public_length(body: bytes) -> int:
    """Length of the public part of a v4 key packet body."""
    algorithm = body[5]
    offset = 6
    if algorithm in (1, 2, 3):
        counts = 2
    elif algorithm == 22:
        offset += 1 + body[offset]
        counts = 1
    else:
        raise ValueError(f"forge: unsupported key algorithm {algorithm}")
    for _ in range(counts):
        _, offset = _read_mpi(body, offset)
    return offset


def _secrets(material: bytes) -> list[_Secret]:
    found = []
    for packet in pc.split_packets(material):
        if packet.tag not in (5, 7):
            continue
        body = packet.body
        public_length = _public_length(body)
        public = body[:public_length]
        fingerprint = hashlib.sha1(b"\x99" + len(public).to_bytes(2, "big") + public).hexdigest()
        if body[public_length] != 0:
            raise ValueError("forge: the secret key is protected")
        offset = public_length + 1
        algorithm = body[5]
        if algorithm in (1, 2, 3):
            n, off = _read_mpi(public, 6)
            e, _ = _read_mpi(public, off)
            d, offset = _read_mpi(body, offset)
            p, offset = _read_mpi(body, offset)
            q, offset = _read_mpi(body, offset)
            private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey = rsa.RSAPrivateNumbers(
                p=p,
                q=q,
                d=d,
                dmp1=d % (p - 1),
                dmq1=d % (q - 1),
                iqmp=pow(q, -1, p),
                public_numbers=rsa.RSAPublicNumbers(e, n),
            ).private_key()
        else:
            seed, offset = _read_mpi(body, offset)
            private = ed25519.Ed25519PrivateKey.from_private_bytes(seed.to_bytes(32, "big"))
        found.append(_Secret(fingerprint.upper(), algorithm, private))
    return found


class Forger:
    """Signs arbitrary signature packets with one (sub)key of a generated key."""

    def __init__(
        self,
        factory: GpgFactory,
        key: GeneratedKey,
        *,
        subkey: bool = False,
        fingerprint: str | None = None,
    ) -> None:
        material = factory._gpg(key.home, ["--export-secret-keys", key.fingerprint])
        wanted = fingerprint or (key.signing_subkey_fingerprint if subkey else key.fingerprint)
        secrets = {secret.fingerprint: secret for secret in _secrets(material)}
        self.secret = secrets[wanted]
        self.fingerprint = wanted
        self.key_id = bytes.fromhex(wanted[-16:])

    def default_hashed(self, created: int) -> list[bytes]:
        return [
            subpacket(2, created.to_bytes(4, "big")),
            subpacket(33, b"\x04" + bytes.fromhex(self.fingerprint)),
        ]

    def signature(
        self,
        body: bytes,
        *,
        created: int,
        version: int = 4,
        sig_type: int = 0x00,
        hash_algo: int = 8,
        hashed: Sequence[bytes] | None = None,
        unhashed: Sequence[bytes] | None = None,
        hashed_body: bytes | None = None,
    ) -> bytes:
        """A signature packet body over ``hashed_body`` (default: ``body``)."""
        name, algorithm = _HASHES[hash_algo]
        hasher = hashlib.new(name)
        hasher.update(body if hashed_body is None else hashed_body)
        pubkey_algo = self.secret.algorithm
        if version == 3:
            trailer = bytes([sig_type]) + created.to_bytes(4, "big")
            hasher.update(trailer)
            head = bytes([3, 5]) + trailer + self.key_id + bytes([pubkey_algo, hash_algo])
        else:
            hashed_area = b"".join(self.default_hashed(created) if hashed is None else hashed)
            unhashed_area = b"".join([subpacket(16, self.key_id)] if unhashed is None else unhashed)
            prefix = (
                bytes([4, sig_type, pubkey_algo, hash_algo])
                + len(hashed_area).to_bytes(2, "big")
                + hashed_area
            )
            hasher.update(prefix + b"\x04\xff" + len(prefix).to_bytes(4, "big"))
            head = prefix + len(unhashed_area).to_bytes(2, "big") + unhashed_area
        digest = hasher.digest()
        private = self.secret.private
        if isinstance(private, rsa.RSAPrivateKey):
            raw = private.sign(digest, padding.PKCS1v15(), utils.Prehashed(algorithm()))
            values = _mpi(int.from_bytes(raw, "big"))
        else:
            raw = private.sign(digest)
            values = _mpi(int.from_bytes(raw[:32], "big")) + _mpi(int.from_bytes(raw[32:], "big"))
        return head + digest[:2] + values

    def message(
        self,
        payload: bytes,
        *,
        created: int,
        mode: bytes = b"b",
        filename: bytes = b"",
        one_pass: bool = True,
        compress: int | None = None,
        **options: object,
    ) -> bytes:
        """A whole signed message (``options`` go to :meth:`signature`)."""
        signature = self.signature(payload, created=created, **options)  # type: ignore[arg-type]
        literal = pc.RawPacket(11, pc.literal(payload, mode=mode, filename=filename, date=created))
        sig_packet = pc.RawPacket(2, signature)
        if one_pass:
            ops = pc.RawPacket(
                4,
                pc.one_pass(
                    sig_type=signature[1] if signature[0] == 4 else signature[2],
                    hash_algo=signature[3] if signature[0] == 4 else signature[16],
                    pubkey_algo=self.secret.algorithm,
                    key_id=self.key_id,
                ),
            )
            data = pc.join([ops, literal, sig_packet])
        else:
            data = pc.join([sig_packet, literal])
        if compress is not None:
            data = pc.new_packet(8, pc.compressed(data, compress))
        return data
