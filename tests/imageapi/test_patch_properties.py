"""Properties of the patch formats: RFC 7396 round trips, and no input, however odd, gets an
answer other than a result, a 400 or a 422 (never a crash, so never a 500)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigverify.imageapi.errors import BadRequestError, InvalidObjectError
from sigverify.imageapi.store.patch import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    apply_patch,
    merge_patch,
)
from tests.support.budget import examples

pytestmark = pytest.mark.slow

_KEYS = st.sampled_from(
    ["a", "b", "metadata", "name", "signatures", "conditions", "type", "$patch", "~1", ""]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["x", "merge", "delete", "replace", "True"])
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)
_NO_NULLS = st.recursive(
    st.booleans() | st.integers(-3, 3) | st.sampled_from(["x", "y"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=15,
)


def _merge_patch_from(source: Any, target: Any) -> Any:
    """A merge patch that turns ``source`` into ``target`` (objects without nulls)."""
    if not isinstance(source, dict) or not isinstance(target, dict):
        return target
    patch: dict[str, Any] = {key: None for key in source if key not in target}
    for key, value in target.items():
        if key not in source:
            patch[key] = value
        elif source[key] != value or type(source[key]) is not type(value):
            patch[key] = _merge_patch_from(source[key], value)
    return patch


@settings(max_examples=examples(500), suppress_health_check=[HealthCheck.too_slow])
@given(_NO_NULLS, _NO_NULLS)
def test_a_merge_patch_made_from_two_documents_turns_one_into_the_other(
    source: Any, target: Any
) -> None:
    assert merge_patch(source, _merge_patch_from(source, target)) == target


_POINTERS = st.lists(
    st.sampled_from(["a", "b", "0", "1", "-", "01", "~1", "~0", "signatures"]), max_size=3
).map(lambda tokens: "".join("/" + t for t in tokens))
_OPERATIONS = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "bogus"])},
    optional={"path": _POINTERS | _SCALARS, "from": _POINTERS, "value": _JSON},
)


@settings(max_examples=examples(1000), suppress_health_check=[HealthCheck.too_slow])
@given(_JSON, st.lists(_OPERATIONS, max_size=6) | _JSON)
def test_a_json_patch_applies_or_is_refused_and_never_changes_its_input(
    document: Any, patch: Any
) -> None:
    _applies_or_is_refused(JSON_PATCH, document, patch)


@settings(max_examples=examples(1000), suppress_health_check=[HealthCheck.too_slow])
@given(_JSON, _JSON, st.sampled_from([MERGE_PATCH, STRATEGIC_MERGE_PATCH]))
def test_merge_patches_apply_or_are_refused_and_never_change_their_input(
    document: Any, patch: Any, kind: str
) -> None:
    _applies_or_is_refused(kind, document, patch)


def _applies_or_is_refused(kind: str, document: Any, patch: Any) -> None:
    before, sent = copy.deepcopy(document), copy.deepcopy(patch)
    try:
        result = apply_patch(kind, document, patch)
    except (BadRequestError, InvalidObjectError):
        pass
    else:
        json.dumps(result, allow_nan=False)  # the result is JSON again
    assert document == before and patch == sent
