"""Condition times: an Expired/Revoked condition keeps its transition time while its status
holds, and probe times are UTC whole seconds whatever zone ``now`` or the machine is in
(mutation testing: only a randomized property happened to catch these)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sigverify.core.conditions import apply_verdict
from sigverify.core.verdict import Reason
from tests.core.test_conditions import SIG_A, image_of, image_verdict, signature_doc, verdict

T0 = datetime(2026, 11, 27, 7, 0, 0, tzinfo=UTC)


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local zone is not UTC (naive times must still be read as UTC)."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_an_expired_condition_keeps_its_transition_time() -> None:
    expired = verdict(trusted=False, reason=Reason.KEY_EXPIRED, message="the key expired")
    first = apply_verdict(image_of(signature_doc(SIG_A)), image_verdict(expired), T0)
    again = apply_verdict(first, image_verdict(expired), T0 + timedelta(hours=1))
    for condition_type in ("Expired", "Trusted"):
        before = first.signatures[0].condition(condition_type)
        after = again.signatures[0].condition(condition_type)
        assert before is not None and after is not None
        assert (after.status, after.last_transition_time) == (before.status, T0)
        assert after.last_probe_time == T0 + timedelta(hours=1)


def test_a_revoked_condition_keeps_its_transition_time() -> None:
    revoked = verdict(trusted=False, reason=Reason.KEY_REVOKED, message="the key is revoked")
    first = apply_verdict(image_of(signature_doc(SIG_A)), image_verdict(revoked), T0)
    again = apply_verdict(first, image_verdict(revoked), T0 + timedelta(minutes=5))
    condition = again.signatures[0].condition("Revoked")
    assert condition is not None and condition.last_transition_time == T0


@pytest.mark.usefixtures("tokyo")
@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 27, 7, 0, 0, 999_000),  # naive: read as UTC
        datetime(2026, 11, 27, 16, 0, 0, 5, tzinfo=timezone(timedelta(hours=9))),
    ],
    ids=["naive", "plus-nine"],
)
def test_probe_times_are_utc_whole_seconds(now: datetime) -> None:
    written = apply_verdict(image_of(signature_doc(SIG_A)), image_verdict(verdict()), now)
    [trusted, _] = written.signatures[0].conditions
    assert trusted.last_probe_time == T0
    assert trusted.last_probe_time is not None and trusted.last_probe_time.utcoffset() == timedelta(
        0
    )
    assert str(trusted.last_probe_time) == "2026-11-27 07:00:00+00:00"
