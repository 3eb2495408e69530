"""The engine's own limits, pinned at the limit and one either side: the number of signatures
it verifies on one Image, and the size of a signature blob it hands to a backend.

Documents read from files or HTTP are refused earlier by the schema (tests/objects); these
limits hold for an Image built any other way, too.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from sigverify.core.policy import Policy, Reject, SignedBy
from sigverify.core.verdict import Reason
from sigverify.errors import InputError
from sigverify.limits import MAX_SIGNATURE_BLOB_BYTES, MAX_SIGNATURES_PER_IMAGE
from sigverify.objects.types import Image
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.native import NativeBackend
from tests.engine.test_verifier import DIGEST, image, verifier_for
from tests.support.fixtures import keyring_of
from tests.support.forge import Forger
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec, atomic_payload
from tests.support.sized import message_of_size

REFERENCE = f"quay.io/acme/app@{DIGEST}"


@pytest.fixture(scope="module")
def acme(gpg_factory: GpgFactory) -> GeneratedKey:
    return gpg_factory.key(KeySpec("ed25519", name="acme"))


@pytest.fixture(scope="module")
def keyring(acme: GeneratedKey) -> Keyring:
    return keyring_of(acme)


def policy(acme: GeneratedKey) -> Policy:
    return Policy(
        default=(Reject(),), scopes={"quay.io/acme": (SignedBy(frozenset({acme.fingerprint})),)}
    )


def with_blobs(*blobs: bytes) -> Image:
    """An Image whose signatures carry ``blobs`` exactly, past the document schema's caps."""
    template = image(REFERENCE, b"placeholder").signatures[0]
    signatures = tuple(
        replace(template, metadata=replace(template.metadata, name=f"{DIGEST}@s{i}"), content=blob)
        for i, blob in enumerate(blobs)
    )
    return replace(image(REFERENCE), signatures=signatures)


@pytest.mark.parametrize("count", [MAX_SIGNATURES_PER_IMAGE - 1, MAX_SIGNATURES_PER_IMAGE])
def test_up_to_the_signature_limit_every_signature_is_judged(
    acme: GeneratedKey, keyring: Keyring, count: int
) -> None:
    verifier = verifier_for(policy(acme), keyring, NativeBackend(keyring))  # type: ignore[arg-type]
    verdict = verifier.verify_image(with_blobs(*[b"garbage"] * count))
    assert len(verdict.signatures) == count
    assert {s.reason for s in verdict.signatures} == {Reason.INVALID_SIGNATURE}
    assert (verdict.trusted, verdict.reason) == (False, Reason.INVALID_SIGNATURE)


def test_one_signature_over_the_limit_is_an_input_error(
    acme: GeneratedKey, keyring: Keyring
) -> None:
    verifier = verifier_for(policy(acme), keyring, NativeBackend(keyring))  # type: ignore[arg-type]
    too_many = MAX_SIGNATURES_PER_IMAGE + 1
    with pytest.raises(InputError) as caught:
        verifier.verify_image(with_blobs(*[b"garbage"] * too_many))
    assert str(caught.value) == (
        f"signatures: the Image has {too_many} signatures; at most {MAX_SIGNATURES_PER_IMAGE} "
        "are verified"
    )


@pytest.mark.parametrize(
    "size", [MAX_SIGNATURE_BLOB_BYTES - 1, MAX_SIGNATURE_BLOB_BYTES], ids=["below", "at"]
)
def test_a_blob_up_to_the_size_limit_is_verified(
    gpg_factory: GpgFactory, acme: GeneratedKey, keyring: Keyring, size: int
) -> None:
    [key] = keyring
    blob = message_of_size(
        Forger(gpg_factory, acme),
        atomic_payload(DIGEST, "quay.io/acme/app:1.0"),
        size,
        created=int(key.created.timestamp()),
    )
    verifier = verifier_for(policy(acme), keyring, NativeBackend(keyring))  # type: ignore[arg-type]
    verdict = verifier.verify_image(with_blobs(blob))
    assert (verdict.trusted, verdict.signatures[0].reason) == (True, Reason.TRUSTED)


def test_a_blob_over_the_size_limit_never_reaches_the_backend(
    acme: GeneratedKey, keyring: Keyring
) -> None:
    class Refusing(NativeBackend):
        def verify(self, blob: bytes, *, now: object) -> object:  # type: ignore[override]
            raise AssertionError("an oversized blob was handed to the backend")

    verifier = verifier_for(policy(acme), keyring, Refusing(keyring))  # type: ignore[arg-type]
    verdict = verifier.verify_image(with_blobs(b"\x00" * (MAX_SIGNATURE_BLOB_BYTES + 1)))
    [signature] = verdict.signatures
    assert (signature.reason, signature.message) == (
        Reason.INVALID_SIGNATURE,
        f"signature blob is larger than {MAX_SIGNATURE_BLOB_BYTES} bytes",
    )
