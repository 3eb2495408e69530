"""The policy subset read without PyYAML (sigverify._strict_yaml) reads what PyYAML reads:
every document it accepts, PyYAML reads to the same value; all else is PyYAML's (issue 12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify import _strict_pyyaml
from sigverify._strict_yaml import _simple_document
from sigverify.strict_input import StrictInputError, Wording, read_plain_yaml
from tests.support.budget import examples

ROOT = Path(__file__).resolve().parents[2]
W = Wording(
    invalid_json="bad JSON",
    invalid_yaml="bad YAML",
    not_a_number="{name} is not a number",
    duplicate_key="duplicate key {key!r}",
    too_deep="too deep",
    empty="empty",
)
DEPTH = 5


def by_pyyaml(text: str) -> tuple[str, Any]:
    try:
        return "value", _strict_pyyaml.read_plain_yaml(text, W, max_depth=DEPTH)
    except StrictInputError as exc:
        return "refused", (exc.message, exc.path)


def assert_same_as_pyyaml(text: str) -> bool:
    """True when the subset read ``text``: then PyYAML read it to the same value."""
    simple = _simple_document(text, DEPTH)
    if simple is None:
        return False
    kind, value = by_pyyaml(text)
    assert kind == "value", value
    assert repr(simple) == repr(value)  # repr: 1 and True and "1" differ
    return True


def test_the_bench_and_sample_style_policy_is_in_the_subset() -> None:
    text = (
        "apiVersion: sigverify/v1\nkind: TrustPolicy\nkeysDirectory: keys\n"
        "default:\n  - type: reject\nscopes:\n  registry.example.com/bench:\n"
        '    - type: signedBy\n      keys: ["2ED030E34A4549EA908E2AE59661DA39C6BBC639"]\n'
        "      signedIdentity: {type: matchExact}\n"
    )
    assert assert_same_as_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "a:\n-\n- x\n",  # an empty item, then another at the same indentation
        "a:\n- b: x\n  c: y\n- z\n",
        "a:\n  - b:\n    - x\n    c: y\n",  # a sequence at its key's indentation
        "a: {}\nb: []\nc: ''\nd:\ne: \"\"\n",
        "a:\n  b:\n  c: x\n",  # an empty value, then the next key
        "a:\n    - x\n    -\n    - [y, {z: w}]\n# the end\n",
        "'a b': \"c d\"\n\"e\": '- x'\n",
        "a: x # note\nb: # note\n- # note\n- [y] #\n  # c\nc: 'd#e' # f\n",
    ],
)
def test_structures_in_the_subset_read_alike(text: str) -> None:
    assert assert_same_as_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n",  # a number
        "a: yes\n",  # a boolean
        "on: x\n",  # a key that is not a string
        "a: x #note\n  y\n",  # a comment, then a continuation
        "a: x\n  y\n",  # a multi-line scalar
        "a: x\na: y\n",  # a repeated key
        "a: &x b\n",  # an anchor
        "a: !!str b\n",  # a tag
        "a: |\n  x\n",  # a block scalar
        'a: "x\\ty"\n',  # an escape
        "a:\tb\n",  # a tab
        "a: b\r\n",  # a carriage return
        "a:b\n",
        "- a\n",  # not a mapping
        "---\na: b\n",
        "a: [b, c\n",
        "a: {b: c, b: d}\n",
        "a:\n b:\n  c:\n   d:\n    e:\n     f: g\n",  # deeper than DEPTH
        "",
    ],
)
def test_everything_else_is_pyyamls(text: str) -> None:
    assert _simple_document(text, DEPTH) is None


def test_reading_through_strict_input_gives_pyyamls_words() -> None:
    with pytest.raises(StrictInputError) as caught:
        read_plain_yaml("a: x\na: y\n", W, max_depth=DEPTH)
    assert caught.value.message.startswith("duplicate key 'a'")
    assert read_plain_yaml("a: [x, 'y']\n", W, max_depth=DEPTH) == {"a": ["x", "y"]}


def test_the_repository_policies_read_alike() -> None:
    for path in sorted((ROOT / "policies").glob("*.yaml")):
        text = path.read_text()
        assert read_plain_yaml(text, W, max_depth=32) == yaml.safe_load(text)


_WORDS = st.sampled_from(
    [
        "a",
        "b",
        "Key",
        "x-y",
        "a.b/c",
        "/p",
        "_u",
        "yes",
        "No",
        "on",
        "null",
        "NULL",
        "y",
        "n",
        "1",
        "../k",
        ".nan",
        "./.k",
        "0x1",
        "1.5",
        ".5",
        "1e3",
        "-a",
        "a:b",
        "a b",
        "",
        "~",
        "2024-01-01",
        "<<",
        "=",
        "#x",
        "a#b",
        "'q'",
        '"d"',
        "tab\t",
        "é",
        "[x]",
        "{y}",
        "a,b",
        "%x",
        "@x",
        "!x",
        "*x",
        "&x",
    ]
)
_SCALARS = st.one_of(_WORDS, st.none(), st.booleans(), st.integers(-5, 5))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_WORDS, inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=examples(400), deadline=None)
@given(
    document=st.dictionaries(_WORDS, _VALUES, min_size=1, max_size=4),
    flow=st.sampled_from([False, None]),
    indent=st.sampled_from([2, 4]),
)
def test_dumped_documents_read_alike(
    document: dict[str, Any], flow: bool | None, indent: int
) -> None:
    assert_same_as_pyyaml(
        yaml.safe_dump(document, default_flow_style=flow, indent=indent, sort_keys=False)
    )


_LINE = st.builds(
    lambda indent, item, key, value: " " * indent + item + key + value,
    st.integers(0, 6),
    st.sampled_from(["", "", "- ", "-"]),
    st.sampled_from(["", "a:", "b:", "c:", "'q':", '"d":', "on:", "a b:", "x:y:"]),
    st.sampled_from(
        [
            "",
            " x",
            " 'q'",
            ' "d"',
            " {a: b}",
            " [x, y]",
            " []",
            " {}",
            " yes",
            " 1",
            " a b",
            " #c",
            " [a",
            " {a:b}",
            " -x",
            "x",
            " [x,{a: b}]",
            " {a: [b]}",
            "  ",
            " ''",
            ' ""',
            " ~",
            " {a: b,}",
            " [,]",
        ]
    ),
)


@settings(max_examples=examples(1500), deadline=None)
@given(lines=st.lists(_LINE, min_size=1, max_size=8))
def test_generated_lines_read_alike(lines: list[str]) -> None:
    assert_same_as_pyyaml("\n".join(lines) + "\n")


# Mostly within the subset, so that its structure (indentation, items, nesting) is what varies.
_SAFE_WORDS = st.sampled_from(
    [
        "a",
        "b",
        "c",
        "x-y",
        "a.b/c",
        "/p",
        "_u",
        "on",
        "y",
        "1",
        "",
        "../k",
        "./k",
        ".5",
        ".inf",
        "..",
        "../",
        "./../k",
    ]
)
_SAFE_VALUES = st.recursive(
    st.one_of(_SAFE_WORDS, st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_SAFE_WORDS, inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=examples(400), deadline=None)
@given(
    document=st.dictionaries(_SAFE_WORDS, _SAFE_VALUES, min_size=1, max_size=4),
    flow=st.sampled_from([False, None]),
    indent=st.sampled_from([2, 3, 4]),
)
def test_dumped_plain_documents_read_alike(
    document: dict[str, Any], flow: bool | None, indent: int
) -> None:
    assert_same_as_pyyaml(
        yaml.safe_dump(document, default_flow_style=flow, indent=indent, sort_keys=False)
    )


_SAFE_LINE = st.builds(
    lambda indent, item, key, value: " " * indent + item + key + value,
    st.sampled_from([0, 0, 2, 2, 4, 4, 6, 1, 3]),
    st.sampled_from(["", "", "", "- ", "-"]),
    st.sampled_from(["", "a:", "b:", "c:", "'q':", '"d":']),
    st.sampled_from(
        [
            "",
            "",
            " x",
            " 'q'",
            ' "d"',
            " {a: b}",
            " [x, y]",
            " []",
            " {}",
            "  #c",
            " [x,{a: b}]",
            " {a: [b]}",
            " ''",
        ]
    ),
)


@settings(max_examples=examples(1500), deadline=None)
@given(lines=st.lists(_SAFE_LINE, min_size=1, max_size=8))
def test_generated_plain_lines_read_alike(lines: list[str]) -> None:
    assert_same_as_pyyaml("\n".join(lines) + "\n")
