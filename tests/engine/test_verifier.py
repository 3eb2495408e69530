"""The engine's decisions, end to end with real gpg: one test per reason a user can see."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sigverify.core.policy import (
    InsecureAcceptAnything,
    MatchExact,
    MatchRepoDigestOrExact,
    Policy,
    Reject,
    SignedBy,
    Unsupported,
)
from sigverify.core.verdict import Reason
from sigverify.engine.verifier import Verifier
from sigverify.errors import InputError, UntrustedImage
from sigverify.objects.documents import load_document
from sigverify.objects.types import Image
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring
from tests.support.fixtures import keyring_of
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec, atomic_payload

DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32


def now() -> datetime:
    # The real clock: keys and signatures are made during the run, and gpg refuses a key or
    # signature "created in the future" of the verification time.
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def keys(gpg_factory: GpgFactory) -> dict[str, GeneratedKey]:
    return {
        "acme": gpg_factory.key(KeySpec("ed25519", name="acme")),
        "partner": gpg_factory.key(KeySpec("ed25519", name="partner")),
        "stranger": gpg_factory.key(KeySpec("ed25519", name="stranger")),
        "second": gpg_factory.key(KeySpec("rsa2048", name="second")),
    }


@pytest.fixture(scope="module")
def keyring(keys: dict[str, GeneratedKey]) -> Keyring:
    return keyring_of(keys["acme"], keys["partner"], keys["second"])


@pytest.fixture(scope="module")
def backend(keyring: Keyring) -> Iterator[GnuPGBackend]:
    with GnuPGBackend(keyring) as gnupg:
        yield gnupg


def verifier_for(policy: Policy, keyring: Keyring, backend: GnuPGBackend) -> Verifier:
    return Verifier(policy, backend, revision="rev-1", clock=now)


def acme_policy(keys: dict[str, GeneratedKey], **signed_by: object) -> Policy:
    return Policy(
        default=(Reject(),),
        scopes={
            "quay.io/acme": (
                SignedBy(frozenset({keys["acme"].fingerprint}), **signed_by),  # type: ignore[arg-type]
            ),
            "quay.io/partner": (
                SignedBy(frozenset({keys["partner"].fingerprint}), MatchRepoDigestOrExact()),
            ),
            "docker.io/library": (InsecureAcceptAnything(),),
        },
    )


def image(reference: str | None, *blobs: bytes, types: tuple[str, ...] = ()) -> Image:
    signatures = [
        {
            "metadata": {"name": f"{DIGEST}@sig{i}"},
            "type": types[i] if i < len(types) else "atomic",
            "content": base64.b64encode(blob).decode(),
        }
        for i, blob in enumerate(blobs)
    ]
    document: dict[str, object] = {
        "kind": "Image",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {"name": DIGEST, "resourceVersion": "7"},
        "signatures": signatures,
    }
    if reference is not None:
        document["dockerImageReference"] = reference
    loaded = load_document(document)
    assert isinstance(loaded, Image)
    return loaded


def sign(factory: GpgFactory, key: GeneratedKey, reference: str, digest: str = DIGEST) -> bytes:
    return factory.sign(key, atomic_payload(digest, reference))


@pytest.fixture()
def verifier(keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend) -> Verifier:
    return verifier_for(acme_policy(keys), keyring, backend)


def test_trusted_signature(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    before = now()
    verdict = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}", blob))
    assert (verdict.trusted, verdict.reason, verdict.scope) == (
        True,
        Reason.TRUSTED,
        "quay.io/acme",
    )
    assert verdict.reference == f"quay.io/acme/app@{DIGEST}"
    [sig] = verdict.signatures
    assert (sig.trusted, sig.for_image, sig.reason) == (True, True, Reason.TRUSTED)
    assert sig.signer is not None and sig.signer.fingerprint == keys["acme"].fingerprint
    assert sig.claims is not None and sig.claims.docker_reference == "quay.io/acme/app:1.0"
    assert verdict.verified_at is not None and before <= verdict.verified_at <= now()


def test_key_trusted_elsewhere_is_untrusted_here(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["partner"], "quay.io/acme/app:1.0")
    verdict = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}", blob))
    [sig] = verdict.signatures
    assert (verdict.trusted, verdict.reason, sig.reason) == (
        False,
        Reason.UNTRUSTED_KEY,
        Reason.UNTRUSTED_KEY,
    )
    partner_id = "0x" + keys["partner"].fingerprint[-16:]
    acme_id = "0x" + keys["acme"].fingerprint[-16:]
    assert sig.message.startswith(f"signed by {partner_id} (")
    assert sig.message.endswith(
        f"which the policy for quay.io/acme does not trust; trusted: {acme_id}"
    )
    assert sig.for_image is True  # it does name this image; it is just not trusted


def test_unknown_key(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["stranger"], "quay.io/acme/app:1.0")
    verdict = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}", blob))
    [sig] = verdict.signatures
    assert (sig.reason, sig.signer, sig.claims) == (Reason.UNKNOWN_KEY, None, None)
    assert sig.claimed_key_id == keys["stranger"].fingerprint[-16:]
    assert verdict.reason is Reason.UNKNOWN_KEY
    assert "None of the signatures were accepted, reasons:" in verdict.message


def test_digest_mismatch(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0", digest=OTHER_DIGEST)
    [sig] = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}", blob)).signatures
    assert (sig.trusted, sig.for_image, sig.reason, sig.digest_matches) == (
        False,
        False,
        Reason.DIGEST_MISMATCH,
        False,
    )
    assert f"for manifest {OTHER_DIGEST}, not for this image {DIGEST}" in sig.message


def test_identity_mismatch(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["acme"], "quay.io/elsewhere/app:1.0")
    verdict = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}", blob))
    [sig] = verdict.signatures
    assert (sig.reason, sig.identity_matches, sig.for_image) == (
        Reason.IDENTITY_MISMATCH,
        False,
        False,
    )
    assert verdict.reason is Reason.IDENTITY_MISMATCH


def test_tagged_reference_needs_the_exact_tag(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    assert verifier.verify_image(image("quay.io/acme/app:1.0", blob)).trusted is True
    verdict = verifier.verify_image(image("quay.io/acme/app:2.0", blob))
    assert verdict.signatures[0].reason is Reason.IDENTITY_MISMATCH


def test_invalid_payload_after_good_crypto(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = gpg_factory.sign(keys["acme"], b'{"critical": {}, "optional": {}}')
    [sig] = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}", blob)).signatures
    assert sig.reason is Reason.INVALID_PAYLOAD
    assert sig.signer is not None and sig.claims is None
    assert "critical is missing member" in sig.message


def test_invalid_signed_reference_is_invalid_payload(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["acme"], "UPPER/Case:tag")
    [sig] = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}", blob)).signatures
    assert sig.reason is Reason.INVALID_PAYLOAD


def test_unsigned_image(verifier: Verifier) -> None:
    verdict = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}"))
    assert (verdict.trusted, verdict.reason) == (False, Reason.NOT_SIGNED)
    assert "A signature was required, but no signature exists" in verdict.message


def test_default_reject(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["acme"], "registry.example.com/x/y:1")
    verdict = verifier.verify_image(image(f"registry.example.com/x/y@{DIGEST}", blob))
    assert (verdict.trusted, verdict.reason, verdict.scope) == (False, Reason.REJECTED, "default")
    assert verdict.signatures[0].reason is Reason.REJECTED


def test_insecure_accept_anything(verifier: Verifier) -> None:
    verdict = verifier.verify_image(image(f"docker.io/library/busybox@{DIGEST}"))
    assert (verdict.trusted, verdict.reason) == (True, Reason.ACCEPTED)


def test_one_good_signature_among_bad_ones_is_enough(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    good = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    verdict = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}", b"garbage", good))
    assert verdict.trusted is True
    assert [s.reason for s in verdict.signatures] == [Reason.INVALID_SIGNATURE, Reason.TRUSTED]


def test_unsupported_signature_type(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    verdict = verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}", blob, types=("cosign",)))
    assert verdict.signatures[0].reason is Reason.UNSUPPORTED_TYPE
    assert verdict.trusted is False


def test_atomic_image_v1_type_is_accepted(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], verifier: Verifier
) -> None:
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    verdict = verifier.verify_image(
        image(f"quay.io/acme/app@{DIGEST}", blob, types=("AtomicImageV1",))
    )
    assert verdict.trusted is True


def test_n_of_m_signers(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    policy = Policy(
        default=(Reject(),),
        scopes={
            "quay.io/acme": (
                SignedBy(
                    frozenset({keys["acme"].fingerprint, keys["second"].fingerprint}),
                    MatchRepoDigestOrExact(),
                    min_signers=2,
                ),
            )
        },
    )
    verifier = verifier_for(policy, keyring, backend)
    first = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    again = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    second = sign(gpg_factory, keys["second"], "quay.io/acme/app:1.0")
    ref = f"quay.io/acme/app@{DIGEST}"
    one = verifier.verify_image(image(ref, first, again))
    assert (one.trusted, one.reason) == (False, Reason.NOT_ENOUGH_SIGNERS)
    assert "2 distinct trusted signers are required, found 1" in one.message
    two = verifier.verify_image(image(ref, first, second))
    assert (two.trusted, two.reason) == (True, Reason.TRUSTED)


def test_every_requirement_must_accept(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    policy = Policy(
        default=(Reject(),),
        scopes={
            "quay.io/acme": (
                SignedBy(frozenset({keys["acme"].fingerprint}), MatchRepoDigestOrExact()),
                Reject(),
            )
        },
    )
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    verdict = verifier_for(policy, keyring, backend).verify_image(
        image(f"quay.io/acme/app@{DIGEST}", blob)
    )
    assert (verdict.trusted, verdict.reason) == (False, Reason.REJECTED)
    assert [r.satisfied for r in verdict.requirements] == [True, False]


def test_expected_identity_overrides_the_image_reference(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    verifier = verifier_for(acme_policy(keys, identity=MatchExact()), keyring, backend)
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    img = image(f"quay.io/acme/app@{DIGEST}", blob)
    assert verifier.verify_image(img).trusted is False  # matchExact: digest ≠ tag
    verdict = verifier.verify_image(img, expected_identity="quay.io/acme/app:1.0")
    assert (verdict.trusted, verdict.reference) == (True, "quay.io/acme/app:1.0")


def test_missing_reference_is_an_input_error(verifier: Verifier) -> None:
    with pytest.raises(InputError, match="has no dockerImageReference"):
        verifier.verify_image(image(None))


def test_bad_expected_identity_is_an_input_error(verifier: Verifier) -> None:
    with pytest.raises(InputError, match="--expected-identity"):
        verifier.verify_image(image(f"quay.io/acme/app@{DIGEST}"), expected_identity="Not A Ref")


def test_gate_raises_for_untrusted(verifier: Verifier) -> None:
    with pytest.raises(UntrustedImage, match="no signature exists"):
        verifier.require_trusted(image(f"quay.io/acme/app@{DIGEST}"))


def test_unsupported_requirement_fails_closed(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    policy = Policy(
        default=(Unsupported("sigstoreSigned", "sigstore signatures are not verified"),),
        scopes={},
    )
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    verdict = verifier_for(policy, keyring, backend).verify_image(
        image(f"quay.io/acme/app@{DIGEST}", blob)
    )
    assert (verdict.trusted, verdict.reason) == (False, Reason.REJECTED)
    assert verdict.message.endswith("sigstore signatures are not verified")
    assert verdict.signatures[0].reason is Reason.REJECTED


def test_transport_wide_scope_is_named_for_people(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring, backend: GnuPGBackend
) -> None:
    policy = Policy(
        default=(Reject(),), scopes={"": (SignedBy(frozenset({keys["partner"].fingerprint})),)}
    )
    blob = sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0")
    verdict = verifier_for(policy, keyring, backend).verify_image(
        image(f"quay.io/acme/app@{DIGEST}", blob)
    )
    assert verdict.scope == ""
    assert (
        'the policy for "" (every image of the transport) does not trust'
        in verdict.signatures[0].message
    )
