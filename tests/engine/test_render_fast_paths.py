"""The render's shortcuts agree with the general path on generated verdicts:

* ``_time`` formats by hand what ``strftime("%Y-%m-%dT%H:%M:%SZ")`` gives;
* ``verdict_to_text`` reads the verdict directly, and must say exactly what
  ``verdict_json_to_text(verdict_to_json(verdict))`` says.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from sigverify.core.claims import SignedClaims
from sigverify.core.verdict import (
    ImageVerdict,
    Reason,
    RequirementResult,
    SignatureVerdict,
    Signer,
)
from sigverify.render import _time, verdict_json_to_text, verdict_to_json, verdict_to_text

_zones = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)


@given(st.datetimes(timezones=_zones))
def test_time_is_strftime(value: datetime) -> None:
    assert _time(value) == value.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Subclass(datetime):
    pass


def test_time_of_none_and_of_a_subclass() -> None:
    assert _time(None) is None
    value = _Subclass(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert _time(value) == "2026-01-02T03:04:05Z"


_text = st.text(max_size=12)
_names = st.one_of(_text, st.builds(lambda a, b: f"sha256:{a}@{b}", _text, _text))
_maybe = st.none() | _text
_times = st.none() | st.datetimes(timezones=_zones)


_claims = st.none() | st.builds(
    SignedClaims,
    manifest_digest=_text,
    docker_reference=_text,
    creator=_maybe,
    timestamp=st.none() | st.integers(0, 2**40),
)


_signatures = st.builds(
    SignatureVerdict,
    name=_names,
    trusted=st.booleans(),
    for_image=st.booleans(),
    reason=st.sampled_from(Reason),
    message=_text,
    signer=st.none() | st.builds(Signer, _text, _text.map(str.upper), _text, _maybe),
    claims=_claims,
    signature_created=_times,
    digest_matches=st.none() | st.booleans(),
    identity_matches=st.none() | st.booleans(),
    requirement=_maybe,
    claimed_key_id=_maybe,
    source=_maybe,
)
_requirements = st.builds(
    RequirementResult,
    requirement=_text,
    satisfied=st.booleans(),
    message=st.one_of(_text, _text.map(lambda t: "None of the signatures were accepted" + t)),
)
_verdicts = st.builds(
    ImageVerdict,
    image=_text,
    reference=_text,
    scope=_text,
    trusted=st.booleans(),
    reason=st.sampled_from(Reason),
    message=_text,
    signatures=st.lists(_signatures, max_size=4).map(tuple),
    requirements=st.lists(_requirements, max_size=3).map(tuple),
    verified_at=_times,
)


@given(_verdicts)
def test_text_is_that_of_the_json(verdict: ImageVerdict) -> None:
    assert verdict_to_text(verdict) == verdict_json_to_text(verdict_to_json(verdict))


def test_the_text_path_can_tell_a_difference() -> None:
    """The comparison above is not vacuous: a different verdict reads differently."""
    signature = SignatureVerdict("sha256:a@b", True, True, Reason.TRUSTED, "ok", source="image")
    verdict = ImageVerdict("i", "r", "s", True, Reason.TRUSTED, "m", (signature,))
    other = ImageVerdict(
        "i",
        "r",
        "s",
        True,
        Reason.TRUSTED,
        "m",
        (signature.__class__("sha256:a@b", True, True, Reason.TRUSTED, "ok"),),
    )
    assert verdict_to_text(verdict) != verdict_to_text(other)
    assert "SOURCE" in verdict_to_text(verdict)
