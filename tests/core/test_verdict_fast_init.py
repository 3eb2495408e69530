"""The verdicts' hand-written ``__init__`` (faster than the frozen dataclass's) keeps the
dataclass contract: the same parameters in the same order with the same defaults, every
field set, the instance still frozen, equal and hashed as before."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigverify.core.verdict import (
    ImageVerdict,
    Reason,
    RequirementResult,
    SignatureVerdict,
    Signer,
)

CLASSES = [SignatureVerdict, RequirementResult, ImageVerdict]


@pytest.mark.parametrize("cls", CLASSES)
def test_init_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, field in zip(parameters, fields, strict=True):
        expected = (
            inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        )
        assert parameter.default == expected, field.name
        assert field.default_factory is dataclasses.MISSING


def _generated(cls: type) -> type:
    """The same class as the dataclass decorator would have made it, generated __init__."""
    namespace = {
        f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
    }
    namespace["__annotations__"] = {f.name: f.type for f in dataclasses.fields(cls)}
    return dataclasses.dataclass(frozen=True)(type(cls.__name__, (), namespace))


_text = st.text(max_size=8)
_maybe_text = st.none() | _text
_maybe_bool = st.none() | st.booleans()
_signer = st.none() | st.builds(Signer, _text, _text, _text, _maybe_text)
_time = st.none() | st.datetimes(timezones=st.just(UTC))


@st.composite
def _signature_values(draw: st.DrawFn) -> dict[str, object]:
    values: dict[str, object] = {
        "name": draw(_text),
        "trusted": draw(st.booleans()),
        "for_image": draw(st.booleans()),
        "reason": draw(st.sampled_from(Reason)),
        "message": draw(_text),
    }
    optional = {
        "signer": _signer,
        "signature_created": _time,
        "digest_matches": _maybe_bool,
        "identity_matches": _maybe_bool,
        "requirement": _maybe_text,
        "claimed_key_id": _maybe_text,
        "source": _maybe_text,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            values[name] = draw(strategy)
    return values


_REQUIRED = {"name", "trusted", "for_image", "reason", "message"}


@given(_signature_values(), st.booleans())
def test_signature_verdict_is_the_generated_one(
    values: dict[str, object], positional: bool
) -> None:
    if positional:  # the five required fields by position, the rest by name
        required = [values[name] for name in ("name", "trusted", "for_image", "reason", "message")]
        rest = {k: v for k, v in values.items() if k not in _REQUIRED}
        verdict = SignatureVerdict(*required, **rest)  # type: ignore[arg-type]
    else:
        verdict = SignatureVerdict(**values)  # type: ignore[arg-type]
    reference = _generated(SignatureVerdict)(**values)
    assert dataclasses.astuple(verdict) == dataclasses.astuple(reference)
    assert vars(verdict) == vars(reference)
    assert hash(verdict) == hash(SignatureVerdict(**values))  # type: ignore[arg-type]
    assert verdict == dataclasses.replace(verdict)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.trusted = not verdict.trusted  # type: ignore[misc]


@given(_text, _text, _text, st.booleans(), st.sampled_from(Reason), _text, _time, st.booleans())
def test_image_verdict_is_the_generated_one(
    image: str,
    reference: str,
    scope: str,
    trusted: bool,
    reason: Reason,
    message: str,
    verified_at: datetime | None,
    defaults: bool,
) -> None:
    values: dict[str, object] = {
        "image": image,
        "reference": reference,
        "scope": scope,
        "trusted": trusted,
        "reason": reason,
        "message": message,
    }
    if not defaults:
        values["signatures"] = (SignatureVerdict("s", trusted, True, reason, message),)
        values["requirements"] = (RequirementResult("r", trusted, message),)
        values["verified_at"] = verified_at
    verdict = ImageVerdict(**values)  # type: ignore[arg-type]
    assert vars(verdict) == vars(_generated(ImageVerdict)(**values))
    assert (
        repr(verdict).partition("(")[2]
        == repr(_generated(ImageVerdict)(**values)).partition("(")[2]
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.trusted = not trusted  # type: ignore[misc]


@given(_text, st.booleans(), _text)
def test_requirement_result_is_the_generated_one(text: str, satisfied: bool, message: str) -> None:
    result = RequirementResult(text, satisfied, message)
    assert vars(result) == vars(_generated(RequirementResult)(text, satisfied, message))
    assert result == RequirementResult(requirement=text, satisfied=satisfied, message=message)
