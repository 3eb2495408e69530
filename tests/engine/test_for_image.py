"""``forImage`` (what becomes the ``ForImage`` condition): the signature claims this image's
digest and an identity the scope's rules accept, whether or not its key is trusted.

For a key the scope trusts, the identity rules are those of the signedBy requirements that
trust it; for any other key, those of every signedBy of the scope (a scope without one uses
matchRepoDigestOrExact).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sigverify.core.conditions import apply_verdict
from sigverify.core.policy import (
    ExactReference,
    MatchRepoDigestOrExact,
    MatchRepository,
    Policy,
    Reject,
    Requirement,
    SignedBy,
)
from sigverify.core.reference import parse_reference
from sigverify.core.verdict import Reason, SignatureVerdict
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring
from tests.engine.test_verifier import DIGEST, OTHER_DIGEST, image, sign, verifier_for
from tests.support.fixtures import keyring_of
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec

BY_TAG = "quay.io/acme/app:1.0"  # the image reference: matchRepoDigestOrExact wants this tag


@pytest.fixture(scope="module")
def keys(gpg_factory: GpgFactory) -> dict[str, GeneratedKey]:
    return {
        "acme": gpg_factory.key(KeySpec("ed25519", name="acme")),
        "partner": gpg_factory.key(KeySpec("ed25519", name="partner")),
    }


@pytest.fixture(scope="module")
def keyring(keys: dict[str, GeneratedKey]) -> Keyring:
    return keyring_of(keys["acme"], keys["partner"])


@pytest.fixture(scope="module")
def backend(keyring: Keyring) -> Iterator[GnuPGBackend]:
    with GnuPGBackend(keyring) as gnupg:
        yield gnupg


def judged(
    keyring: Keyring,
    backend: GnuPGBackend,
    requirements: tuple[Requirement, ...],
    blob: bytes,
    reference: str = BY_TAG,
) -> SignatureVerdict:
    policy = Policy(default=(Reject(),), scopes={"quay.io/acme": requirements})
    [verdict] = (
        verifier_for(policy, keyring, backend).verify_image(image(reference, blob)).signatures
    )
    return verdict


def acme_only(keys: dict[str, GeneratedKey], rule: object) -> tuple[Requirement, ...]:
    return (SignedBy(frozenset({keys["acme"].fingerprint}), rule),)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "signed", "for_image"),
    [
        (MatchRepository(), "quay.io/acme/app:2.0", True),  # same repository, other tag
        (MatchRepository(), "quay.io/acme/other:1.0", False),
        (MatchRepoDigestOrExact(), "quay.io/acme/app:2.0", False),  # by tag: exact only
        (MatchRepoDigestOrExact(), BY_TAG, True),
    ],
    ids=["matchRepository-same-repo", "matchRepository-other", "exact-other-tag", "exact-tag"],
)
def test_untrusted_key_is_judged_by_every_signed_by_of_the_scope(
    gpg_factory: GpgFactory,
    keys: dict[str, GeneratedKey],
    keyring: Keyring,
    backend: GnuPGBackend,
    rule: object,
    signed: str,
    for_image: bool,
) -> None:
    blob = sign(gpg_factory, keys["partner"], signed)
    verdict = judged(keyring, backend, acme_only(keys, rule), blob)
    assert (verdict.trusted, verdict.reason) == (False, Reason.UNTRUSTED_KEY)
    assert (verdict.for_image, verdict.identity_matches, verdict.digest_matches) == (
        for_image,
        for_image,
        True,
    )


def test_trusted_key_under_match_repository(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:2.0")
    verdict = judged(keyring, backend, acme_only(keys, MatchRepository()), blob)
    assert (verdict.trusted, verdict.for_image, verdict.reason) == (True, True, Reason.TRUSTED)
    assert verdict.requirement == f"signedBy 0x{keys['acme'].key_id} (matchRepository)"


def test_a_trusted_key_uses_only_the_rules_that_trust_it(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    # partner's rule (matchRepository) would accept app:2.0; acme's (exact tag) does not.
    requirements = (
        SignedBy(frozenset({keys["acme"].fingerprint}), MatchRepoDigestOrExact()),
        SignedBy(frozenset({keys["partner"].fingerprint}), MatchRepository()),
    )
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:2.0")
    verdict = judged(keyring, backend, requirements, blob)
    assert (verdict.for_image, verdict.reason) == (False, Reason.IDENTITY_MISMATCH)


def test_an_untrusted_key_may_match_any_signed_by(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    pinned = ExactReference(parse_reference("quay.io/acme/app:9"))
    requirements = (
        SignedBy(frozenset({keys["acme"].fingerprint}), MatchRepoDigestOrExact()),
        SignedBy(frozenset({keys["acme"].fingerprint}), pinned),
    )
    stranger_blob = sign(gpg_factory, keys["partner"], "quay.io/acme/app:9")
    verdict = judged(keyring, backend, requirements, stranger_blob)
    assert (verdict.for_image, verdict.reason) == (True, Reason.UNTRUSTED_KEY)


def test_a_scope_without_signed_by_uses_match_repo_digest_or_exact(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    exact = sign(gpg_factory, keys["acme"], BY_TAG)
    other = sign(gpg_factory, keys["acme"], "quay.io/acme/app:2.0")
    first = judged(keyring, backend, (Reject(),), exact)
    second = judged(keyring, backend, (Reject(),), other)
    assert (first.reason, first.for_image) == (Reason.REJECTED, True)
    assert (second.reason, second.for_image) == (Reason.REJECTED, False)


def test_another_digest_is_never_for_this_image(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    blob = sign(gpg_factory, keys["partner"], "quay.io/acme/app:2.0", digest=OTHER_DIGEST)
    verdict = judged(keyring, backend, acme_only(keys, MatchRepository()), blob)
    assert (verdict.identity_matches, verdict.digest_matches, verdict.for_image) == (
        True,
        False,
        False,
    )


def test_written_for_image_condition_of_an_untrusted_key(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    policy = Policy(
        default=(Reject(),), scopes={"quay.io/acme": acme_only(keys, MatchRepository())}
    )
    img = image(BY_TAG, sign(gpg_factory, keys["partner"], "quay.io/acme/app:2.0"))
    verdict = verifier_for(policy, keyring, backend).verify_image(img)
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    [signature] = apply_verdict(img, verdict, now).signatures
    trusted, for_image = signature.conditions
    assert (trusted.type, trusted.status, trusted.reason) == ("Trusted", "False", "UntrustedKey")
    assert (for_image.type, for_image.status, for_image.reason, for_image.message) == (
        "ForImage",
        "True",
        "ForImage",
        f"signature claims {DIGEST} and identity quay.io/acme/app:2.0",
    )
