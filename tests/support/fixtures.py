"""Session-wide pytest fixtures shared by the whole test suite.

Loaded from ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.fixtures"]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigverify.openpgp.keyring import Keyring, load_key_file
from tests.support.gpgfactory import GeneratedKey, GpgFactory

__all__ = [
    "CONTAINERS_IMAGE_FIXTURES",
    "FIXTURE_MANIFEST_DIGEST",
    "SKOPEO_TESTING_KEY_FINGERPRINT",
    "keyring_of",
]

_REPO = Path(__file__).resolve().parents[2]
#: containers/image's signature fixtures (see docs: domain.md §6).
CONTAINERS_IMAGE_FIXTURES = _REPO / ".cache" / "containers-image" / "signature" / "fixtures"
#: Digest of ``image.manifest.json`` in those fixtures.
FIXTURE_MANIFEST_DIGEST = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"
#: The "skopeo testing key" (``public-key.gpg``) that signed the fixtures.
SKOPEO_TESTING_KEY_FINGERPRINT = "1D8230F6CDB6A06716E414C1DB72F2188BB46CC8"


def keyring_of(*keys: GeneratedKey | Path) -> Keyring:
    """A :class:`Keyring` holding exactly the public keys given (loaded by real gpg)."""
    loaded = []
    for key in keys:
        path = key.public_binary if isinstance(key, GeneratedKey) else key
        loaded.extend(load_key_file(path))
    return Keyring(loaded)


@pytest.fixture(scope="session")
def gpg_factory() -> Iterator[GpgFactory]:
    """Real-gpg key generator and signer, keys cached for the whole session."""
    # A short root: gpg-agent sockets live in the homes and sun_path is 108 bytes.
    factory = GpgFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="session")
def containers_image_fixtures() -> Path:
    """The containers/image signature fixtures directory (skips when it is absent)."""
    if not (CONTAINERS_IMAGE_FIXTURES / "image.signature").is_file():
        message = (
            f"containers/image fixtures not found at {CONTAINERS_IMAGE_FIXTURES}; "
            "run scripts/bootstrap (make setup)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing fixture is a broken setup, not a skip
        pytest.skip(message)
    return CONTAINERS_IMAGE_FIXTURES


@pytest.fixture(scope="session")
def skopeo_testing_keyring(containers_image_fixtures: Path) -> Keyring:
    """A keyring holding only the "skopeo testing key" of the fixtures."""
    return keyring_of(containers_image_fixtures / "public-key.gpg")


@pytest.fixture(scope="session")
def fixture_manifest(containers_image_fixtures: Path) -> Path:
    """``image.manifest.json`` (digest :data:`FIXTURE_MANIFEST_DIGEST`)."""
    return containers_image_fixtures / "image.manifest.json"
