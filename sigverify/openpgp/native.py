"""The in-process backend: the packet reader plus ``cryptography``, judged as GnuPG judges.

Built from a :class:`~sigverify.openpgp.keyring.Keyring`. Which keys are valid, expired, revoked or
signing-capable is taken from the keyring (GnuPG computed it when the keys were loaded); the
public parameters and fingerprints come from each key's own exported material. A verification
then follows GnuPG 2.2's order of checks (g10/sig-check.c, g10/mainproc.c), so both backends
give the same reason for the same blob:

1. structure (:func:`~sigverify.openpgp.packets.read_signed_facts`, which refuses what
   :func:`~sigverify.openpgp.packets.parse_signed_message` refuses);
2. the hashed issuer fingerprint, else the issuer key ID, names a key of the keyring, else
   ``UnknownKey``;
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

from sigverify.core.verdict import Reason, SignatureRejected, Signer, format_key_id
from sigverify.errors import BackendError
from sigverify.openpgp.backend import VerifiedMessage
from sigverify.openpgp.keyring import Keyring, PublicKey
from sigverify.openpgp.keys import KeyFormatError, KeyPacket, parse_key_packets
from sigverify.openpgp.packets import SignedFacts, read_signed_facts

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
_HASHLIB: Final[dict[int, Callable[[bytes], hashlib._Hash]]] = {
    2: hashlib.sha1,
    8: hashlib.sha256,
    9: hashlib.sha384,
    10: hashlib.sha512,
    11: hashlib.sha224,
}
# Built once: these objects are immutable and cost microseconds to make on every call.
_PREHASHED: Final = {algo: utils.Prehashed(factory()) for algo, factory in ACCEPTED_HASHES.items()}
_ECDSA: Final = {algo: ec.ECDSA(prehashed) for algo, prehashed in _PREHASHED.items()}
_PKCS1: Final = padding.PKCS1v15()

#: (signature values as written, hash algorithm ID, digest) -> whether the public-key check
#: passes.
_ValueCheck = Callable[[tuple[bytes, ...], int, bytes], bool]
#: The same, given the signature values as numbers (the certificate reader's form).
_MathCheck = Callable[[tuple[int, ...], int, bytes], bool]


@dataclass(frozen=True)
class _SigningKey:
    """One (sub)key of the keyring with everything a verification needs, decided at load."""

    packet: KeyPacket
    can_sign: bool
    expires: int | None
    revoked: bool
    signer: Signer
    math: _ValueCheck | None


class NativeBackend:
    """Verifies atomic-signature blobs in-process against ``keyring``'s keys."""

    name = "native"

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        # Keyed by the raw octets a signature's issuer subpackets hold.
        self._by_key_id: dict[bytes, list[_SigningKey]] = {}
        self._by_fingerprint: dict[bytes, _SigningKey] = {}
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
            entry = _SigningKey(
                packet=packet,
                can_sign=can_sign,
                expires=effective,
                revoked=revoked or key.revoked,
                signer=Signer(
                    fingerprint=key.fingerprint,
                    key_id=key.key_id,
                    signing_key_fingerprint=packet.fingerprint,
                    user_id=key.primary_user_id,
                ),
                math=_value_check(packet),
            )
            self._by_key_id.setdefault(bytes.fromhex(packet.key_id), []).append(entry)
            self._by_fingerprint[bytes.fromhex(packet.fingerprint)] = entry

    def verify(self, blob: bytes, *, now: datetime) -> VerifiedMessage:
        facts = read_signed_facts(blob)
        epoch = int(now.timestamp())
        # GnuPG 2.2 (getkey.c, get_pubkey_for_sig): the hashed issuer fingerprint first; when
        # it names no key of the keyring, the issuer key ID.
        fingerprint, key_id = facts.issuer_fingerprint, facts.issuer_key_id
        by_fingerprint = self._by_fingerprint.get(fingerprint) if fingerprint is not None else None
        candidates = (
            (by_fingerprint,)
            if by_fingerprint is not None
            else self._by_key_id.get(key_id)
            if key_id is not None
            else None
        )
        if not candidates:
            raise _unknown_key(facts)
        # A 64-bit key ID may (very rarely) name two keys: the one whose math checks wins.
        failure: SignatureRejected | None = None
        for candidate in candidates:
            problem = self._check(facts, candidate, epoch)
            if problem is None:
                return self._judge(facts, candidate, epoch)
            failure = failure or _invalid(problem)
        assert failure is not None
        raise failure

    def _check(self, facts: SignedFacts, key: _SigningKey, now: int) -> str | None:
        """Steps 3 and 4: usability of the key, then the cryptography; what failed, if any."""
        packet = key.packet
        if key.math is None or packet.algorithm != facts.pubkey_algo:
            return f"key {_shown(key)} cannot make this kind of signature"
        if not key.can_sign:
            return f"key {_shown(key)} is not a signing key"
        if packet.created > (facts.creation_time or 0):
            return f"key {_shown(key)} is newer than the signature (time conflict)"
        if packet.created > now:
            return f"key {_shown(key)} was created in the future (time conflict)"
        hash_function = _HASHLIB.get(facts.hash_algo)
        if hash_function is None:
            return f"hash algorithm {facts.hash_algo} is not accepted"
        hasher = hash_function(facts.payload)
        hasher.update(facts.hashed_trailer)
        # The two quick-check bytes are deliberately not consulted: GnuPG 2.2 ignores them
        # when verifying, and the full check below decides anyway.
        if not key.math(facts.values, facts.hash_algo, hasher.digest()):
            return f"bad signature: the blob was altered or not made by {_shown(key)}"
        return None

    def _judge(self, facts: SignedFacts, key: _SigningKey, now: int) -> VerifiedMessage:
        created = facts.creation_time
        # SignaturePacket.expiration_time: none without both times.
        expires_at = (
            created + facts.expiration_seconds
            if facts.expiration_seconds is not None and created is not None
            else None
        )
        if expires_at is not None and expires_at <= now:
            raise SignatureRejected(Reason.SIGNATURE_EXPIRED, "the signature has expired")
        if key.expires is not None and key.expires < now:
            raise SignatureRejected(
                Reason.KEY_EXPIRED, f"signed by key {_shown(key)}, which has expired"
            )
        if key.revoked:
            raise SignatureRejected(
                Reason.KEY_REVOKED, f"signed by key {_shown(key)}, which is revoked"
            )
        return VerifiedMessage(
            facts.payload,
            key.signer,
            datetime.fromtimestamp(created or 0, UTC),
            datetime.fromtimestamp(expires_at, UTC) if expires_at is not None else None,
        )

    def close(self) -> None:
        """Nothing to release: the backend holds no processes or files."""

    def __enter__(self) -> NativeBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _invalid(message: str) -> SignatureRejected:
    return SignatureRejected(Reason.INVALID_SIGNATURE, message)


def _unknown_key(facts: SignedFacts) -> SignatureRejected:
    """No key of the keyring has the issuer's fingerprint or key ID."""
    named = (facts.issuer_key_id or (facts.issuer_fingerprint or b"")[-8:]).hex().upper()
    shown = format_key_id(named) if named else "(no issuer given)"
    return SignatureRejected(
        Reason.UNKNOWN_KEY,
        f"signed by key {shown}, which is not in the policy's keyring",
        key_id=named or None,
    )


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _shown(key: _SigningKey) -> str:
    return format_key_id(key.packet.key_id)


def _math_check(packet: KeyPacket) -> _MathCheck | None:
    """:func:`_value_check` for signature values given as numbers (key certifications)."""
    check = _value_check(packet)
    if check is None:
        return None

    def check_numbers(mpis: tuple[int, ...], hash_algo: int, digest: bytes) -> bool:
        values = tuple(value.to_bytes((value.bit_length() + 7) // 8, "big") for value in mpis)
        return check(values, hash_algo, digest)

    return check_numbers


def _value_check(packet: KeyPacket) -> _ValueCheck | None:
    """The public-key operation for one key (GnuPG: encode_md_value, then pk_verify)."""
    public_key = packet.public_key
    if isinstance(public_key, rsa.RSAPublicKey):
        size = (public_key.key_size + 7) // 8
        modulus = public_key.public_numbers().n.to_bytes(size, "big")
        rsa_key = public_key

        def check_rsa(values: tuple[bytes, ...], hash_algo: int, digest: bytes) -> bool:
            (value,) = values
            if len(value) != size:
                # Leading zero octets dropped, then padded to the modulus's size: the same
                # number (an MPI may be written shorter, or, by a forger, with zeros first).
                value = value.lstrip(b"\0").rjust(size, b"\0")
            # Same-length big-endian strings compare as the numbers they hold: the value must
            # be below the modulus (GnuPG: "bad signature" otherwise).
            if len(value) != size or value >= modulus:
                return False
            try:
                rsa_key.verify(value, digest, _PKCS1, _PREHASHED[hash_algo])
            except (InvalidSignature, ValueError):
                return False
            return True

        return check_rsa
    if isinstance(public_key, dsa.DSAPublicKey | ec.EllipticCurvePublicKey):
        # GnuPG: q (or the curve order) must be a multiple of 8 bits and at least 160, the
        # hash at least that long; longer hashes are truncated (as OpenSSL does).
        qbytes = packet.qbits // 8
        usable = packet.qbits % 8 == 0 and packet.qbits >= 160
        dss_key = public_key

        def check_dss(values: tuple[bytes, ...], hash_algo: int, digest: bytes) -> bool:
            r, s = (int.from_bytes(value, "big") for value in values)
            if not usable or len(digest) < qbytes:
                return False
            encoded = utils.encode_dss_signature(r, s)
            try:
                if isinstance(dss_key, dsa.DSAPublicKey):
                    dss_key.verify(encoded, digest, _PREHASHED[hash_algo])
                else:
                    dss_key.verify(encoded, digest, _ECDSA[hash_algo])
            except (InvalidSignature, ValueError):
                return False
            return True

        return check_dss
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        ed_key = public_key

        def check_eddsa(values: tuple[bytes, ...], hash_algo: int, digest: bytes) -> bool:
            r, s = (int.from_bytes(value, "big") for value in values)
            if r.bit_length() > 256 or s.bit_length() > 256:
                return False
            # OpenPGP EdDSA signs the digest itself (RFC 4880bis §5.2.4).
            try:
                ed_key.verify(r.to_bytes(32, "big") + s.to_bytes(32, "big"), digest)
            except InvalidSignature:
                return False
            return True

        return check_eddsa
    return None
