"""Every requirement of a scope judges the image on its own, and the verdict never contradicts
itself: ``trusted`` is true exactly when the reason is ``Trusted`` or ``Accepted``, and no
signature is reported trusted for an image that is not (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigverify.core.policy import (
    ExactReference,
    IdentityRule,
    InsecureAcceptAnything,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    Policy,
    Reject,
    Requirement,
    SignedBy,
)
from sigverify.core.reference import parse_reference
from sigverify.core.verdict import ImageVerdict, Reason
from sigverify.openpgp.backend import SignatureBackend
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.native import NativeBackend
from tests.engine.test_verifier import DIGEST, OTHER_DIGEST, image, sign, verifier_for
from tests.support.budget import examples
from tests.support.fixtures import keyring_of
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec

REFERENCE = f"quay.io/acme/app@{DIGEST}"
GOOD_IDENTITY = "quay.io/acme/app:1.0"
OTHER_IDENTITY = "quay.io/elsewhere/app:1.0"
PASSING = frozenset({Reason.TRUSTED, Reason.ACCEPTED})


@pytest.fixture(scope="module")
def keys(gpg_factory: GpgFactory) -> dict[str, GeneratedKey]:
    return {
        "acme": gpg_factory.key(KeySpec("ed25519", name="acme")),
        "partner": gpg_factory.key(KeySpec("ed25519", name="partner")),
        "stranger": gpg_factory.key(KeySpec("ed25519", name="stranger")),
    }


@pytest.fixture(scope="module")
def keyring(keys: dict[str, GeneratedKey]) -> Keyring:
    return keyring_of(keys["acme"], keys["partner"])


@pytest.fixture(scope="module")
def gnupg(keyring: Keyring) -> Iterator[GnuPGBackend]:
    with GnuPGBackend(keyring) as backend:
        yield backend


def key_id(key: GeneratedKey) -> str:
    return "0x" + key.fingerprint[-16:]


def scope_of(*requirements: Requirement) -> Policy:
    return Policy(default=(Reject(),), scopes={"quay.io/acme": requirements})


def verify(
    backend: SignatureBackend, keyring: Keyring, policy: Policy, *blobs: bytes
) -> ImageVerdict:
    verdict = verifier_for(policy, keyring, backend).verify_image(image(REFERENCE, *blobs))  # type: ignore[arg-type]
    assert_consistent(verdict)
    return verdict


def assert_consistent(verdict: ImageVerdict) -> None:
    """What every verdict must say about itself, whatever the policy and signatures."""
    assert verdict.trusted == (verdict.reason in PASSING), verdict
    assert verdict.trusted == all(r.satisfied for r in verdict.requirements)
    opening = f"{verdict.reference} is {'not ' if not verdict.trusted else ''}"
    assert verdict.message.startswith(opening), verdict.message
    for signature in verdict.signatures:
        assert signature.trusted == (signature.reason is Reason.TRUSTED), signature
        assert verdict.trusted or not signature.trusted, signature


# -- two signedBy requirements: acme AND partner -------------------------------------------


def test_one_of_two_required_signers_is_not_trusted_and_names_the_unmet_requirement(
    gpg_factory: GpgFactory,
    keys: dict[str, GeneratedKey],
    keyring: Keyring,
    gnupg: GnuPGBackend,
) -> None:
    acme, partner = keys["acme"], keys["partner"]
    policy = scope_of(
        SignedBy(frozenset({acme.fingerprint})), SignedBy(frozenset({partner.fingerprint}))
    )
    verdict = verify(gnupg, keyring, policy, sign(gpg_factory, acme, GOOD_IDENTITY))
    assert (verdict.trusted, verdict.reason) == (False, Reason.UNTRUSTED_KEY)
    unmet = f"signedBy {key_id(partner)} (matchRepoDigestOrExact)"
    assert verdict.message.startswith(
        f"{REFERENCE} is not trusted (scope quay.io/acme): {unmet}: "
        "no accepted signature by this key; None of the signatures were accepted, reasons: "
    )
    assert verdict.message.endswith(
        f"signed by {key_id(acme)} ({acme.user_id}), a key this requirement does not trust"
    )
    assert "accepted by" not in verdict.message
    assert [(r.requirement, r.satisfied) for r in verdict.requirements] == [
        (f"signedBy {key_id(acme)} (matchRepoDigestOrExact)", True),
        (unmet, False),
    ]
    # The signature passed acme's requirement, but it does not make the image trusted.
    [signature] = verdict.signatures
    assert (signature.trusted, signature.for_image, signature.reason) == (
        False,
        True,
        Reason.UNTRUSTED_KEY,
    )
    assert signature.requirement == f"signedBy {key_id(acme)} (matchRepoDigestOrExact)"
    assert f"; but the image also needs {unmet}: " in signature.message


def test_both_required_signers_make_it_trusted(
    gpg_factory: GpgFactory,
    keys: dict[str, GeneratedKey],
    keyring: Keyring,
    gnupg: GnuPGBackend,
) -> None:
    acme, partner = keys["acme"], keys["partner"]
    policy = scope_of(
        SignedBy(frozenset({acme.fingerprint})), SignedBy(frozenset({partner.fingerprint}))
    )
    verdict = verify(
        gnupg,
        keyring,
        policy,
        sign(gpg_factory, acme, GOOD_IDENTITY),
        sign(gpg_factory, partner, GOOD_IDENTITY),
    )
    assert (verdict.trusted, verdict.reason) == (True, Reason.TRUSTED)
    assert [s.reason for s in verdict.signatures] == [Reason.TRUSTED, Reason.TRUSTED]
    assert verdict.message == (
        f"{REFERENCE} is trusted (scope quay.io/acme): signed by {key_id(acme)}; "
        f"signed by {key_id(partner)}"
    )


def test_the_unmet_requirement_reports_its_own_best_failing_signature(
    gpg_factory: GpgFactory,
    keys: dict[str, GeneratedKey],
    keyring: Keyring,
    gnupg: GnuPGBackend,
) -> None:
    acme, partner = keys["acme"], keys["partner"]
    policy = scope_of(
        SignedBy(frozenset({acme.fingerprint})), SignedBy(frozenset({partner.fingerprint}))
    )
    verdict = verify(
        gnupg,
        keyring,
        policy,
        sign(gpg_factory, acme, GOOD_IDENTITY),
        sign(gpg_factory, partner, OTHER_IDENTITY),
    )
    # For partner's requirement, acme's signature is an untrusted key (progress 5) and
    # partner's own names the wrong identity (progress 7): the latter is the reason.
    assert (verdict.trusted, verdict.reason) == (False, Reason.IDENTITY_MISMATCH)
    assert (
        f"signed by {key_id(partner)} ({partner.user_id}) for {OTHER_IDENTITY}, which "
        f"matchRepoDigestOrExact does not accept for {REFERENCE}"
    ) in verdict.message
    assert [(s.trusted, s.reason) for s in verdict.signatures] == [
        (False, Reason.UNTRUSTED_KEY),
        (False, Reason.IDENTITY_MISMATCH),
    ]


def test_a_digest_mismatch_against_the_unmet_requirement(
    gpg_factory: GpgFactory,
    keys: dict[str, GeneratedKey],
    keyring: Keyring,
    gnupg: GnuPGBackend,
) -> None:
    acme, partner = keys["acme"], keys["partner"]
    policy = scope_of(
        SignedBy(frozenset({acme.fingerprint})), SignedBy(frozenset({partner.fingerprint}))
    )
    verdict = verify(
        gnupg,
        keyring,
        policy,
        sign(gpg_factory, acme, GOOD_IDENTITY),
        sign(gpg_factory, partner, GOOD_IDENTITY, digest=OTHER_DIGEST),
    )
    assert (verdict.trusted, verdict.reason) == (False, Reason.DIGEST_MISMATCH)
    assert (
        f"signed by {key_id(partner)} ({partner.user_id}) for manifest {OTHER_DIGEST}, "
        f"not for this image {DIGEST}"
    ) in verdict.message


def test_same_key_under_two_identity_rules(
    gpg_factory: GpgFactory,
    keys: dict[str, GeneratedKey],
    keyring: Keyring,
    gnupg: GnuPGBackend,
) -> None:
    acme = keys["acme"]
    pinned = ExactReference(parse_reference("quay.io/acme/app:2.0"))
    only_acme = frozenset({acme.fingerprint})
    policy = scope_of(SignedBy(only_acme), SignedBy(only_acme, pinned))
    verdict = verify(gnupg, keyring, policy, sign(gpg_factory, acme, GOOD_IDENTITY))
    assert (verdict.trusted, verdict.reason) == (False, Reason.IDENTITY_MISMATCH)
    assert (
        f"(scope quay.io/acme): signedBy {key_id(acme)} (exactReference quay.io/acme/app:2.0): "
        "no accepted signature by this key;"
    ) in verdict.message
    [signature] = verdict.signatures
    assert (signature.trusted, signature.reason) == (False, Reason.IDENTITY_MISMATCH)


def test_not_enough_signers_names_the_requirement_and_the_lone_signer(
    gpg_factory: GpgFactory,
    keys: dict[str, GeneratedKey],
    keyring: Keyring,
    gnupg: GnuPGBackend,
) -> None:
    acme, partner = keys["acme"], keys["partner"]
    quorum = SignedBy(frozenset({acme.fingerprint, partner.fingerprint}), min_signers=2)
    verdict = verify(gnupg, keyring, scope_of(quorum), sign(gpg_factory, acme, GOOD_IDENTITY))
    assert (verdict.trusted, verdict.reason) == (False, Reason.NOT_ENOUGH_SIGNERS)
    found = f"2 distinct trusted signers are required, found 1: {key_id(acme)}"
    assert verdict.message == (
        f"{REFERENCE} is not trusted (scope quay.io/acme): {quorum.describe()}: {found}"
    )
    [signature] = verdict.signatures
    assert (signature.trusted, signature.reason) == (False, Reason.NOT_ENOUGH_SIGNERS)
    assert signature.message.endswith(f"; but the image also needs {quorum.describe()}: {found}")


def test_a_requirement_of_several_keys_says_so(
    gpg_factory: GpgFactory,
    keys: dict[str, GeneratedKey],
    keyring: Keyring,
    gnupg: GnuPGBackend,
) -> None:
    either = SignedBy(frozenset({keys["acme"].fingerprint, keys["partner"].fingerprint}))
    blob = sign(gpg_factory, keys["stranger"], GOOD_IDENTITY)
    verdict = verify(gnupg, keyring, scope_of(either), blob)
    assert (verdict.trusted, verdict.reason) == (False, Reason.UNKNOWN_KEY)
    assert f"{either.describe()}: no accepted signature by any of these keys; " in verdict.message


# -- the invariant over generated policies and signature sets ------------------------------

# (signer, digest, identity) of each blob in the pool; "garbage" is not a signature at all.
_BLOBS = [
    (signer, digest, identity)
    for signer in ("acme", "partner", "stranger")
    for digest in (DIGEST, OTHER_DIGEST)
    for identity in (GOOD_IDENTITY, OTHER_IDENTITY)
]
# Which signed identities each rule accepts for REFERENCE (by digest), worked out by hand
# from containers-policy.json(5) rather than with the rules' own code.
_ACCEPTS = {
    "matchRepoDigestOrExact": {GOOD_IDENTITY},
    "matchExact": set(),  # the image is named by digest, the signatures by tag
    "matchRepository": {GOOD_IDENTITY},
    "exactReference": {OTHER_IDENTITY},
}
_RULES: dict[str, IdentityRule] = {
    "matchRepoDigestOrExact": MatchRepoDigestOrExact(),
    "matchExact": MatchExact(),
    "matchRepository": MatchRepository(),
    "exactReference": ExactReference(parse_reference(OTHER_IDENTITY)),
}
_KEY_SETS = (("acme",), ("partner",), ("acme", "partner"))


@dataclass(frozen=True)
class _Spec:
    """A requirement to build, and what it should decide, independently of the engine."""

    kind: str
    keys: tuple[str, ...] = ()
    rule: str = ""
    min_signers: int = 1

    def build(self, keys: dict[str, GeneratedKey]) -> Requirement:
        if self.kind == "insecureAcceptAnything":
            return InsecureAcceptAnything()
        if self.kind == "reject":
            return Reject()
        fingerprints = frozenset(keys[name].fingerprint for name in self.keys)
        return SignedBy(fingerprints, _RULES[self.rule], self.min_signers)

    def accepts(self, chosen: list[int]) -> bool:
        """containers/image's answer for this requirement, from how the blobs were made."""
        if self.kind != "signedBy":
            return self.kind == "insecureAcceptAnything"
        signers = {
            _BLOBS[i][0]
            for i in chosen
            if i < len(_BLOBS)
            and _BLOBS[i][0] in self.keys
            and _BLOBS[i][1] == DIGEST
            and _BLOBS[i][2] in _ACCEPTS[self.rule]
        }
        return len(signers) >= self.min_signers


_SPECS = st.one_of(
    st.builds(_Spec, st.sampled_from(["insecureAcceptAnything", "reject"])),
    st.builds(
        lambda keys, rule, minimum: _Spec("signedBy", keys, rule, min(minimum, len(keys))),
        st.sampled_from(_KEY_SETS),
        st.sampled_from(sorted(_RULES)),
        st.integers(min_value=1, max_value=2),
    ),
)


@pytest.fixture(scope="module")
def pool(gpg_factory: GpgFactory, keys: dict[str, GeneratedKey]) -> list[bytes]:
    blobs = [sign(gpg_factory, keys[s], identity, digest=d) for s, d, identity in _BLOBS]
    return [*blobs, b"garbage"]


@pytest.fixture(scope="module")
def native(keyring: Keyring) -> NativeBackend:
    return NativeBackend(keyring)


@pytest.mark.slow
@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    specs=st.lists(_SPECS, min_size=1, max_size=3),
    chosen=st.lists(st.integers(min_value=0, max_value=len(_BLOBS)), max_size=4),
)
def test_the_verdict_never_contradicts_itself(
    specs: list[_Spec],
    chosen: list[int],
    keys: dict[str, GeneratedKey],
    keyring: Keyring,
    native: NativeBackend,
    pool: list[bytes],
) -> None:
    policy = scope_of(*(spec.build(keys) for spec in specs))
    verdict = verify(native, keyring, policy, *(pool[i] for i in chosen))
    expected = [spec.accepts(chosen) for spec in specs]
    assert [r.satisfied for r in verdict.requirements] == expected
    assert verdict.trusted == all(expected)
