"""verification_body: the one verify-then-record answer of the CLI and the HTTP API."""

from __future__ import annotations

from pathlib import Path

from sigverify.imageapi.store.image_store import ImageStore
from sigverify.objects.documents import image_of
from sigverify.render import verdict_to_json
from sigverify.writeback.writer import ConditionWriter, verification_body
from tests.imageapi.demo import APP, Clock, demo_verifier, seeded_store


def test_a_bare_verdict_records_nothing(tmp_path: Path) -> None:
    store: ImageStore = seeded_store(tmp_path / "store.db")
    verdict = demo_verifier(Clock()).verify_image(image_of(store.get_image(APP), answer_to="Image"))
    assert verification_body(verdict) == {**verdict_to_json(verdict), "recorded": None}


def test_a_recorded_verdict_says_what_the_write_did(tmp_path: Path) -> None:
    store: ImageStore = seeded_store(tmp_path / "store.db")
    clock = Clock()
    recorded = ConditionWriter(store, demo_verifier(clock), clock=clock).record(APP)
    assert verification_body(recorded) == {
        **verdict_to_json(recorded.verdict),
        "recorded": {
            "written": True,
            "attempts": 1,
            "conflicts": 0,
            "resourceVersion": store.get_image(APP)["metadata"]["resourceVersion"],
        },
    }
