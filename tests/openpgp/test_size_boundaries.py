"""Size limits of a signature blob and of its signed payload, pinned one byte either side,
for both backends (GnuPG's verdict alongside: the limits are ours, gpg has none this small).

``MAX_SIGNATURE_BLOB_BYTES`` (64 KiB) and ``MAX_PAYLOAD_BYTES`` (256 KiB) are inclusive:
a blob or payload of exactly the limit is verified, one byte more is refused as
``InvalidSignature`` before any key is consulted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sigverify.core.verdict import Reason, SignatureRejected
from sigverify.limits import MAX_PAYLOAD_BYTES, MAX_SIGNATURE_BLOB_BYTES
from sigverify.openpgp.backend import SignatureBackend
from sigverify.openpgp.gnupg import GnuPGBackend
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.native import NativeBackend
from tests.support.fixtures import keyring_of
from tests.support.forge import Forger
from tests.support.gpgfactory import GpgFactory, KeySpec, atomic_payload
from tests.support.sized import message_of_size, padded

PAYLOAD = atomic_payload("sha256:" + "ab" * 32, "registry.example.com/ns/app:v1")
INVALID = Reason.INVALID_SIGNATURE.value


@pytest.fixture(scope="module")
def signer(gpg_factory: GpgFactory) -> tuple[Forger, Keyring, int]:
    key = gpg_factory.key(KeySpec("ed25519", name="size-boundary"))
    keyring = keyring_of(key)
    [public] = keyring
    return Forger(gpg_factory, key), keyring, int(public.created.timestamp()) + 10


@pytest.fixture(scope="module")
def backends(signer: tuple[Forger, Keyring, int]) -> Iterator[list[SignatureBackend]]:
    _, keyring, _ = signer
    with GnuPGBackend(keyring) as gnupg:
        yield [gnupg, NativeBackend(keyring)]


def outcomes(backends: list[SignatureBackend], blob: bytes, created: int) -> dict[str, str]:
    now = datetime.fromtimestamp(created + 60, UTC)
    out = {}
    for backend in backends:
        try:
            verified = backend.verify(blob, now=now)
        except SignatureRejected as exc:
            out[backend.name] = exc.reason.value
        else:
            out[backend.name] = f"verified {len(verified.payload)}"
    return out


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (MAX_SIGNATURE_BLOB_BYTES - 1, "verified"),
        (MAX_SIGNATURE_BLOB_BYTES, "verified"),
        (MAX_SIGNATURE_BLOB_BYTES + 1, INVALID),
    ],
    ids=["below", "at", "above"],
)
def test_blob_size_limit(
    signer: tuple[Forger, Keyring, int],
    backends: list[SignatureBackend],
    size: int,
    expected: str,
) -> None:
    forger, _, created = signer
    blob = message_of_size(forger, PAYLOAD, size, created=created)
    assert len(blob) == size
    seen = {
        name: result.split(" ")[0] for name, result in outcomes(backends, blob, created).items()
    }
    assert seen == {"gnupg": expected, "native": expected}


@pytest.mark.parametrize("algorithm", [1, 2, 3], ids=["zip", "zlib", "bzip2"])
@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (MAX_PAYLOAD_BYTES - 1, f"verified {MAX_PAYLOAD_BYTES - 1}"),
        (MAX_PAYLOAD_BYTES, f"verified {MAX_PAYLOAD_BYTES}"),
        (MAX_PAYLOAD_BYTES + 1, INVALID),
    ],
    ids=["below", "at", "above"],
)
def test_payload_size_limit(
    signer: tuple[Forger, Keyring, int],
    backends: list[SignatureBackend],
    algorithm: int,
    size: int,
    expected: str,
) -> None:
    forger, _, created = signer
    blob = forger.message(padded(PAYLOAD, size), created=created, compress=algorithm)
    assert len(blob) < MAX_SIGNATURE_BLOB_BYTES  # only the payload is at its limit
    assert outcomes(backends, blob, created) == {"gnupg": expected, "native": expected}
