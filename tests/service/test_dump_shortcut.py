"""A verification body answered without marshmallow's dump is the dump's own answer (issue 12).

``schemas.dumps_unchanged(body)`` lets the views skip ``VerificationSchema().dump(body)``;
it may say so only when the dump gives back the very same JSON (members, values and order),
and it should say so for the bodies the engine makes.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.core.claims import SignedClaims
from sigverify.core.verdict import ImageVerdict, Reason, RequirementResult, SignatureVerdict, Signer
from sigverify.service.schemas import VerificationSchema, dumps_unchanged
from sigverify.writeback.writer import verification_body
from tests.support.budget import examples

_text = st.text(max_size=8)
_maybe_text = st.none() | _text
_times = st.none() | st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
_key_ids = st.text("0123456789ABCDEF", min_size=16, max_size=16)
_signers = st.none() | st.builds(Signer, _text, _key_ids, _text, _maybe_text)
_claims = st.none() | st.builds(
    SignedClaims, _text, _text, _maybe_text, st.none() | st.integers(-(2**63), 2**63 - 1)
)
_signatures = st.builds(
    SignatureVerdict,
    name=_text,
    trusted=st.booleans(),
    for_image=st.booleans(),
    reason=st.sampled_from(list(Reason)),
    message=_text,
    signer=_signers,
    claims=_claims,
    signature_created=_times,
    digest_matches=st.none() | st.booleans(),
    identity_matches=st.none() | st.booleans(),
    requirement=_maybe_text,
    claimed_key_id=st.none() | _key_ids,
    source=st.none() | st.sampled_from(["image", "lookaside", "registry"]),
)
_requirements = st.builds(RequirementResult, _text, st.booleans(), _text)
_verdicts = st.builds(
    ImageVerdict,
    image=_text,
    reference=_text,
    scope=_text,
    trusted=st.booleans(),
    reason=st.sampled_from(list(Reason)),
    message=_text,
    signatures=st.lists(_signatures, max_size=3).map(tuple),
    requirements=st.lists(_requirements, max_size=2).map(tuple),
    verified_at=_times,
)


def _dumped(body: Any) -> str:
    return json.dumps(VerificationSchema().dump(body))


@st.composite
def _altered(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any]:
    """The body with one member added, dropped, moved or given a value of another type."""
    body = copy.deepcopy(body)
    target: dict[str, Any] = body
    if body["signatures"] and draw(st.booleans()):
        target = body["signatures"][0]
        if target.get("claims") and draw(st.booleans()):
            target = target["claims"]
    key = draw(st.sampled_from(sorted(target)))
    how = draw(st.sampled_from(["add", "drop", "move", "int", "bool", "float", "list"]))
    if how == "add":
        target["extra"] = 1
    elif how == "drop":
        del target[key]
    elif how == "move":
        target[key] = target.pop(key)
    else:
        target[key] = {"int": 1, "bool": True, "float": 1.5, "list": []}[how]
    return body


@pytest.mark.slow
@settings(max_examples=examples(300))
@given(_verdicts, st.data())
def test_a_body_said_unchanged_dumps_to_itself(verdict: ImageVerdict, data: st.DataObject) -> None:
    body = verification_body(verdict)
    has_source = any(s.source is not None for s in verdict.signatures)
    # Engine bodies (no "source") take the shortcut; one with a source member the schema
    # does not know is dumped (which drops it), as before.
    assert dumps_unchanged(body) is not has_source
    for candidate in (body, data.draw(_altered(body))):
        if dumps_unchanged(candidate):
            assert _dumped(candidate) == json.dumps(candidate)


def test_examples_of_bodies_that_are_dumped() -> None:
    verdict = ImageVerdict("sha256:x", "quay.io/a:1", "quay.io", True, Reason.TRUSTED, "ok")
    body = verification_body(verdict)
    assert dumps_unchanged(body)
    assert not dumps_unchanged({**body, "trusted": 1})  # dumped as true
    assert not dumps_unchanged({k: body[k] for k in reversed(body)})  # dumped in order
    assert not dumps_unchanged({k: v for k, v in body.items() if k != "recorded"})
    assert not dumps_unchanged([body])
