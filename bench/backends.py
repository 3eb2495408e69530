"""The three contenders, each verifying the same signatures.

* ``gnupg``: :class:`~sigverify.openpgp.gnupg.GnuPGBackend` (one gpg process per blob);
* ``native``: :class:`~sigverify.openpgp.native.NativeBackend` (whole blob: parse,
  inflate, hash, verify, judge);
* ``bare``: the floor any in-process verifier pays, as the shortest correct program would
  pay it: hash the signed bytes (the literal body, then the signature's hashed trailer,
  RFC 4880 §5.2.4) and run ``cryptography``'s public-key verify on that digest with
  signature values already decoded. Parsing, inflating, key lookup and judging are what
  ``native`` adds on top;
* ``verify-only`` (reported beside ``bare``): the public-key verify alone, on a digest
  computed once outside the timed call. Before 2026-11 this was the "bare" baseline; it
  leaves out the hashing every verifier must do.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa, utils

from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.keys import parse_key_packets
from sigverify.openpgp.native import NativeBackend
from sigverify.openpgp.packets import SignedMessage, parse_signed_message

__all__ = ["Sample", "bare_verifier", "time_per_call", "verify_only_verifier"]

_HASHES: dict[int, tuple[Callable[[bytes], hashlib._Hash], Callable[[], hashes.HashAlgorithm]]] = {
    2: (hashlib.sha1, hashes.SHA1),
    8: (hashlib.sha256, hashes.SHA256),
    9: (hashlib.sha384, hashes.SHA384),
    10: (hashlib.sha512, hashes.SHA512),
    11: (hashlib.sha224, hashes.SHA224),
}


@dataclass(frozen=True)
class Sample:
    """One signature blob and the keyring that verifies it."""

    name: str
    blob: bytes
    keyring: Keyring


def _cpu_seconds() -> float:
    """CPU time of this process *and* its reaped children (the gpg processes)."""
    children = os.times()
    # process_time has sub-microsecond resolution; children are only counted in clock ticks,
    # which is plenty for gpg processes that take milliseconds each.
    return time.process_time() + children.children_user + children.children_system


def time_per_call(call: Callable[[], object], iterations: int, *, rounds: int = 5) -> float:
    """CPU seconds per call, best of ``rounds``.

    CPU time (including gpg child processes) rather than wall time: it is what a
    verification costs, and it is far less disturbed by other work on a shared machine.
    """
    best = float("inf")
    for _ in range(rounds):
        start = _cpu_seconds()
        for _ in range(iterations):
            call()
        best = min(best, (_cpu_seconds() - start) / iterations)
    return best


def bare_verifier(sample: Sample) -> Callable[[], None]:
    """A closure hashing ``sample``'s signed bytes and verifying the signature over them."""
    message = parse_signed_message(sample.blob)
    body, trailer = message.literal.body, message.signature.hashed_trailer
    hash_function = _HASHES[message.signature.hash_algo][0]
    check = _public_key_check(sample, message)

    def verify() -> None:
        hasher = hash_function(body)
        hasher.update(trailer)
        check(hasher.digest())

    return verify


def verify_only_verifier(sample: Sample) -> Callable[[], None]:
    """A closure doing only the public-key operation, on a digest computed beforehand."""
    message = parse_signed_message(sample.blob)
    hash_function = _HASHES[message.signature.hash_algo][0]
    digest = hash_function(message.literal.body + message.signature.hashed_trailer).digest()
    check = _public_key_check(sample, message)
    return lambda: check(digest)


def _public_key_check(sample: Sample, message: SignedMessage) -> Callable[[bytes], None]:
    """``cryptography``'s verify of ``message``'s signature values, given the digest."""
    signature = message.signature
    algorithm = _HASHES[signature.hash_algo][1]
    key = next(
        packet.public_key
        for certificate in sample.keyring
        for packet in parse_key_packets(certificate.material)
        if packet.key_id == signature.issuer_key_id
        or packet.fingerprint == signature.issuer_fingerprint
    )
    prehashed = utils.Prehashed(algorithm())
    if isinstance(key, rsa.RSAPublicKey):
        raw = signature.mpis[0].to_bytes((key.key_size + 7) // 8, "big")
        pkcs1 = padding.PKCS1v15()
        return lambda digest: key.verify(raw, digest, pkcs1, prehashed)
    if isinstance(key, ed25519.Ed25519PublicKey):
        r, s = signature.mpis
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return lambda digest: key.verify(raw, digest)
    r, s = signature.mpis
    der = utils.encode_dss_signature(r, s)
    if isinstance(key, ec.EllipticCurvePublicKey):
        ecdsa = ec.ECDSA(prehashed)
        return lambda digest: key.verify(der, digest, ecdsa)
    if isinstance(key, dsa.DSAPublicKey):
        return lambda digest: key.verify(der, digest, prehashed)
    raise ValueError(f"{sample.name}: unsupported key")


def native_verifier(sample: Sample, now: datetime) -> Callable[[], object]:
    backend = NativeBackend(sample.keyring)
    backend.verify(sample.blob, now=now)  # must succeed: a benchmark of rejections is no use
    return lambda: backend.verify(sample.blob, now=now)


def gnupg_verifier(sample: Sample, now: datetime) -> tuple[Callable[[], object], GnuPGBackend]:
    backend = GnuPGBackend(sample.keyring)
    backend.verify(sample.blob, now=now)
    return (lambda: backend.verify(sample.blob, now=now)), backend
