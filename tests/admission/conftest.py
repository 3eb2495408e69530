"""Fixtures for the admission tests that run the webhook over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sigverify.imageapi.store.image_store import ImageStore
from tests.admission.world import Keys, make_keys, seed_store, store_server, write_policy
from tests.support.gpgfactory import GpgFactory


@pytest.fixture(scope="session")
def admission_keys(gpg_factory: GpgFactory) -> Keys:
    return make_keys(gpg_factory)


@pytest.fixture(scope="session")
def admission_policy(tmp_path_factory: pytest.TempPathFactory, admission_keys: Keys) -> Path:
    return write_policy(tmp_path_factory.mktemp("admission-policy"), admission_keys)


@pytest.fixture(scope="session")
def image_store(
    tmp_path_factory: pytest.TempPathFactory, gpg_factory: GpgFactory, admission_keys: Keys
) -> ImageStore:
    store = ImageStore(tmp_path_factory.mktemp("admission-store") / "store.db")
    seed_store(store, gpg_factory, admission_keys)
    return store


@pytest.fixture(scope="session")
def store_url(image_store: ImageStore) -> Iterator[str]:
    """The embedded store behind its OpenShift-compatible REST, on 127.0.0.1."""
    with store_server(image_store) as url:
        yield url
