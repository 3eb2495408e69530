"""Smaller engine decisions that mutation testing found unpinned: backend names, the gate's
expected identity, and how key lists read in messages."""

from __future__ import annotations

import pytest

from sigverify.core.policy import InsecureAcceptAnything, Policy, Reject, SignedBy
from sigverify.core.verdict import Reason
from sigverify.engine.verifier import BACKENDS, make_backend
from sigverify.errors import InputError, UntrustedImage
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.native import NativeBackend
from tests.engine.test_verifier import DIGEST, image, sign, verifier_for
from tests.support.fixtures import keyring_of
from tests.support.gpgfactory import GeneratedKey, GpgFactory, KeySpec


@pytest.fixture(scope="module")
def keys(gpg_factory: GpgFactory) -> dict[str, GeneratedKey]:
    return {
        "acme": gpg_factory.key(KeySpec("ed25519", name="acme")),
        "partner": gpg_factory.key(KeySpec("ed25519", name="partner")),
        "stranger": gpg_factory.key(KeySpec("ed25519", name="stranger")),
    }


@pytest.fixture(scope="module")
def keyring(keys: dict[str, GeneratedKey]) -> Keyring:
    return keyring_of(keys["acme"], keys["partner"], keys["stranger"])


@pytest.mark.parametrize(
    ("name", "built"), [("gnupg", "gnupg"), ("native", "native"), ("auto", "native")]
)
def test_backend_names(keyring: Keyring, name: str, built: str) -> None:
    backend = make_backend(name, keyring)
    try:
        assert backend.name == built
    finally:
        backend.close()


def test_unknown_backend_name(keyring: Keyring) -> None:
    assert BACKENDS == ("auto", "gnupg", "native")
    with pytest.raises(InputError) as caught:
        make_backend("openssl", keyring)
    assert str(caught.value) == "unknown backend 'openssl'; choose one of auto, gnupg, native"


def test_the_gate_uses_the_expected_identity(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring
) -> None:
    policy = Policy(
        default=(Reject(),),
        scopes={"quay.io/acme": (SignedBy(frozenset({keys["acme"].fingerprint})),)},
    )
    verifier = verifier_for(policy, keyring, NativeBackend(keyring))  # type: ignore[arg-type]
    img = image(None, sign(gpg_factory, keys["acme"], "quay.io/acme/app:1.0"))
    verdict = verifier.require_trusted(img, expected_identity="quay.io/acme/app:1.0")
    assert (verdict.trusted, verdict.reference) == (True, "quay.io/acme/app:1.0")
    with pytest.raises(UntrustedImage, match="is not trusted"):
        verifier.require_trusted(img, expected_identity="quay.io/acme/app:2.0")


def test_key_lists_in_messages(
    gpg_factory: GpgFactory, keys: dict[str, GeneratedKey], keyring: Keyring
) -> None:
    acme, partner, stranger = keys["acme"], keys["partner"], keys["stranger"]
    both = frozenset({acme.fingerprint, partner.fingerprint})
    policy = Policy(
        default=(Reject(),),
        scopes={
            "quay.io/acme": (SignedBy(both),),
            "quay.io/open": (InsecureAcceptAnything(),),
        },
    )
    verifier = verifier_for(policy, keyring, NativeBackend(keyring))  # type: ignore[arg-type]
    listed = ", ".join("0x" + f[-16:] for f in sorted(both))  # ordered by fingerprint
    [signature] = verifier.verify_image(
        image(f"quay.io/acme/app@{DIGEST}", sign(gpg_factory, stranger, "quay.io/acme/app:1"))
    ).signatures
    assert signature.reason is Reason.UNTRUSTED_KEY
    assert signature.message.endswith(f"does not trust; trusted: {listed}")
    # A scope that trusts no key at all says so (and still accepts the image).
    verdict = verifier.verify_image(
        image(f"quay.io/open/app@{DIGEST}", sign(gpg_factory, stranger, "quay.io/open/app:1"))
    )
    assert (verdict.trusted, verdict.reason) == (True, Reason.ACCEPTED)
    assert verdict.signatures[0].message.endswith("does not trust; trusted: none")
