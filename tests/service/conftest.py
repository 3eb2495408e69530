from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.service.app import create_app
from sigverify.settings import Settings
from tests.imageapi.demo import DEMO_POLICY, KEYS, Clock, seeded_store


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return seeded_store(tmp_path / "store.db")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    """A copy of the demo policy the test may rewrite (keysDirectory made absolute)."""
    path = tmp_path / "policy.yaml"
    text = DEMO_POLICY.read_text().replace("keysDirectory: ../keys", f"keysDirectory: {KEYS}")
    path.write_text(text)
    return path


@pytest.fixture
def settings(tmp_path: Path, policy_file: Path) -> Settings:
    return Settings(
        policy=str(policy_file),
        keys=None,
        store=str(tmp_path / "store.db"),
        policy_reload_seconds=0.0,
        max_body_bytes=64 * 1024,
        # In-process tests that are not about who may call; tests/service/test_auth.py is.
        insecure_no_auth=True,
    )


def make_app(settings: Settings, api: Any, clock: Clock) -> Flask:
    return create_app(settings, api=api, clock=clock)


@pytest.fixture
def app(settings: Settings, store: ImageStore, clock: Clock) -> Flask:
    return make_app(settings, store, clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def copy_keys(target: Path) -> Path:
    shutil.copytree(KEYS, target)
    return target
