"""The default clock: UTC, whole seconds (what a metav1.Time keeps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sigverify.core.clock import utcnow


def test_now_in_utc_whole_seconds() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    now = utcnow()
    assert now.tzinfo is UTC
    assert now.microsecond == 0
    assert before <= now <= datetime.now(UTC) + timedelta(seconds=1)
