"""An admission parses each image string once and hands the result to its treatment and
resolutions (sigverify/admission/controller.py): the resolution of a parsed text must be
the resolution of the text, valid or not, API calls included."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigverify.admission.metrics import AdmissionMetrics
from sigverify.admission.resolve import Resolver, parse_text
from sigverify.core.reference import ReferenceError, parse_reference
from sigverify.engine.cache import Lookup
from tests.admission.builders import INTERNAL
from tests.admission.test_resolve import APP, EXTERNAL, LOCAL, OLD, Counting, api  # noqa: F401
from tests.support.budget import examples

_TEXTS = [
    f"{INTERNAL}/team/app@{APP}",
    f"{INTERNAL}/team/app:v1",
    f"{INTERNAL}/team/app",
    f"{INTERNAL}/team/missing:v1",
    f"{INTERNAL}/team/tools:latest",
    f"quay.io/x/y@{EXTERNAL}",
    f"quay.io/x/y@{OLD}",
    f"quay.io/x/y:v1@{LOCAL}",
    "tools",
    "tools:latest",
    "plain",
    "busybox:1",
    "",
    "UPPER/case",
    "a" * 300,
    "quay.io/x/y@sha256:short",
]
_PIECES = st.sampled_from(["quay.io", INTERNAL, "team", "app", "tools", "x", ":v1", "@", "/", APP])


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.sampled_from(_TEXTS) | st.lists(_PIECES, max_size=5).map("".join) | st.text(max_size=12))
def test_a_parsed_text_resolves_as_the_text(api: Counting, text: str) -> None:  # noqa: F811
    resolver = Resolver(api, (INTERNAL,))
    api.calls.clear()
    expected = resolver.resolve(text, "team")
    calls = list(api.calls)
    api.calls.clear()
    assert resolver.resolve(text, "team", parse_text(text)) == expected
    assert api.calls == calls


def test_parse_text_gives_the_error_without_its_traceback() -> None:
    error = parse_text("")
    assert isinstance(error, ReferenceError) and error.__traceback__ is None
    with pytest.raises(ReferenceError) as raised:
        parse_reference("")
    assert str(error) == str(raised.value)


def test_kept_metric_children_are_the_ones_labels_returns() -> None:
    metrics = AdmissionMetrics()
    metrics.count_lookup(Lookup.HIT)
    metrics.count_lookup(Lookup.HIT)
    metrics.count_admission("validate", "allow", "Trusted", 0.01)
    assert metrics._child(metrics.cache_lookups, "hit") is metrics.cache_lookups.labels("hit")
    assert metrics.cache_lookups.labels("hit")._value.get() == 2.0
    assert metrics.admissions.labels("validate", "allow", "Trusted")._value.get() == 1.0
    assert metrics.latency.labels("validate")._sum.get() == pytest.approx(0.01)
    assert metrics.cache_lookups.labels("miss")._value.get() == 0.0
