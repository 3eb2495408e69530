"""The signed payload's limits, pinned one either side, and its depth guard fuzzed against a
reference (Python's json, depth measured on the parsed tree).

The guard must refuse exactly the payloads nested deeper than ``MAX_JSON_DEPTH`` (32):
brackets inside strings, escaped quotes and backslashes, whitespace between brackets and
thousands of levels must neither fool it nor reach the parser's recursion (a
``RecursionError`` on a payload any key of the keyring signed would be an uncaught crash).
Behavioural: only ``parse_claims``'s outcome is compared, whatever reader it uses.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.core.claims import SIGNATURE_TYPE, ClaimsError, SignedClaims, parse_claims
from sigverify.limits import MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES
from tests.support.budget import examples

DIGEST = "sha256:" + "ab" * 32
CRITICAL = (
    f'{{"type": "{SIGNATURE_TYPE}", "image": {{"docker-manifest-digest": "{DIGEST}"}}, '
    '"identity": {"docker-reference": "quay.io/acme/app:1"}}'
)
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
EXPECTED = SignedClaims(DIGEST, "quay.io/acme/app:1")


def payload(optional: str) -> bytes:
    """A valid payload whose ``optional`` member is the JSON text ``optional``."""
    return f'{{"critical": {CRITICAL}, "optional": {optional}}}'.encode()


def nested(levels: int, *, gap: str = "") -> str:
    """``levels`` arrays inside one another (``[[…]]``), ``gap`` between brackets."""
    return gap.join("[" * levels) + gap + gap.join("]" * levels)


def outcome(data: bytes) -> str:
    try:
        claims = parse_claims(data)
    except ClaimsError as exc:
        return "too deep" if str(exc) == TOO_DEEP else "refused"
    assert claims.manifest_digest == DIGEST
    return "ok"


# -- limits one either side -------------------------------------------------------------------

# ``optional`` is the payload's second level: an array directly in it is the third.
OPTIONAL_DEPTH = 2


@pytest.mark.parametrize(
    ("depth", "expected"),
    [(MAX_JSON_DEPTH - 1, "ok"), (MAX_JSON_DEPTH, "ok"), (MAX_JSON_DEPTH + 1, "too deep")],
    ids=["below", "at", "above"],
)
def test_depth_limit(depth: int, expected: str) -> None:
    text = payload(f'{{"x": {nested(depth - OPTIONAL_DEPTH)}}}')
    assert _depth(json.loads(text)) == depth
    assert outcome(text) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [(MAX_PAYLOAD_BYTES - 1, "ok"), (MAX_PAYLOAD_BYTES, "ok"), (MAX_PAYLOAD_BYTES + 1, "refused")],
    ids=["below", "at", "above"],
)
def test_payload_size_limit(size: int, expected: str) -> None:
    base = payload("{}")
    data = base + b" " * (size - len(base))
    assert len(data) == size
    assert outcome(data) == expected
    if expected == "refused":
        with pytest.raises(ClaimsError, match=f"payload is larger than {MAX_PAYLOAD_BYTES} bytes"):
            parse_claims(data)


@pytest.mark.parametrize(
    ("timestamp", "accepted"),
    [
        (2**63 - 2, True),
        (2**63 - 1, True),
        (2**63, False),
        (-(2**63) + 1, True),
        (-(2**63), True),
        (-(2**63) - 1, False),
    ],
    ids=["max-1", "max", "max+1", "min+1", "min", "min-1"],
)
def test_timestamp_is_an_int64(timestamp: int, accepted: bool) -> None:
    data = payload(f'{{"timestamp": {timestamp}}}')
    if accepted:
        assert parse_claims(data).timestamp == timestamp
    else:
        with pytest.raises(ClaimsError, match=r"optional\.timestamp is out of range"):
            parse_claims(data)


# -- the guard against strings, escapes and whitespace -----------------------------------------

ABOVE = MAX_JSON_DEPTH + 1 - OPTIONAL_DEPTH  # arrays in optional that make it one too deep
AT = MAX_JSON_DEPTH - OPTIONAL_DEPTH
SPACES = " \r\n\t "

ADVERSARIAL = {
    # Brackets inside strings are text, not nesting.
    "brackets in a string": (f'{{"s": "{"[" * 100}{"{" * 100}"}}', "ok"),
    "closing brackets in a string, then deep": (
        f'{{"s": "{"]" * 100}{"}" * 100}", "x": {nested(ABOVE)}}}',
        "too deep",
    ),
    "escaped quote keeps the string open": (f'{{"s": "\\"{"[" * 100}"}}', "ok"),
    "escaped backslash closes the string": (f'{{"s": "a\\\\", "x": {nested(ABOVE)}}}', "too deep"),
    "backslash run then escaped quote": (f'{{"s": "\\\\\\\\\\"{"[" * 60}", "x": 1}}', "ok"),
    "backslash run closes, then deep": (
        f'{{"s": "\\\\\\\\\\\\", "x": {nested(ABOVE)}}}',
        "too deep",
    ),
    "unicode-escaped brackets": ('{"s": "' + "\\u005b" * 50 + '\\u0022"}', "ok"),
    "deep after many strings": (
        "{" + ", ".join(f'"k{i}": "[{{\\"]"' for i in range(40)) + f', "x": {nested(ABOVE)}}}',
        "too deep",
    ),
    "whitespace between brackets, at the limit": (
        '{"x": ' + nested(AT, gap=SPACES) + "}",
        "ok",
    ),
    "whitespace between brackets, above": (
        '{"x": ' + nested(ABOVE, gap=SPACES) + "}",
        "too deep",
    ),
    "objects and arrays interleaved": (
        '{"x": ' + '{"a": [' * (ABOVE // 2) + "1" + "]}" * (ABOVE // 2) + "}",
        "ok" if 2 * (ABOVE // 2) <= AT else "too deep",
    ),
    "three thousand levels": (f'{{"x": {nested(3000)}}}', "too deep"),
    "three thousand unclosed": (f'{{"x": {"[" * 3000}', None),
    "three thousand objects": ('{"x": ' + '{"a": ' * 3000 + "1" + "}" * 3000 + "}", "too deep"),
}


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_adversarial_nesting(case: str) -> None:
    optional, expected = ADVERSARIAL[case]
    data = payload(optional)
    got = outcome(data)  # never RecursionError or any other exception
    if expected is None:
        assert got in ("too deep", "refused")
    else:
        assert got == expected == _reference(data)


# -- fuzzed against the reference ---------------------------------------------------------------

TRICKY = st.text(alphabet='[]{}"\\ \n\tab:,é\u2028/', max_size=10)
SCALARS = st.one_of(
    TRICKY,
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)
GAPS = st.sampled_from(["", " ", "\n", "\t", "\r\n", "  \t "])


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # RFC 8259 has no NaN or Infinity


def _reference(data: bytes) -> str:
    try:
        document = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        return "too deep"  # valid or not, nested far deeper than any limit of ours
    except ValueError:
        return "refused"
    return "too deep" if _depth(document) > MAX_JSON_DEPTH else "ok"


@st.composite
def _spines(draw: st.DrawFn) -> Any:
    """A chain of ``levels`` containers, each with tricky siblings around the next one."""
    levels = draw(st.integers(min_value=0, max_value=MAX_JSON_DEPTH + 6))
    value: Any = draw(SCALARS)
    for _ in range(levels):
        before = draw(st.lists(SCALARS, max_size=2))
        after = draw(st.lists(SCALARS, max_size=2))
        if draw(st.booleans()):
            value = [*before, value, *after]
        else:
            keys = draw(st.lists(TRICKY, min_size=1, max_size=4, unique=True))
            siblings = [*before, *after][: len(keys) - 1]
            value = dict(zip(keys, [value, *siblings], strict=False))
    return value


@st.composite
def _texts(draw: st.DrawFn, value: Any) -> str:
    """``value`` as JSON text with drawn whitespace between tokens and drawn escaping."""
    gaps = itertools.cycle(draw(st.lists(GAPS, min_size=1, max_size=7)))
    ensure_ascii = draw(st.booleans())

    def dump(item: Any) -> str:
        if isinstance(item, list):
            inner = ",".join(next(gaps) + dump(v) + next(gaps) for v in item)
            return "[" + (inner or next(gaps)) + "]"
        if isinstance(item, dict):
            members = ",".join(
                next(gaps) + dump(k) + next(gaps) + ":" + next(gaps) + dump(v) + next(gaps)
                for k, v in item.items()
            )
            return "{" + (members or next(gaps)) + "}"
        return json.dumps(item, ensure_ascii=ensure_ascii)

    return dump(value)


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None)
@given(data=st.data())
def test_the_guard_agrees_with_the_reference(data: st.DataObject) -> None:
    value = data.draw(_spines())
    label = data.draw(TRICKY)
    text = data.draw(_texts({"s": label, "x": value, "t": label}))
    encoded = payload(text)
    assert outcome(encoded) == _reference(encoded)
