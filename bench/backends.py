"""The three contenders, each verifying the same signatures.

* ``gnupg``: :class:`~sigverify.openpgp.gnupg.GnuPGBackend` (one gpg process per blob);
* ``native``: :class:`~sigverify.openpgp.native.NativeBackend` (whole blob: parse,
  inflate, hash, verify, judge);
* ``bare``: only ``cryptography``'s public-key verify of the already computed digest and
  signature values: the floor any in-process verifier pays.
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

from sigverify.keyring import Keyring
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keys import parse_key_packets
from sigverify.openpgp.native import NativeBackend
from sigverify.openpgp.packets import parse_signed_message

__all__ = ["Sample", "bare_verifier", "time_per_call"]

_HASHES: dict[int, tuple[str, Callable[[], hashes.HashAlgorithm]]] = {
    2: ("sha1", hashes.SHA1),
    8: ("sha256", hashes.SHA256),
    9: ("sha384", hashes.SHA384),
    10: ("sha512", hashes.SHA512),
    11: ("sha224", hashes.SHA224),
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
    """A closure doing only the public-key operation for ``sample``'s signature."""
    message = parse_signed_message(sample.blob)
    signature = message.signature
    name, algorithm = _HASHES[signature.hash_algo]
    digest = hashlib.new(name, message.literal.body + signature.hashed_trailer).digest()
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
        return lambda: key.verify(raw, digest, padding.PKCS1v15(), prehashed)
    if isinstance(key, ed25519.Ed25519PublicKey):
        r, s = signature.mpis
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return lambda: key.verify(raw, digest)
    r, s = signature.mpis
    der = utils.encode_dss_signature(r, s)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return lambda: key.verify(der, digest, ec.ECDSA(prehashed))
    if isinstance(key, dsa.DSAPublicKey):
        return lambda: key.verify(der, digest, prehashed)
    raise ValueError(f"{sample.name}: unsupported key")


def native_verifier(sample: Sample, now: datetime) -> Callable[[], object]:
    backend = NativeBackend(sample.keyring)
    backend.verify(sample.blob, now=now)  # must succeed: a benchmark of rejections is no use
    return lambda: backend.verify(sample.blob, now=now)


def gnupg_verifier(sample: Sample, now: datetime) -> tuple[Callable[[], object], GnuPGBackend]:
    backend = GnuPGBackend(sample.keyring)
    backend.verify(sample.blob, now=now)
    return (lambda: backend.verify(sample.blob, now=now)), backend
