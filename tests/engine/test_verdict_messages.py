"""Every field and message of a verdict, exactly: what the faces render and what conditions
record (mutation testing found words, requirement names and flags that nothing pinned)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from sigverify.core.policy import (
    ExactReference,
    InsecureAcceptAnything,
    MatchRepoDigestOrExact,
    Policy,
    Reject,
    SignedBy,
    Unsupported,
)
from sigverify.core.reference import parse_reference
from sigverify.core.verdict import ImageVerdict, Reason, RequirementResult, SignatureRejected
from sigverify.engine.verifier import Verifier
from sigverify.errors import InputError
from sigverify.objects.types import Image
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.native import NativeBackend
from tests.engine.test_verifier import DIGEST, OTHER_DIGEST, image, sign, verifier_for
from tests.support.fixtures import keyring_of
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec

REFERENCE = f"quay.io/acme/app@{DIGEST}"
IDENTITY = "quay.io/acme/app:1.0"


@pytest.fixture(scope="module")
def acme(gpg_factory: GpgFactory) -> GeneratedKey:
    return gpg_factory.key(KeySpec("ed25519", name="acme"))


@pytest.fixture(scope="module")
def keyring(acme: GeneratedKey) -> Keyring:
    return keyring_of(acme)


def key_id(key: GeneratedKey) -> str:
    return "0x" + key.key_id.upper()


def who(key: GeneratedKey) -> str:
    return f"{key_id(key)} ({key.user_id})"


def verify(keyring: Keyring, *requirements: object, img: Image) -> ImageVerdict:
    policy = Policy(default=(Reject(),), scopes={"quay.io/acme": requirements})  # type: ignore[dict-item]
    verifier = verifier_for(policy, keyring, NativeBackend(keyring))  # type: ignore[arg-type]
    return verifier.verify_image(img)


def acme_signed_by(acme: GeneratedKey, rule: object = None) -> SignedBy:
    return SignedBy(frozenset({acme.fingerprint}), rule or MatchRepoDigestOrExact())  # type: ignore[arg-type]


# -- the image -----------------------------------------------------------------------------------


def test_accepted_without_signatures(keyring: Keyring) -> None:
    verdict = verify(keyring, InsecureAcceptAnything(), img=image(REFERENCE))
    assert (verdict.trusted, verdict.reason, verdict.message) == (
        True,
        Reason.ACCEPTED,
        f"{REFERENCE} is accepted without signatures (scope quay.io/acme: insecureAcceptAnything)",
    )
    assert verdict.requirements == (
        RequirementResult("insecureAcceptAnything", True, "accepts any image"),
    )


def test_rejected_unsupported_and_unsigned(keyring: Keyring, acme: GeneratedKey) -> None:
    unsupported = Unsupported("sigstoreSigned", "sigstore signatures are not verified")
    verdict = verify(keyring, Reject(), unsupported, acme_signed_by(acme), img=image(REFERENCE))
    assert verdict.requirements == (
        RequirementResult("reject", False, "rejects every image"),
        RequirementResult(
            "sigstoreSigned (not supported by sigverify: rejects every image)",
            False,
            "sigstore signatures are not verified",
        ),
        RequirementResult(
            f"signedBy {key_id(acme)} (matchRepoDigestOrExact)",
            False,
            "A signature was required, but no signature exists",
        ),
    )
    assert all(r.satisfied is False for r in verdict.requirements)
    # The first unmet requirement speaks; only a signedBy that saw signatures names itself.
    assert (verdict.reason, verdict.message) == (
        Reason.REJECTED,
        f"{REFERENCE} is not trusted (scope quay.io/acme): rejects every image",
    )
    unsigned = verify(keyring, acme_signed_by(acme), img=image(REFERENCE))
    assert unsigned.message == (
        f"{REFERENCE} is not trusted (scope quay.io/acme): A signature was required, but no "
        "signature exists"
    )


def test_trusted_message(gpg_factory: GpgFactory, keyring: Keyring, acme: GeneratedKey) -> None:
    verdict = verify(
        keyring, acme_signed_by(acme), img=image(REFERENCE, sign(gpg_factory, acme, IDENTITY))
    )
    [signature] = verdict.signatures
    assert signature.message == (
        f"signed by {who(acme)} for {IDENTITY}; accepted by signedBy {key_id(acme)} "
        "(matchRepoDigestOrExact) in scope quay.io/acme"
    )
    assert signature.signature_created is not None
    assert (
        verdict.message == f"{REFERENCE} is trusted (scope quay.io/acme): signed by {key_id(acme)}"
    )


def test_not_enough_signers_is_unsatisfied(
    gpg_factory: GpgFactory, keyring: Keyring, acme: GeneratedKey, gpg_other: GeneratedKey
) -> None:
    ring = keyring_of(acme, gpg_other)
    quorum = SignedBy(frozenset({acme.fingerprint, gpg_other.fingerprint}), min_signers=2)
    verdict = verify(ring, quorum, img=image(REFERENCE, sign(gpg_factory, acme, IDENTITY)))
    [result] = verdict.requirements
    assert result.satisfied is False


@pytest.fixture(scope="module")
def gpg_other(gpg_factory: GpgFactory) -> GeneratedKey:
    return gpg_factory.key(KeySpec("ed25519", name="partner"))


def test_every_signature_is_named_in_the_requirements_reasons(
    gpg_factory: GpgFactory, keyring: Keyring, acme: GeneratedKey
) -> None:
    other = sign(gpg_factory, acme, "quay.io/acme/other:1")
    verdict = verify(keyring, acme_signed_by(acme), img=image(REFERENCE, b"garbage", other))
    first, second = verdict.signatures
    assert verdict.requirements[0].message == (
        f"None of the signatures were accepted, reasons: {first.name}: {first.message}; "
        f"{second.name}: {second.message}"
    )


# -- one signature -------------------------------------------------------------------------------


def test_a_signature_of_another_type(keyring: Keyring, acme: GeneratedKey) -> None:
    verdict = verify(keyring, acme_signed_by(acme), img=image(REFERENCE, b"x", types=("cosign",)))
    [signature] = verdict.signatures
    assert (signature.name, signature.trusted, signature.for_image, signature.reason) == (
        f"{DIGEST}@sig0",
        False,
        False,
        Reason.UNSUPPORTED_TYPE,
    )
    assert signature.for_image is False
    assert signature.message == "signature type 'cosign' is not an atomic container signature"


def test_a_blob_the_backend_refuses(keyring: Keyring, acme: GeneratedKey) -> None:
    [signature] = verify(keyring, acme_signed_by(acme), img=image(REFERENCE, b"garbage")).signatures
    assert (signature.name, signature.reason, signature.for_image) == (
        f"{DIGEST}@sig0",
        Reason.INVALID_SIGNATURE,
        False,
    )
    with pytest.raises(SignatureRejected) as caught:  # the backend's own words are kept
        NativeBackend(keyring).verify(b"garbage", now=datetime.now(UTC))
    assert signature.message == str(caught.value)


def test_an_invalid_payload_keeps_the_signing_time(
    gpg_factory: GpgFactory, keyring: Keyring, acme: GeneratedKey
) -> None:
    blob = gpg_factory.sign(acme, b'{"critical": {}, "optional": {}}')
    [signature] = verify(keyring, acme_signed_by(acme), img=image(REFERENCE, blob)).signatures
    assert signature.reason is Reason.INVALID_PAYLOAD
    assert signature.signature_created is not None
    assert signature.message.startswith(
        f"signed by {who(acme)}, but the signed payload is invalid: "
    )


def test_rejected_and_identity_messages(
    gpg_factory: GpgFactory, keyring: Keyring, acme: GeneratedKey
) -> None:
    blob = sign(gpg_factory, acme, "quay.io/acme/other:1")
    [rejected] = verify(keyring, Reject(), img=image(REFERENCE, blob)).signatures
    assert rejected.message == (
        f"the policy for quay.io/acme rejects every image; signed by {who(acme)}"
    )
    pinned = ExactReference(parse_reference("quay.io/acme/app:9"))
    [mismatch] = verify(
        keyring, acme_signed_by(acme), acme_signed_by(acme, pinned), img=image(REFERENCE, blob)
    ).signatures
    assert mismatch.message == (
        f"signed by {who(acme)} for quay.io/acme/other:1, which exactReference "
        f"quay.io/acme/app:9 or matchRepoDigestOrExact does not accept for {REFERENCE}"
    )


def test_a_signer_without_a_user_id_is_named_by_key_id(
    gpg_factory: GpgFactory, keyring: Keyring, acme: GeneratedKey
) -> None:
    [public] = keyring
    anonymous = Keyring([replace(public, user_ids=())])
    blob = sign(gpg_factory, acme, IDENTITY, digest=OTHER_DIGEST)
    [signature] = verify(anonymous, acme_signed_by(acme), img=image(REFERENCE, blob)).signatures
    assert signature.message == (
        f"signed by {key_id(acme)} for manifest {OTHER_DIGEST}, not for this image {DIGEST}"
    )


# -- input errors and the revision -------------------------------------------------------------


def test_input_errors_name_the_field(keyring: Keyring, acme: GeneratedKey) -> None:
    policy = Policy(default=(Reject(),), scopes={})
    verifier = verifier_for(policy, keyring, NativeBackend(keyring))  # type: ignore[arg-type]
    with pytest.raises(InputError) as missing:
        verifier.verify_image(image(None))
    assert str(missing.value) == (
        "the Image has no dockerImageReference; give the expected identity "
        "(--expected-identity) to choose the policy scope"
    )
    with pytest.raises(InputError) as flag:
        verifier.verify_image(image(REFERENCE), expected_identity="Not A Ref")
    assert str(flag.value).startswith(
        "--expected-identity: 'Not A Ref' is not a valid image reference: "
    )
    with pytest.raises(InputError) as field:
        verifier.verify_image(image("Not A Ref"))
    assert str(field.value).startswith(
        "dockerImageReference: 'Not A Ref' is not a valid image reference: "
    )


def test_revision_names_policy_and_backend(keyring: Keyring) -> None:
    verifier = Verifier(
        Policy(default=(Reject(),), scopes={}), NativeBackend(keyring), revision="r7"
    )
    assert verifier.revision == "r7:native"


def test_a_reference_pinned_to_another_digest_rewrites_only_trusted_signatures(
    gpg_factory: GpgFactory, keyring: Keyring, acme: GeneratedKey
) -> None:
    good = sign(gpg_factory, acme, IDENTITY)
    policy = Policy(default=(Reject(),), scopes={"quay.io/acme": (acme_signed_by(acme),)})
    verifier = verifier_for(policy, keyring, NativeBackend(keyring))  # type: ignore[arg-type]
    verdict = verifier.verify_image(
        image(REFERENCE, b"garbage", good), expected_identity=f"quay.io/acme/app@{OTHER_DIGEST}"
    )
    assert (verdict.trusted, verdict.reason) == (False, Reason.DIGEST_MISMATCH)
    untouched, rewritten = verdict.signatures
    assert (untouched.reason, untouched.message.endswith("not this image " + DIGEST)) == (
        Reason.INVALID_SIGNATURE,
        False,
    )
    assert (rewritten.trusted, rewritten.for_image, rewritten.reason) == (
        False,
        False,
        Reason.DIGEST_MISMATCH,
    )
