from __future__ import annotations

from pathlib import Path

import pytest

from sigverify.imageapi.store.image_store import ImageStore


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "store.db", clock=lambda: "2026-11-27T07:00:00Z")
