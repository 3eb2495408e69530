"""The document reader's quick checks answer as the checks they stand in front of (issue 12).

- ``_fast_load._base64`` takes a value exactly when the schemas' ``Base64`` field does, and
  gives the same bytes;
- ``_fast_load._plain_copy`` is a deep copy of plain JSON, and refuses (:class:`Unsure`) exactly
  what ``_is_plain_json`` refuses at the same depth;
- ``documents._is_plain_json`` says a value is fine only when the path-naming checker
  (``_name_the_problem``) finds nothing, and, for values made of the JSON types themselves,
  exactly then (the depth limit included).
"""

from __future__ import annotations

import base64
import copy
import itertools
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from sigverify.limits import MAX_DOCUMENT_DEPTH
from sigverify.objects._errors import DocumentError
from sigverify.objects._fast_load import Unsure, _base64, _plain_copy
from sigverify.objects.documents import _is_plain_json, _name_the_problem
from sigverify.objects.fields import Base64
from tests.support.budget import examples

# -- base64 --------------------------------------------------------------------------------


def _field_answer(value: Any, required: bool) -> bytes | None:
    field = Base64(required=required)
    try:
        return field.deserialize(value)
    except ValidationError:
        return None


def _fast_answer(value: Any, required: bool) -> bytes | None:
    try:
        return _base64(value, None, required)
    except Unsure:
        return None


@st.composite
def base64_texts(draw: st.DrawFn) -> Any:
    canonical = base64.b64encode(draw(st.binary(max_size=40))).decode("ascii")
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return canonical
    if choice == 1 and canonical:  # one character changed: padding bits, alphabet, padding
        at = draw(st.integers(0, len(canonical) - 1))
        swap = draw(st.sampled_from("AQgw+/=-_ \n\r\té.0Z"))
        return canonical[:at] + swap + canonical[at + 1 :]
    if choice == 2:  # spliced: padding in the middle, missing or extra padding
        cut = draw(st.integers(0, len(canonical)))
        extra = draw(st.sampled_from(["", "=", "==", "A", "QQ==", "\n"]))
        return canonical[:cut] + extra + canonical[cut:]
    if choice == 3:
        return draw(st.text(alphabet="ABQgw+/=-_ \n\xe9\x00", max_size=12))
    return draw(st.one_of(st.none(), st.integers(), st.binary(max_size=4)))


@pytest.mark.slow
@settings(max_examples=examples(400))
@given(base64_texts(), st.booleans())
def test_base64_takes_what_the_field_takes(value: Any, required: bool) -> None:
    assert _fast_answer(value, required) == _field_answer(value, required)


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _every_short_text() -> Any:
    """Every text of up to 4 characters from a few telling ones (the zero-low-bits letters,
    others, the two specials, padding, whitespace, the URL-safe alphabet, non-ASCII), and
    every last quad of the full alphabet, padded or not, alone, after and before a quad."""
    for length in range(5):
        for chars in itertools.product("AQgwBE/+= \n-_é", repeat=length):
            yield "".join(chars)
    for first in _ALPHABET + "=":
        for second in _ALPHABET + "=":
            for tail in ("==", "=A", "A=", "AA", "=", ""):
                quad = first + second + tail
                yield from (quad, "QUJD" + quad, quad + "QUJD")


@pytest.mark.slow
def test_base64_takes_what_the_field_takes_on_every_short_text() -> None:
    # The strict decode, the length and the padding-bit checks stand in for the field's
    # regular expressions and its encode-and-compare: the accept set must be the same.
    differ = [
        value
        for value in _every_short_text()
        for required in (False, True)
        if _fast_answer(value, required) != _field_answer(value, required)
    ]
    assert differ == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [("QQ==", b"A"), ("QR==", None), ("QQ", None), ("QQ==QQ==", None), ("Q Q=", None), ("", None)],
)
def test_base64_examples(value: str, expected: bytes | None) -> None:
    assert _fast_answer(value, True) == expected == _field_answer(value, True)


# -- plain JSON ------------------------------------------------------------------------------


def _checker_passes(value: Any) -> bool:
    try:
        _name_the_problem(value)
    except DocumentError:
        return False
    return True


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
)
_JSON_ISH = st.recursive(
    _SCALARS | st.just(b"bytes") | st.just((1, 2)),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=2) | st.integers(0, 2) | st.none(), inner, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def nested(draw: st.DrawFn) -> Any:
    """Values nested just inside, at and just past the depth limit."""
    value = draw(_SCALARS | st.just([]) | st.just({}))
    for _ in range(draw(st.integers(MAX_DOCUMENT_DEPTH - 2, MAX_DOCUMENT_DEPTH + 2))):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


class _Str(str):
    pass


@pytest.mark.slow
@settings(max_examples=examples(400))
@given(_JSON_ISH | nested())
def test_plain_json_answers_as_the_checker(value: Any) -> None:
    assert _is_plain_json(value) == _checker_passes(value)


def test_plain_json_may_leave_subclasses_to_the_checker() -> None:
    value = {"a": [_Str("x")]}
    assert not _is_plain_json(value)
    assert _checker_passes(value)  # the checker decides: it is fine


@pytest.mark.parametrize(
    ("depth", "leaf", "plain"),
    [
        (MAX_DOCUMENT_DEPTH, 1, True),
        (MAX_DOCUMENT_DEPTH + 1, 1, False),
        (MAX_DOCUMENT_DEPTH, [], True),
        (MAX_DOCUMENT_DEPTH - 1, [1], True),
        (MAX_DOCUMENT_DEPTH, [1], False),
        (MAX_DOCUMENT_DEPTH, math.nan, False),
    ],
)
def test_plain_json_depth_limit(depth: int, leaf: Any, plain: bool) -> None:
    value = leaf
    for _ in range(depth):
        value = [value]
    assert _is_plain_json(value) is plain
    assert _checker_passes(value) is plain


# -- private copies ----------------------------------------------------------------------------

_ANY_VALUES = st.recursive(
    _SCALARS | st.just((1, [2])) | st.just(frozenset({1})) | st.binary(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=2) | st.integers(0, 2), inner, max_size=3)
    ),
    max_leaves=15,
)


def _mutable_ids(value: Any) -> set[int]:
    found: set[int] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.add(id(node))
            stack.extend(node.values())
        elif isinstance(node, list):
            found.add(id(node))
            stack.extend(node)
        elif isinstance(node, tuple):
            stack.extend(node)
    return found


def _plain_copy_or_unsure(value: Any, depth: int) -> Any:
    try:
        return _plain_copy(value, depth)
    except Unsure:
        return Unsure


@pytest.mark.slow
@settings(max_examples=examples(300))
@given(_ANY_VALUES | _JSON_ISH | nested(), st.sampled_from([0, 1, 6]))
def test_plain_copy_is_a_deep_copy_of_plain_json(value: Any, depth: int) -> None:
    copied = _plain_copy_or_unsure(value, depth)
    if not _is_plain_json(value, depth):
        assert copied is Unsure
        return
    assert copied is not Unsure  # the JSON types themselves: never left to the checker
    expected = copy.deepcopy(value)
    assert repr(copied) == repr(expected)  # same types and order
    assert not _mutable_ids(copied) & _mutable_ids(value)


def test_plain_copy_leaves_subclasses_and_odd_values_to_the_checker() -> None:
    for value in ({"a": [_Str("x")]}, {_Str("k"): 1}, {1: "x"}, (1,), b"x", math.inf):
        assert _plain_copy_or_unsure(value, 0) is Unsure


@pytest.mark.parametrize(
    ("depth", "leaf", "plain"),
    [
        (MAX_DOCUMENT_DEPTH, 1, True),
        (MAX_DOCUMENT_DEPTH, [], True),
        (MAX_DOCUMENT_DEPTH, {}, True),
        (MAX_DOCUMENT_DEPTH - 1, [1], True),
        (MAX_DOCUMENT_DEPTH, [1], False),
        (MAX_DOCUMENT_DEPTH - 1, {"k": 1}, True),
        (MAX_DOCUMENT_DEPTH, {"k": 1}, False),
    ],
)
def test_plain_copy_depth_limit(depth: int, leaf: Any, plain: bool) -> None:
    value = leaf
    for _ in range(depth):
        value = [value]
    assert (_plain_copy_or_unsure(value, 0) is not Unsure) is plain is _is_plain_json(value)
