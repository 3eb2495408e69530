"""``needs_write`` compares models before documents (issue 12): the same answer as comparing
the dumped documents alone, on generated Images and changes to their conditions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigverify.objects.schemas import dump_model, load_image
from sigverify.objects.types import Image, SignatureCondition
from sigverify.writeback.writer import _without_probe_times, needs_write
from tests.objects import strategies
from tests.support.budget import examples

NOW = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=10)


def needs_write_by_documents(before: Image, after: Image) -> bool:
    """The rule as it was written before: dump both, then the probe times."""
    if _without_probe_times(dump_model(before)) != _without_probe_times(dump_model(after)):
        return True
    for signature in after.signatures:
        previous_signature = before.signature(signature.name)
        for condition in signature.conditions:
            previous = previous_signature.condition(condition.type) if previous_signature else None
            if previous is None:
                return True
            if previous.last_probe_time == condition.last_probe_time:
                continue
            if previous.last_probe_time is None:
                return True
            if NOW - previous.last_probe_time >= INTERVAL:
                return True
    return False


def _conditions(image: Image, change: Any) -> Image:
    return replace(
        image,
        signatures=tuple(
            replace(s, conditions=tuple(change(c) for c in s.conditions)) for s in image.signatures
        ),
    )


_CHANGES = {
    "nothing": lambda c: c,
    "probe now": lambda c: replace(c, last_probe_time=NOW),
    "probe a minute ago": lambda c: replace(c, last_probe_time=NOW - timedelta(minutes=1)),
    "probe cleared": lambda c: replace(c, last_probe_time=None),
    "status": lambda c: replace(c, status="False" if c.status == "True" else "True"),
    "message": lambda c: replace(c, message=(c.message or "") + "!"),
    "transition": lambda c: replace(c, last_transition_time=NOW),
    "probe text forgotten": lambda c: replace(
        c, preserved=replace(c.preserved, times={}, nulls=frozenset())
    ),
}


@pytest.mark.slow
@settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
@given(strategies.images, st.sampled_from(sorted(_CHANGES)), strategies.images | st.none())
def test_needs_write_answers_as_comparing_documents(
    document: dict[str, Any], change: str, other: dict[str, Any] | None
) -> None:
    before = load_image(document)
    after = _conditions(before, _CHANGES[change]) if other is None else load_image(other)
    expected = needs_write_by_documents(before, after)
    assert needs_write(before, after, probe_interval=INTERVAL, now=NOW) == expected


def test_a_condition_added_is_a_write() -> None:
    before = load_image(strategies_image_with_signature())
    added = SignatureCondition(type="Trusted", status="True", last_probe_time=NOW)
    after = replace(before, signatures=(replace(before.signatures[0], conditions=(added,)),))
    assert needs_write(before, after, probe_interval=INTERVAL, now=NOW)
    assert not needs_write(before, before, probe_interval=INTERVAL, now=NOW)


def strategies_image_with_signature() -> dict[str, Any]:
    from tests.objects.samples import full_image

    return full_image()
