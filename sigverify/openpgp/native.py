"""The in-process backend: the packet reader plus ``cryptography``, judged as GnuPG judges.

Built from a :class:`~sigverify.keyring.Keyring`. Which keys are valid, expired, revoked or
signing-capable is taken from the keyring (GnuPG computed it when the keys were loaded); the
public parameters and fingerprints come from each key's own exported material. A verification
then follows GnuPG 2.2's order of checks (g10/sig-check.c, g10/mainproc.c), so both backends
give the same reason for the same blob:

1. structure (:func:`~sigverify.openpgp.packets.parse_signed_message`);
2. the issuer key ID names a key of the keyring, else ``UnknownKey``;
3. the key is usable: a signing-capable key with supported parameters, created no later than
   the signature and not after ``now`` (GnuPG: "time conflict"), the hash long enough for
   DSA/ECDSA; else ``InvalidSignature``;
4. the digest (RFC 4880 §5.2.4) and the public-key check; a mismatch is ``InvalidSignature``;
5. then, like GnuPG's status precedence: signature expired → ``SignatureExpired``; key (or
   its primary) expired → ``KeyExpired``; key (or its primary) revoked → ``KeyRevoked``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa, utils

from sigverify.core.verdict import Reason, Signer, format_key_id
from sigverify.errors import BackendError, SignatureRejected
from sigverify.keyring import Keyring, PublicKey
from sigverify.openpgp.backend import VerifiedMessage
from sigverify.openpgp.keys import KeyFormatError, KeyPacket, parse_key_packets
from sigverify.openpgp.packets import SignaturePacket, SignedMessage, parse_signed_message

__all__ = ["ACCEPTED_HASHES", "NativeBackend"]

#: Hash algorithms the native backend verifies. MD5 is refused as GnuPG 2.2 refuses it
#: (a "weak digest"); RIPEMD-160 is refused outright (not in ``cryptography``).
ACCEPTED_HASHES: Final[dict[int, Callable[[], hashes.HashAlgorithm]]] = {
    2: hashes.SHA1,
    8: hashes.SHA256,
    9: hashes.SHA384,
    10: hashes.SHA512,
    11: hashes.SHA224,
}
_HASHLIB_NAMES: Final = {2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
_RSA: Final = frozenset({1, 3})


@dataclass(frozen=True)
class _SigningKey:
    """One (sub)key of the keyring with everything a verification needs, decided at load."""

    packet: KeyPacket
    owner: PublicKey
    can_sign: bool
    expires: int | None
    revoked: bool


class NativeBackend:
    """Verifies atomic-signature blobs in-process against ``keyring``'s keys."""

    name = "native"

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._by_key_id: dict[str, list[_SigningKey]] = {}
        for key in keyring:
            self._load(key)

    def _load(self, key: PublicKey) -> None:
        try:
            packets = {packet.fingerprint: packet for packet in parse_key_packets(key.material)}
        except (KeyFormatError, IndexError) as exc:
            raise BackendError(f"cannot read the material of key {key.fingerprint}: {exc}") from exc
        primary_expires = _epoch(key.expires)
        entries: list[tuple[str, bool, datetime | None, bool]] = [
            (key.fingerprint, key.can_sign, key.expires, key.revoked)
        ]
        entries += [(s.fingerprint, s.can_sign, s.expires, s.revoked) for s in key.subkeys]
        for fingerprint, can_sign, expires, revoked in entries:
            packet = packets.get(fingerprint)
            if packet is None:
                continue  # e.g. a v3 key: unknown to this backend, so its signatures are too
            # GnuPG (getkey.c, merge_selfsigs): a subkey inherits its primary's expiry and
            # revocation.
            own = _epoch(expires)
            effective = min((t for t in (own, primary_expires) if t is not None), default=None)
            self._by_key_id.setdefault(packet.key_id, []).append(
                _SigningKey(
                    packet=packet,
                    owner=key,
                    can_sign=can_sign,
                    expires=effective,
                    revoked=revoked or key.revoked,
                )
            )

    def verify(self, blob: bytes, *, now: datetime) -> VerifiedMessage:
        message = parse_signed_message(blob)
        signature = message.signature
        epoch = int(now.timestamp())
        candidates = self._by_key_id.get(signature.issuer_key_id or "")
        if not candidates:
            shown = format_key_id(signature.issuer_key_id) if signature.issuer_key_id else "?"
            raise SignatureRejected(
                Reason.UNKNOWN_KEY, f"signed by key {shown}, which is not in the policy's keyring"
            )
        # A 64-bit key ID may (very rarely) name two keys: the one whose math checks wins.
        failure: SignatureRejected | None = None
        for candidate in candidates:
            try:
                self._check(message, candidate, epoch)
            except SignatureRejected as exc:
                failure = failure or exc
                continue
            return self._judge(message, candidate, epoch)
        assert failure is not None
        raise failure

    def _check(self, message: SignedMessage, key: _SigningKey, now: int) -> None:
        """Steps 3 and 4: usability of the key, then the cryptography."""
        signature = message.signature
        packet = key.packet
        shown = format_key_id(packet.key_id)
        if packet.public_key is None or packet.algorithm != signature.pubkey_algo:
            raise _invalid(f"key {shown} cannot make this kind of signature")
        if not key.can_sign:
            raise _invalid(f"key {shown} is not a signing key")
        created = signature.creation_time or 0
        if packet.created > created:
            raise _invalid(f"key {shown} is newer than the signature (time conflict)")
        if packet.created > now:
            raise _invalid(f"key {shown} was created in the future (time conflict)")
        hash_factory = ACCEPTED_HASHES.get(signature.hash_algo)
        if hash_factory is None:
            raise _invalid(f"hash algorithm {signature.hash_algo} is not accepted")
        hasher = hashlib.new(_HASHLIB_NAMES[signature.hash_algo])
        hasher.update(message.literal.body)
        hasher.update(signature.hashed_trailer)
        digest = hasher.digest()
        # The two quick-check bytes (signature.left16) are deliberately not consulted:
        # GnuPG 2.2 ignores them when verifying, and the full check below decides anyway.
        if not _verify_math(packet, signature, hash_factory(), digest):
            raise _invalid(f"bad signature: the blob was altered or not made by {shown}")

    def _judge(self, message: SignedMessage, key: _SigningKey, now: int) -> VerifiedMessage:
        signature = message.signature
        owner = key.owner
        expires_at = signature.expiration_time
        if expires_at is not None and expires_at <= now:
            raise SignatureRejected(Reason.SIGNATURE_EXPIRED, "the signature has expired")
        shown = format_key_id(key.packet.key_id)
        if key.expires is not None and key.expires < now:
            raise SignatureRejected(Reason.KEY_EXPIRED, f"signed by key {shown}, which has expired")
        if key.revoked:
            raise SignatureRejected(Reason.KEY_REVOKED, f"signed by key {shown}, which is revoked")
        created = signature.creation_time or 0
        return VerifiedMessage(
            payload=message.literal.body,
            signer=Signer(
                fingerprint=owner.fingerprint,
                key_id=owner.key_id,
                signing_key_fingerprint=key.packet.fingerprint,
                user_id=owner.primary_user_id,
            ),
            signature_created=datetime.fromtimestamp(created, tz=UTC),
            signature_expires=(
                datetime.fromtimestamp(expires_at, tz=UTC) if expires_at is not None else None
            ),
        )

    def close(self) -> None:
        """Nothing to release: the backend holds no processes or files."""

    def __enter__(self) -> NativeBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _invalid(message: str) -> SignatureRejected:
    return SignatureRejected(Reason.INVALID_SIGNATURE, message)


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _verify_math(
    packet: KeyPacket, signature: SignaturePacket, algorithm: hashes.HashAlgorithm, digest: bytes
) -> bool:
    """The public-key operation over ``digest`` (GnuPG: pk_verify after encode_md_value)."""
    public_key = packet.public_key
    prehashed = utils.Prehashed(algorithm)
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            (value,) = signature.mpis
            size = (public_key.key_size + 7) // 8
            if value >= public_key.public_numbers().n:
                return False
            public_key.verify(value.to_bytes(size, "big"), digest, padding.PKCS1v15(), prehashed)
            return True
        if isinstance(public_key, dsa.DSAPublicKey | ec.EllipticCurvePublicKey):
            r, s = signature.mpis
            # GnuPG (encode_md_value): q (or the curve order) must be a multiple of 8 bits,
            # at least 160, and the hash at least that long; longer hashes are truncated.
            if packet.qbits % 8 or packet.qbits < 160 or len(digest) * 8 < packet.qbits:
                return False
            encoded = utils.encode_dss_signature(r, s)
            if isinstance(public_key, dsa.DSAPublicKey):
                public_key.verify(encoded, digest, prehashed)
            else:
                public_key.verify(encoded, digest, ec.ECDSA(prehashed))
            return True
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            r, s = signature.mpis
            if r.bit_length() > 256 or s.bit_length() > 256:
                return False
            # OpenPGP EdDSA signs the digest itself (RFC 4880bis §5.2.4).
            public_key.verify(r.to_bytes(32, "big") + s.to_bytes(32, "big"), digest)
            return True
    except (InvalidSignature, ValueError):
        return False
    return False
