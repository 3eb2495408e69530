"""What the engine remembers gives the answers it stands for (issue 12).

A verifier remembers parsed references and the policy's scope for each; one image's
verification remembers identity decisions and signer names. Each must answer exactly as the
function it stands in for, on generated references (valid or not), however often asked and
after the cache is emptied; a text that does not parse raises the same error every time.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.core.policy import (
    ExactReference,
    ExactRepository,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    Policy,
    Reject,
    RemapIdentity,
    SignedBy,
)
from sigverify.core.reference import ReferenceError, parse_reference
from sigverify.engine import verifier as engine
from tests.support.budget import examples

_KEY = "A" * 40
_DIGEST = "sha256:" + "ab" * 32

_parts = st.sampled_from(
    ["quay.io", "registry.example.com:5000", "localhost", "docker.io", "index.docker.io", ""]
)
_paths = st.sampled_from(["app", "ns/app", "ns/other", "library/busybox", "Bad/Case", "a__b"])
_tags = st.sampled_from(["", ":v1", ":latest", ":v2", ":-bad"])
_digests = st.sampled_from(["", "@" + _DIGEST, "@sha256:abc", "@" + _DIGEST.upper()])


@st.composite
def reference_texts(draw: st.DrawFn) -> str:
    host = draw(_parts)
    return f"{host}/" * bool(host) + draw(_paths) + draw(_tags) + draw(_digests)


def _answer(call: Any, *args: Any) -> Any:
    try:
        return ("ok", call(*args))
    except ReferenceError as exc:
        return ("error", str(exc))


_POLICY = Policy(
    default=(Reject(),),
    scopes={
        "quay.io": (SignedBy(frozenset({_KEY})),),
        "quay.io/ns": (SignedBy(frozenset({_KEY}), MatchRepository()),),
        "registry.example.com:5000/ns/app:v1": (SignedBy(frozenset({_KEY}), MatchExact()),),
        "docker.io/library/busybox": (Reject(),),
    },
)
_RULES = [
    MatchRepoDigestOrExact(),
    MatchExact(),
    MatchRepository(),
    ExactReference(parse_reference("quay.io/ns/app:v1")),
    ExactRepository(parse_reference("quay.io/ns/app")),
    RemapIdentity("quay.io/ns", "registry.example.com:5000/ns"),
]


@pytest.mark.slow
@settings(max_examples=examples(300))
@given(st.lists(reference_texts(), min_size=1, max_size=12))
def test_remembered_references_and_scopes_answer_as_the_functions(texts: list[str]) -> None:
    remembered = engine._References(_POLICY)
    for _ in range(2):  # asked again: remembered answers
        for text in texts:
            expected = _answer(parse_reference, text)
            assert _answer(remembered.parse, text) == expected
            if expected[0] == "ok":
                reference = expected[1]
                assert remembered.scope(_POLICY, reference) == _POLICY.requirements_for(reference)


@pytest.mark.slow
@settings(max_examples=examples(300))
@given(reference_texts(), st.lists(reference_texts(), min_size=1, max_size=6))
def test_identity_decisions_answer_as_the_rules(image_text: str, signed_texts: list[str]) -> None:
    try:
        image = parse_reference(image_text)
    except ReferenceError:
        return
    memo = engine._Memo(image, engine._References(_POLICY))
    for _ in range(2):
        for text in signed_texts:
            try:
                signed = memo.signed_reference(text)
            except ReferenceError as exc:
                with pytest.raises(ReferenceError) as again:
                    parse_reference(text)
                assert str(again.value) == str(exc)
                continue
            for rule in _RULES:
                assert memo.accepts(rule, signed) == rule.matches(image, signed)


def test_a_full_cache_is_emptied_and_still_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_CACHED_REFERENCES", 2)
    remembered = engine._References(_POLICY)
    texts = ["quay.io/a:1", "quay.io/b:1", "quay.io/c:1", "quay.io/a:1"]
    for text in texts:
        assert remembered.parse(text) == parse_reference(text)
        reference = parse_reference(text)
        assert remembered.scope(_POLICY, reference) == _POLICY.requirements_for(reference)
    assert len(remembered._parsed) <= 2 and len(remembered._scopes) <= 2


def test_a_new_policy_is_not_answered_from_the_old_ones_scopes() -> None:
    reference = parse_reference("quay.io/ns/app:v1")
    remembered = engine._References(_POLICY)
    assert remembered.scope(_POLICY, reference).scope == "quay.io/ns"
    other = Policy(default=(Reject(),))
    assert remembered.scope(other, reference) == other.requirements_for(reference)


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def matches(self, image: Any, signed: Any) -> bool:
        return image == signed

    def describe(self) -> str:
        return "unhashable"


def test_an_unhashable_rule_is_asked_every_time() -> None:
    image = parse_reference("quay.io/ns/app:v1")
    memo = engine._Memo(image, engine._References(_POLICY))
    assert memo.accepts(_Unhashable(), image) is True  # type: ignore[arg-type]
    assert memo.accepts(_Unhashable(), parse_reference("quay.io/x:1")) is False  # type: ignore[arg-type]
