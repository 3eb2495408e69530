"""The YAML half of :mod:`sigverify.strict_input`, imported on its first YAML read.

Part of the one reader, not another one: :func:`read_plain_yaml` is called only through
:func:`~sigverify.strict_input.read_plain_yaml` and keeps its words and limits (the JSON-like
YAML reads go from :mod:`sigverify.strict_input` to :mod:`sigverify._strict_pyyaml` directly).
Apart so that a JSON read (``sigverify verify -f image.json`` with a JSON policy)
never imports PyYAML.

Importing PyYAML costs a sixth of a ``sigverify verify -f`` call (issue 12), and a policy is
nearly always plain block YAML of strings. :func:`read_plain_yaml` reads such a document
itself (:func:`_simple_document`): block mappings and sequences, one-line flow collections,
quoted strings without escapes, plain words that can only be strings, comments. Anything
else (a number, a boolean, a tab, an escape, a syntax error, a repeated key,
too deep a nesting...) is read by PyYAML (:mod:`sigverify._strict_pyyaml`), which words every
refusal as ever. What the subset accepts, PyYAML reads to the same value
(tests/policyfile/test_simple_yaml.py compares them on generated documents).
"""

from __future__ import annotations

import re
from typing import Any

from sigverify.strict_input import Wording, _text

__all__ = ["read_plain_yaml"]


def read_plain_yaml(
    data: str | bytes,
    wording: Wording,
    *,
    max_depth: int,
    max_bytes: int | None = None,
    allow_empty: bool = False,
) -> object:
    """As :func:`sigverify.strict_input.read_plain_yaml` documents it (call that)."""
    text = _text(data, wording, max_bytes, True)
    simple = _simple_document(text, max_depth)
    if simple is not None:
        return simple
    from sigverify import _strict_pyyaml

    return _strict_pyyaml.read_plain_yaml(
        text, wording, max_depth=max_depth, max_bytes=max_bytes, allow_empty=allow_empty
    )


# -- the subset read without PyYAML --------------------------------------------------------------


class _NotSimple(Exception):
    """Outside the subset: PyYAML reads the document."""


#: Printable ASCII and newlines only: no tab, no carriage return, nothing PyYAML's reader
#: might refuse or normalise.
_PLAIN_TEXT = re.compile(r"[\x20-\x7e\n]*")
#: One token of a line: a quoted string without escapes or quotes inside; a plain word that
#: can only be a string (a letter, '_' or '/' first, after any './' or '../'; no ':', '#',
#: space or flow character); an indicator (':' only before a space or the end); or the end
#: of the line (a comment, after a space, ends it too).
_TOKEN = re.compile(
    r' *(?:"(?P<double>[^"\\]*)"|\'(?P<single>[^\']*)\''
    r"|(?P<plain>(?:\.\.?/)*[A-Za-z_/][A-Za-z0-9_./-]*)"
    r"|(?P<colon>:)(?= |$)|(?P<flow>[{}\[\],])|(?P<end>(?<= )#.*|$))"
)
#: The plain words YAML 1.1 (PyYAML) reads as booleans or null, not strings.
_NOT_STRINGS = frozenset(
    [
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "null",
        "Null",
        "NULL",
    ]
)


def _simple_document(text: str, max_depth: int) -> object | None:
    """The document, if it is a block mapping within the subset; else None."""
    if not _PLAIN_TEXT.fullmatch(text):
        return None
    lines = []
    for line in text.split("\n"):
        content = line.strip(" ")
        if not content or content.startswith("#"):
            continue
        if content.startswith(("---", "...", "%")):
            return None
        lines.append((len(line) - len(line.lstrip(" ")), content))
    if not lines or lines[0][0] != 0 or lines[0][1].startswith("-"):
        return None
    try:
        reader = _BlockReader(lines, max_depth)
        value = reader.block(0, 0)
        if reader.index != len(lines):
            raise _NotSimple
    except _NotSimple:
        return None
    return value


class _BlockReader:
    """Block collections over ``(indent, content)`` lines, one value at a time."""

    def __init__(self, lines: list[tuple[int, str]], max_depth: int) -> None:
        self.lines = lines
        self.index = 0
        self.max_depth = max_depth

    def block(self, indent: int, depth: int) -> object:
        """The block collection whose first line is the current one, at ``indent``."""
        if _is_item(self.lines[self.index][1]):
            return self.sequence(indent, depth)
        return self.mapping(indent, depth)

    def sequence(self, indent: int, depth: int) -> list[object]:
        _check_depth(depth, self.max_depth)
        items: list[object] = []
        while self.index < len(self.lines):
            at, content = self.lines[self.index]
            if at != indent or not _is_item(content):
                break
            rest = _uncommented(content[1:])
            if not rest:
                self.index += 1
                items.append(self.nested(indent, depth, sequence_may_align=False))
            elif _is_item(rest):
                raise _NotSimple  # "- - a": not in the subset
            elif _key_of(rest) is not None:
                # "- key: value": a mapping whose keys align with this one's
                self.lines[self.index] = (at + len(content) - len(rest), rest)
                items.append(self.mapping(self.lines[self.index][0], depth + 1))
            else:
                self.index += 1
                items.append(_flow_value(rest, depth + 1, self.max_depth))
                self.no_continuation(indent)
        return items

    def mapping(self, indent: int, depth: int) -> dict[str, object]:
        _check_depth(depth, self.max_depth)
        result: dict[str, object] = {}
        while self.index < len(self.lines):
            at, content = self.lines[self.index]
            if at != indent or _is_item(content):
                break
            entry = _key_of(content)
            if entry is None:
                raise _NotSimple
            key, rest = entry
            if key in result:
                raise _NotSimple  # a repeated key: PyYAML's path words it
            self.index += 1
            if rest:
                result[key] = _flow_value(rest, depth + 1, self.max_depth)
                self.no_continuation(indent)
            else:
                result[key] = self.nested(indent, depth, sequence_may_align=True)
        return result

    def nested(self, indent: int, depth: int, *, sequence_may_align: bool) -> object:
        """The value of a key or item with nothing after it on its line: the block below
        it, or null. A mapping's value may be a sequence at the key's own indentation."""
        if self.index == len(self.lines):
            return None
        at, content = self.lines[self.index]
        if at > indent or (at == indent and sequence_may_align and _is_item(content)):
            return self.block(at, depth + 1)
        return None

    def no_continuation(self, indent: int) -> None:
        """A value on its key's line ends there: a deeper next line would continue it (a
        multi-line scalar), which the subset leaves to PyYAML."""
        if self.index < len(self.lines) and self.lines[self.index][0] > indent:
            raise _NotSimple


def _check_depth(depth: int, max_depth: int) -> None:
    """A collection at ``depth`` (its path's length) is allowed, as _plain_yaml counts."""
    if depth >= max_depth:
        raise _NotSimple  # too deep: PyYAML's path words it, with the path


def _is_item(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _key_of(content: str) -> tuple[str, str] | None:
    """``key: rest`` (rest may be empty) if the line starts with a string key and ':'."""
    tokens = _Tokens(content)
    try:
        key = tokens.string()
        tokens.expect("colon")
    except _NotSimple:
        return None
    return key, _uncommented(content[tokens.position :])


def _uncommented(rest: str) -> str:
    """What follows an indicator (``key:``, ``-``), without a comment that is all of it."""
    rest = rest.lstrip(" ")
    return "" if rest.startswith("#") else rest


def _flow_value(text: str, depth: int, max_depth: int) -> object:
    """A whole value written on one line: a string, or a flow mapping or sequence."""
    tokens = _Tokens(text)
    value = tokens.value(depth, max_depth)
    tokens.expect("end")
    return value


class _Tokens:
    """The tokens of one line, read left to right."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def peek(self) -> tuple[str, str]:
        match = _TOKEN.match(self.text, self.position)
        if match is None or match.lastgroup is None:
            raise _NotSimple
        return match.lastgroup, match.group(match.lastgroup)

    def take(self) -> tuple[str, str]:
        token = self.peek()
        match = _TOKEN.match(self.text, self.position)
        assert match is not None
        self.position = match.end()
        return token

    def expect(self, kind: str, text: str | None = None) -> None:
        got_kind, got_text = self.take()
        if got_kind != kind or (text is not None and got_text != text):
            raise _NotSimple

    def string(self) -> str:
        kind, text = self.take()
        if kind in ("double", "single") or (kind == "plain" and text not in _NOT_STRINGS):
            return text
        raise _NotSimple

    def value(self, depth: int, max_depth: int) -> object:
        kind, text = self.peek()
        if kind != "flow":
            return self.string()
        _check_depth(depth, max_depth)
        self.take()
        if text == "{":
            mapping: dict[str, object] = {}
            for _ in self.entries("}"):
                key = self.string()
                self.expect("colon")
                if key in mapping:
                    raise _NotSimple
                mapping[key] = self.value(depth + 1, max_depth)
            return mapping
        if text == "[":
            return [self.value(depth + 1, max_depth) for _ in self.entries("]")]
        raise _NotSimple

    def entries(self, close: str) -> Any:
        """Yield once per entry of a flow collection, consuming the commas and ``close``;
        no empty entries, no trailing comma."""
        if self.peek() == ("flow", close):
            self.take()
            return
        while True:
            yield
            kind, text = self.take()
            if (kind, text) == ("flow", close):
                return
            if (kind, text) != ("flow", ","):
                raise _NotSimple
