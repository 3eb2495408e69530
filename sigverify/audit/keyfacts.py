"""The facts of a loaded policy's keys, for the audit report's KEYS table.

Read from what the policy loaded (:class:`~sigverify.policyfile.loader.LoadedPolicy`): each
key's creation, expiry and revocation as GnuPG judged them at load
(:class:`~sigverify.openpgp.keyring.PublicKey`), its size from its own key packet
(:mod:`sigverify.openpgp.keys`), and the scopes whose ``signedBy`` names it. The report
module stays pure: these facts are handed to it.
"""

from __future__ import annotations

from sigverify.audit.report import KeyFacts, SubkeyFacts
from sigverify.core.policy import (
    DEFAULT_SCOPE,
    Policy,
    Reject,
    Requirement,
    SignedBy,
    Unsupported,
)
from sigverify.core.verdict import format_key_id
from sigverify.openpgp.keyring import Keyring, PublicKey
from sigverify.openpgp.keys import KeyFormatError, key_bits, parse_key_packets, user_id_packets

__all__ = ["ALGORITHMS", "key_facts"]

#: RFC 4880 §9.1 public-key algorithm names (RFC 6637, RFC 4880bis for 18, 19, 22).
ALGORITHMS = {
    1: "RSA",
    2: "RSA",  # encrypt-only
    3: "RSA",  # sign-only
    16: "ElGamal",
    17: "DSA",
    18: "ECDH",
    19: "ECDSA",
    22: "EdDSA",
}


def _trusting_scopes(policy: Policy) -> dict[str, list[str]]:
    """Fingerprint → the scopes (``default`` included) one of whose signedBy names it.

    A scope that also has a ``reject`` (or a requirement sigverify cannot evaluate) admits
    nothing, so it trusts no key, whatever its signedBy names."""
    lists: list[tuple[str, tuple[Requirement, ...]]] = [
        (DEFAULT_SCOPE, policy.default),
        *policy.scopes.items(),
    ]
    found: dict[str, list[str]] = {}
    for scope, requirements in lists:
        if any(isinstance(requirement, Reject | Unsupported) for requirement in requirements):
            continue
        for fingerprint in {
            fingerprint
            for requirement in requirements
            if isinstance(requirement, SignedBy)
            for fingerprint in requirement.fingerprints
        }:
            found.setdefault(fingerprint, []).append(scope)
    return found


def _algorithm(number: int) -> str:
    return ALGORITHMS.get(number, f"algorithm {number}")


def _facts(key: PublicKey, scopes: list[str]) -> KeyFacts:
    bits: dict[str, int | None] = {}
    user_ids = key.user_ids
    try:
        bits = {p.fingerprint: key_bits(p) for p in parse_key_packets(key.material)}
        if not user_ids:
            # GnuPG lists no user ID of a revoked key as valid: name it by what it carries.
            user_ids = tuple(user_id_packets(key.material))
    except KeyFormatError:
        pass  # the key loaded (GnuPG read it): only its size stays unknown
    subkeys = tuple(
        SubkeyFacts(
            fingerprint=sub.fingerprint,
            public_key_id=format_key_id(sub.key_id),
            algorithm=_algorithm(sub.algorithm),
            bits=bits.get(sub.fingerprint),
            created=sub.created,
            expires=sub.expires,
            revoked=sub.revoked,
            can_sign=sub.can_sign,
        )
        for sub in key.subkeys
    )
    return KeyFacts(
        fingerprint=key.fingerprint,
        public_key_id=key.public_key_id,
        user_ids=user_ids,
        algorithm=_algorithm(key.algorithm),
        bits=bits.get(key.fingerprint),
        created=key.created,
        expires=key.expires,
        revoked=key.revoked,
        scopes=tuple(sorted(scopes)),
        subkeys=subkeys,
    )


def key_facts(policy: Policy, keyring: Keyring) -> tuple[KeyFacts, ...]:
    """The facts of every key of ``keyring`` (the keys the policy loaded)."""
    scopes = _trusting_scopes(policy)
    return tuple(_facts(key, scopes.get(key.fingerprint, [])) for key in keyring)
