"""sigverify.strict_input, the one reader of outside text: every refusal with its exact words
and path, the depth measured on the bytes checked against the parsed tree, and the rule that
keeps it the only reader (no json.loads, yaml.safe_load, request.get_json… anywhere else in
the package, found by walking the syntax tree so that comments and strings do not count).
"""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path
from typing import Any

import pytest

from sigverify.strict_input import (
    StrictInputError,
    Wording,
    decode_text,
    json_path,
    read_json,
    read_json_like_yaml,
    read_json_like_yaml_stream,
    read_plain_yaml,
)
from sigverify.strict_input import _nested_deeper_than as nested_deeper_than
from tests.support.budget import iterations

PACKAGE = Path(__file__).resolve().parents[1] / "sigverify"

W = Wording(
    invalid_json="bad JSON",
    invalid_yaml="bad YAML",
    not_a_number="{name} is not a number",
    duplicate_key="duplicate key {key!r}",
    too_deep="too deep",
    empty="empty",
)


def refusal(read: Any, data: str | bytes, **options: Any) -> StrictInputError:
    with pytest.raises(StrictInputError) as caught:
        read(data, W, **options)
    return caught.value


# -- the rule: one reader ----------------------------------------------------------------------

#: Calls that turn text into values, by the module that provides them.
READERS = {
    "json": {"load", "loads", "JSONDecoder"},
    "yaml": {
        "load",
        "safe_load",
        "full_load",
        "unsafe_load",
        "load_all",
        "safe_load_all",
        "full_load_all",
        "unsafe_load_all",
    },
    "flask.json": {"load", "loads"},
}
#: Methods that read a request body as JSON, whatever object they are called on.
BODY_READERS = {"get_json"}


def loose_readers(source: str, filename: str) -> list[str]:
    """``file:line: call`` for each call of a reader in ``source`` (imports followed)."""
    tree = ast.parse(source, filename)
    modules: dict[str, str] = {}  # local name -> module (import json as j)
    functions: dict[str, str] = {}  # local name -> module.function (from json import loads)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in READERS:
                    modules[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module in READERS:
            for alias in node.names:
                if alias.name in READERS[node.module]:
                    functions[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module == "flask":
            for alias in node.names:
                if alias.name == "json":
                    modules[alias.asname or alias.name] = "flask.json"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = None
        target = node.func
        if isinstance(target, ast.Name) and target.id in functions:
            name = functions[target.id]
        elif isinstance(target, ast.Attribute):
            owner = target.value
            module = modules.get(owner.id) if isinstance(owner, ast.Name) else None
            if module is not None and target.attr in READERS[module]:
                name = f"{module}.{target.attr}"
            if target.attr in BODY_READERS:
                name = f"{ast.unparse(owner)}.{target.attr}"
        if name is not None:
            found.append(f"{filename}:{node.lineno}: {name}()")
    return found


def test_no_reader_of_outside_text_but_strict_input() -> None:
    found = [
        line
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "strict_input.py" or path.parent != PACKAGE
        for line in loose_readers(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    ]
    assert found == [], "read outside text with sigverify.strict_input:\n" + "\n".join(found)


def test_the_rule_finds_readers_and_ignores_words() -> None:
    source = '''
import json
import yaml as y
from json import loads as parse
from flask import json as fj, request

# json.loads(text) in a comment does not count
"""nor yaml.safe_load(text) in a string"""
json.dumps({})
json.loads(a)
y.safe_load(b)
y.load_all(c, Loader=y.SafeLoader)
parse(d)
fj.loads(e)
request.get_json(force=True)
json.JSONDecoder().decode(f)
'''
    assert loose_readers(source, "m.py") == [
        "m.py:10: json.loads()",
        "m.py:11: yaml.safe_load()",
        "m.py:12: yaml.load_all()",
        "m.py:13: json.loads()",
        "m.py:14: flask.json.loads()",
        "m.py:15: request.get_json()",
        "m.py:16: json.JSONDecoder()",
    ]


# -- JSON ---------------------------------------------------------------------------------------


def test_plain_json_is_read() -> None:
    text = '{"a": [1, 2.5, "x", true, null, {}], "b": {"c": "\\u00e9"}}'
    assert read_json(text, W, max_depth=3) == json.loads(text)
    assert read_json(text.encode(), W, max_depth=3) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "message", "path"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'", ()),
        ('{"a": [{"b": 1}, {"b": 1, "b": 2}]}', "duplicate key 'b'", ("a", 1)),
        ('{"a": NaN}', "bad JSON: NaN is not a number", ()),
        ("[Infinity]", "bad JSON: Infinity is not a number", ()),
        ("[-Infinity]", "bad JSON: -Infinity is not a number", ()),
        ("[1, 2", "bad JSON: Expecting ',' delimiter (line 1, column 6)", ()),
        ('{"a": 1} {}', "bad JSON: Extra data (line 1, column 10)", ()),
        ("", "bad JSON: Expecting value (line 1, column 1)", ()),
    ],
)
def test_json_refusals(text: str, message: str, path: tuple[Any, ...]) -> None:
    caught = refusal(read_json, text, max_depth=10)
    assert (caught.message, caught.path) == (message, path)


def test_a_number_too_long_to_convert_is_a_refusal_not_a_crash() -> None:
    caught = refusal(read_json, "[" + "1" * 5000 + "]", max_depth=2)
    assert caught.message.startswith("bad JSON: Exceeds the limit (4300 digits)")


@pytest.mark.parametrize(
    ("text", "refused_at"),
    [
        ("[[[]]]", None),  # three levels, an empty one counts
        ("[[[[]]]]", (0, 0, 0)),
        ('{"a": {"b": {"c": 1}}}', None),
        ('{"a": {"b": {"c": {}}}}', ("a", "b", "c")),
        ('{"a": "[[[[[[[[", "b": [["]]]]]]"]]}', None),  # brackets in strings are text
        ('{"a": "\\\\", "b": [[[[]]]]}', ("b", 0, 0)),  # an escaped backslash ends the string
        ('{"a": "\\"[[[[", "b": 1}', None),  # an escaped quote does not
    ],
)
def test_depth_counts_objects_and_arrays(text: str, refused_at: tuple[Any, ...] | None) -> None:
    if refused_at is None:
        assert read_json(text, W, max_depth=3) == json.loads(text)
    else:
        caught = refusal(read_json, text, max_depth=3)
        assert (caught.message, caught.path) == ("too deep", refused_at)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_depth_past_the_parsers_recursion_is_too_deep(depth: int) -> None:
    for text in ("[" * depth + "]" * depth, "[" * depth, '{"a": ' * depth + "1" + "}" * depth):
        assert refusal(read_json, text, max_depth=100).message == "too deep"


def test_too_deep_wins_over_the_other_problems() -> None:
    """Depth is measured before parsing: a deep text is refused as deep, as the signed
    payload's guard always did, whatever else is wrong with it."""
    for text in ("[NaN, [[[[]]]]]", '{"a": 1, "a": [[[[]]]]}', "[[[[[]]]]"):
        assert refusal(read_json, text, max_depth=3).message == "too deep"


def test_bytes_are_utf8_with_an_optional_byte_order_mark() -> None:
    assert read_json(b'\xef\xbb\xbf{"a": 1}', W, max_depth=1) == {"a": 1}
    caught = refusal(read_json, b'\xef\xbb\xbf{"a": 1}', max_depth=1, byte_order_mark=False)
    assert caught.message.startswith("bad JSON: Unexpected UTF-8 BOM")
    caught = refusal(read_json, b'{"a": "\xc3\x28"}', max_depth=1)
    assert caught.message == "not valid UTF-8 (byte 7)"
    assert refusal(read_json, '"\udc80"'.encode("utf-8", "surrogatepass"), max_depth=1)


def test_size_is_refused_before_anything_is_read() -> None:
    caught = refusal(read_json, b"[" * 11, max_depth=1, max_bytes=10)
    assert caught.message == "larger than 10 bytes"
    assert read_json(b"[1, 2, 3]", W, max_depth=1, max_bytes=9) == [1, 2, 3]
    assert decode_text(b"abc", W, max_bytes=3) == "abc"


def test_syntax_errors_are_worded_by_the_caller() -> None:
    python = Wording(**{**W.__dict__, "syntax": "{invalid_json}: {error}"})
    caught = refusal(lambda data, _, **o: read_json(data, python, **o), "{", max_depth=1)
    assert caught.message == (
        "bad JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    )
    offset = Wording(**{**W.__dict__, "syntax": "{invalid_json}: {msg} at offset {pos}"})
    caught = refusal(lambda data, _, **o: read_json(data, offset, **o), "[1,]", max_depth=1)
    assert caught.message == "bad JSON: Expecting value at offset 3"


def test_located_names_the_path() -> None:
    caught = refusal(read_json, '{"items": [{"a/b": {"x": 1, "x": 1}}]}', max_depth=5)
    assert caught.located == "items[0][\"a/b\"]: duplicate key 'x'"
    assert json_path(()) == "" and json_path(("a", 0, "b_c")) == "a[0].b_c"


# -- the depth measured on the bytes, against the parsed tree ------------------------------------


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_TRICKY = ["[", "]", "{", "}", '"', "\\", "\\\\", '\\"', "é", "\u2028", "a", " "]


def _value(rng: random.Random, level: int) -> Any:
    roll = rng.random()
    if level > 12 or roll < 0.3:
        if rng.random() < 0.5:
            return "".join(rng.choices(_TRICKY, k=rng.randrange(6)))
        return rng.choice([0, -1.5, True, None])
    if roll < 0.65:
        return [_value(rng, level + 1) for _ in range(rng.randrange(3))]
    keys = ["".join(rng.choices(_TRICKY, k=rng.randrange(4))) + str(i) for i in range(3)]
    return {key: _value(rng, level + 1) for key in keys[: rng.randrange(4)]}


def test_the_measured_depth_is_the_parsed_depth() -> None:
    rng = random.Random(20261202)
    for _ in range(iterations(3000, dev=400)):
        value = _value(rng, 0)
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1]))
        depth = _depth(value)
        for limit in range(16):
            assert nested_deeper_than(text.encode(), limit) is (depth > limit), (text, limit)


def test_unbalanced_brackets_are_left_to_the_parser() -> None:
    assert nested_deeper_than(b"[][[]", 2) is None
    assert nested_deeper_than(b"][][", 1) is None
    assert nested_deeper_than(b"[" * 7, 5) is True  # already too deep, balanced or not
    assert nested_deeper_than(b"[[]", 5) is False  # fewer openings than the limit: the parser


# -- YAML ---------------------------------------------------------------------------------------


def test_plain_yaml() -> None:
    assert read_plain_yaml("a: [1, {b: x}]\n", W, max_depth=3) == {"a": [1, {"b": "x"}]}
    assert read_plain_yaml(b"# nothing\n", W, max_depth=1, allow_empty=True) is None
    assert refusal(read_plain_yaml, "# nothing\n", max_depth=1).message == "empty"
    caught = refusal(read_plain_yaml, "a:\n  b: 1\n  b: 2\n", max_depth=3)
    assert (caught.message, caught.path) == ("duplicate key 'b' (line 3, column 3)", ("a",))
    caught = refusal(read_plain_yaml, "a: [[[[1]]]]\n", max_depth=3)
    assert (caught.message, caught.path) == ("too deep", ("a", 0, 0))
    assert refusal(read_plain_yaml, "a: " + "[" * 50_000, max_depth=3).message == "too deep"
    caught = refusal(read_plain_yaml, b"a: \xff\n", max_depth=3)
    assert caught.message == "not valid UTF-8 (byte 3)"
    caught = refusal(read_plain_yaml, "a: " + "1" * 5000, max_depth=3)
    assert caught.message.startswith("bad YAML: Exceeds the limit (4300 digits)")


def test_json_like_yaml_keeps_timestamps_as_strings() -> None:
    assert read_json_like_yaml("t: 2026-01-02T03:04:05Z\n", W) == {"t": "2026-01-02T03:04:05Z"}
    caught = refusal(read_json_like_yaml, "a: 1\na: 2\n")
    assert caught.message == "bad YAML: duplicate key 'a' (line 2, column 1)"
    assert refusal(read_json_like_yaml, "a: &x 1\nb: *x\n").message.startswith(
        "bad YAML: YAML aliases are not allowed"
    )


@pytest.mark.parametrize(
    ("text", "message", "path"),
    [
        ("a: .nan\n", "bad YAML: .nan is not a number (line 1, column 4)", ("a",)),
        ("a: [-.Inf]\n", "bad YAML: -.Inf is not a number (line 1, column 5)", ("a", 0)),
        ("a: !!binary aGk=\n", "YAML tag tag:yaml.org,2002:binary is not allowed", ("a",)),
        ("a: {1: x}\n", "keys must be strings (line 1, column 5)", ("a",)),
        ("a: [[[[]]]]\n", "too deep", ("a", 0, 0)),
    ],
)
def test_json_like_yaml_with_a_depth_holds_only_json(
    text: str, message: str, path: tuple[Any, ...]
) -> None:
    caught = refusal(read_json_like_yaml, text, max_depth=3)
    assert caught.message.startswith(message) and caught.path == path
    read_json_like_yaml(text, W)  # without a depth, the caller checks the values


def test_a_yaml_stream() -> None:
    text = "a: 1\n---\n---\n- b\n"
    assert read_json_like_yaml_stream(text, W, max_depth=2) == [{"a": 1}, None, ["b"]]
    assert read_json_like_yaml_stream("", W) == []
    assert refusal(read_json_like_yaml, "a: 1\n---\nb: 2\n").message.startswith("bad YAML")
    caught = refusal(read_json_like_yaml_stream, "a: 1\n---\nb: .inf\n", max_depth=2)
    assert caught.path == ("b",)
