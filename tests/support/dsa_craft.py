"""Hand-made DSA keys and signatures, with any size of q, for parity tests.

gpg only generates DSA keys whose q has 160, 224 or 256 bits, and cryptography only loads
those; to ask both backends about other sizes (GnuPG: q must be a multiple of 8 bits and at
least 160) the domain parameters, the key packet, its self-signature and the signed message
are built here, the DSA arithmetic done by hand (FIPS 186-4 §4.6, the hash truncated to
q's bit length as both GnuPG and OpenSSL do).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sigverify.openpgp.keyring import PublicKey
from tests.support import packetcraft as pc
from tests.support.forge import subpacket

__all__ = ["DsaKey", "dsa_key", "dsa_parameters"]

_HASHES = {2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


def _is_probable_prime(n: int, rounds: int = 40) -> bool:
    """Miller-Rabin with random bases (error below 4**-rounds)."""
    if n < 2:
        return False
    for small in _SMALL_PRIMES:
        if n % small == 0:
            return n == small
    odd, twos = n - 1, 0
    while odd % 2 == 0:
        odd, twos = odd // 2, twos + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, odd, n)
        if x in (1, n - 1):
            continue
        for _ in range(twos - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        if _is_probable_prime(candidate):
            return candidate


def dsa_parameters(qbits: int, pbits: int = 1024) -> tuple[int, int, int]:
    """Domain parameters (p, q, g): q prime of ``qbits`` bits dividing p - 1."""
    q = _prime(qbits)
    while True:
        p = (secrets.randbits(pbits - qbits) | (1 << (pbits - qbits - 1))) * q + 1
        if p.bit_length() == pbits and _is_probable_prime(p):
            break
    h = 2
    while (g := pow(h, (p - 1) // q, p)) == 1:
        h += 1
    return p, q, g


def _mpi(value: int) -> bytes:
    return value.bit_length().to_bytes(2, "big") + value.to_bytes(
        (value.bit_length() + 7) // 8, "big"
    )


@dataclass(frozen=True)
class DsaKey:
    """A DSA primary key (sign and certify), its user ID, and its secret ``x``."""

    p: int
    q: int
    g: int
    x: int
    created: int
    user_id: bytes

    @property
    def y(self) -> int:
        return pow(self.g, self.x, self.p)

    @property
    def body(self) -> bytes:
        """The v4 public key packet body (RFC 4880 §5.5.2)."""
        return (
            bytes([4])
            + self.created.to_bytes(4, "big")
            + bytes([17])
            + b"".join(_mpi(v) for v in (self.p, self.q, self.g, self.y))
        )

    @property
    def fingerprint(self) -> str:
        framed = b"\x99" + len(self.body).to_bytes(2, "big") + self.body
        return hashlib.sha1(framed).hexdigest().upper()  # the v4 fingerprint (RFC 4880 §12.2)

    def _sign(self, digest: bytes) -> tuple[int, int]:
        z = int.from_bytes(digest, "big")
        if len(digest) * 8 > self.q.bit_length():
            z >>= len(digest) * 8 - self.q.bit_length()
        while True:
            k = secrets.randbelow(self.q - 1) + 1
            r = pow(self.g, k, self.p) % self.q
            s = pow(k, -1, self.q) * (z + self.x * r) % self.q
            if r and s:
                return r, s

    def signature(
        self, sig_type: int, hashed_data: bytes, *, created: int, hash_algo: int
    ) -> bytes:
        """A v4 signature packet body over ``hashed_data``."""
        hashed = subpacket(2, created.to_bytes(4, "big")) + subpacket(
            33, b"\x04" + bytes.fromhex(self.fingerprint)
        )
        if sig_type == 0x13:
            hashed += subpacket(27, b"\x03")  # certify and sign
        prefix = bytes([4, sig_type, 17, hash_algo]) + len(hashed).to_bytes(2, "big") + hashed
        trailer = prefix + b"\x04\xff" + len(prefix).to_bytes(4, "big")
        digest = hashlib.new(_HASHES[hash_algo], hashed_data + trailer).digest()
        r, s = self._sign(digest)
        unhashed = subpacket(16, bytes.fromhex(self.fingerprint[-16:]))
        return prefix + len(unhashed).to_bytes(2, "big") + unhashed + digest[:2] + _mpi(r) + _mpi(s)

    @property
    def material(self) -> bytes:
        """The transferable public key: key packet, user ID, self-signature (SHA-256)."""
        certified = (
            b"\x99"
            + len(self.body).to_bytes(2, "big")
            + self.body
            + b"\xb4"
            + len(self.user_id).to_bytes(4, "big")
            + self.user_id
        )
        self_signature = self.signature(0x13, certified, created=self.created, hash_algo=8)
        return (
            pc.new_packet(6, self.body)
            + pc.new_packet(13, self.user_id)
            + pc.new_packet(2, self_signature)
        )

    def message(self, payload: bytes, *, created: int, hash_algo: int = 8) -> bytes:
        """A signed message (one-pass, literal, signature) over ``payload``."""
        key_id = bytes.fromhex(self.fingerprint[-16:])
        return pc.join(
            [
                pc.RawPacket(
                    4, pc.one_pass(sig_type=0, hash_algo=hash_algo, pubkey_algo=17, key_id=key_id)
                ),
                pc.RawPacket(11, pc.literal(payload, date=created)),
                pc.RawPacket(2, self.signature(0, payload, created=created, hash_algo=hash_algo)),
            ]
        )

    def public_key(self) -> PublicKey:
        """The key as a keyring entry, *without* asking gpg (which may refuse it)."""
        return PublicKey(
            fingerprint=self.fingerprint,
            key_id=self.fingerprint[-16:],
            algorithm=17,
            created=datetime.fromtimestamp(self.created, UTC),
            expires=None,
            revoked=False,
            can_sign=True,
            user_ids=(self.user_id.decode(),),
            subkeys=(),
            material=self.material,
            source="dsa_craft",
        )


def dsa_key(p: int, q: int, g: int, *, created: int, name: str) -> DsaKey:
    """A fresh key over the domain parameters (p, q, g)."""
    return DsaKey(
        p, q, g, secrets.randbelow(q - 1) + 1, created, f"{name} <dsa@sigverify.test>".encode()
    )
