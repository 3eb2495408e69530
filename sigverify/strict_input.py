"""JSON and YAML text read strictly into plain values (dicts, lists, str, int, float, bool, None).

The one reader of outside text in sigverify: policies, documents, HTTP bodies, seeds, settings,
signed payloads and the answers of the APIs sigverify calls all come through here (a test walks
the package to keep it so). Nothing here does I/O: callers read their bytes with a bound, call
one reader, and wrap :class:`StrictInputError` into their own error type. Each caller words its
refusals through a :class:`Wording`, so each keeps the messages its users know.

Always refused: more bytes than the caller allows, bytes that are not UTF-8, a repeated key
(JSON's last-one-wins would hide a value), ``NaN`` and ``Infinity`` (not JSON numbers), numbers
too long to convert, nesting deeper than the caller's limit (checked before the parser
recurses, so never a ``RecursionError``), and YAML aliases, checked while composing so that
alias expansion ("billion laughs") cannot happen. The two YAML readers differ on purpose:

- :func:`read_plain_yaml` (policies) accepts plain YAML only: no anchors, merge keys or tags
  beyond str/int/float/bool/null, string keys, a depth cap, and every problem with its path;
- :func:`read_json_like_yaml` (Image documents) is the safe loader with timestamps kept as
  strings, so that what Kubernetes wrote reads back as JSON would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = [
    "PathPart",
    "StrictInputError",
    "Wording",
    "config_file_wording",
    "decode_text",
    "json_path",
    "parse_json",
    "read_json",
    "read_json_like_yaml",
    "read_json_like_yaml_stream",
    "read_plain_yaml",
    "scalar_kind",
]

#: One step from the document root: a mapping key or a list index.
PathPart = str | int

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(parts: tuple[PathPart, ...]) -> str:
    """``("signatures", 2, "content")`` → ``signatures[2].content``; odd keys in ``["…"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


class StrictInputError(Exception):
    """Input refused: ``message``, at ``path`` (empty: the input as a whole)."""

    def __init__(self, message: str, path: tuple[PathPart, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    @property
    def located(self) -> str:
        """The message after its JSON path (``request.object: duplicate key 'a'``), if any."""
        return f"{json_path(self.path)}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class Wording:
    """How one caller words the refusals every reader shares."""

    invalid_json: str  # prefix of JSON problems, e.g. "invalid JSON"
    invalid_yaml: str  # prefix of YAML problems, e.g. "invalid YAML"
    not_a_number: str  # with {name}, e.g. "{name} is not a JSON number"
    duplicate_key: str  # with {key}, e.g. 'duplicate key "{key}"'
    too_deep: str  # e.g. "the document is nested deeper than 32 levels"
    empty: str  # a YAML stream with no document at all
    #: A JSON syntax error, with {invalid_json}, {msg}, {line}, {column}, {pos} and {error}
    #: (Python's own "Expecting value: line 1 column 1 (char 0)").
    syntax: str = "{invalid_json}: {msg} (line {line}, column {column})"
    too_large: str = "larger than {limit} bytes"  # with {limit}
    not_utf8: str = "not valid UTF-8 (byte {start})"  # with {start}


def config_file_wording(*, empty: str, max_depth: int) -> Wording:
    """The wording of a configuration file read as strictly as a policy (settings, the
    admission configuration): one phrase, "not valid YAML/JSON", for either syntax."""
    return Wording(
        invalid_json="not valid YAML/JSON",
        invalid_yaml="not valid YAML/JSON",
        not_a_number="{name} is not a JSON number",
        duplicate_key="duplicate key {key!r}",
        too_deep=f"nested deeper than {max_depth} levels",
        empty=empty,
        not_utf8="not valid YAML/JSON: not UTF-8 (byte {start})",
    )


def scalar_kind(value: object) -> str | None:
    """A JSON scalar's kind for messages ("a string"); None for anything else."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return None


def _at(mark: Any) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def decode_text(
    data: bytes, wording: Wording, *, max_bytes: int | None = None, byte_order_mark: bool = True
) -> str:
    """``data`` as UTF-8 text, at most ``max_bytes`` long.

    A leading byte order mark is dropped (RFC 8259 §8.1 lets a parser ignore it) unless
    ``byte_order_mark`` is false: then it stays, and a JSON reader refuses it.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise StrictInputError(wording.too_large.format(limit=max_bytes))
    if byte_order_mark and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrictInputError(wording.not_utf8.format(start=exc.start)) from None


def _text(data: str | bytes, wording: Wording, max_bytes: int | None, byte_order_mark: bool) -> str:
    if isinstance(data, str):
        if max_bytes is not None and len(data) > max_bytes:  # at least as many bytes
            raise StrictInputError(wording.too_large.format(limit=max_bytes))
        return data
    return decode_text(data, wording, max_bytes=max_bytes, byte_order_mark=byte_order_mark)


# -- JSON ----------------------------------------------------------------------------------------


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs, so duplicates can be reported with their path."""


class _Repeated(Exception):
    """A repeated key met on the fast path: read again with paths to say where."""


# (id(wording), hook) -> (wording, decoder). The wording is held, so its id stays its own.
_DECODERS: dict[tuple[int, Any], tuple[Wording, json.JSONDecoder]] = {}


def _decoder(wording: Wording, object_pairs_hook: Any) -> json.JSONDecoder:
    """One decoder per caller's wording and hook: ``json.loads`` with arguments builds a new
    decoder (and its scanner) on every call, a few microseconds a signed payload. Looked up
    by identity, not by the wording's value (hashing its nine strings costs as much)."""
    key = (id(wording), object_pairs_hook)
    entry = _DECODERS.get(key)
    if entry is None:

        def reject_constant(name: str) -> NoReturn:
            raise StrictInputError(
                f"{wording.invalid_json}: {wording.not_a_number.format(name=name)}"
            )

        decoder = json.JSONDecoder(
            object_pairs_hook=object_pairs_hook, parse_constant=reject_constant
        )
        if len(_DECODERS) >= 64:  # wordings made per call (config files): stay bounded
            _DECODERS.clear()
        entry = _DECODERS[key] = (wording, decoder)
    return entry[1]


def _loads(text: str, wording: Wording, object_pairs_hook: Any) -> Any:
    try:
        if text.startswith("\ufeff"):
            return json.loads(text)  # refused there, in json's own words, as ever
        return _decoder(wording, object_pairs_hook).decode(text)
    except json.JSONDecodeError as exc:
        raise StrictInputError(
            wording.syntax.format(
                invalid_json=wording.invalid_json,
                msg=exc.msg,
                line=exc.lineno,
                column=exc.colno,
                pos=exc.pos,
                error=str(exc),
            )
        ) from None
    except RecursionError:
        raise StrictInputError(wording.too_deep) from None
    except ValueError as exc:  # a number too long to convert (sys.get_int_max_str_digits)
        raise StrictInputError(f"{wording.invalid_json}: {exc}") from None


def parse_json(text: str, wording: Wording) -> Any:
    """``text`` as JSON; a repeated key is refused (without a path) as soon as it is read.

    Depth is not checked beyond the interpreter's own recursion limit: the caller checks the
    values it gets.
    """
    try:
        return _loads(text, wording, _dict_refusing_repeats)
    except _RepeatedKey as exc:
        raise StrictInputError(wording.duplicate_key.format(key=exc.key)) from None


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _dict_refusing_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # name the first key met twice
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return result


def read_json(
    data: str | bytes,
    wording: Wording,
    *,
    max_depth: int,
    max_bytes: int | None = None,
    byte_order_mark: bool = True,
) -> Any:
    """``data`` as JSON nested at most ``max_depth`` levels; problems carry their path.

    Bytes are decoded by :func:`decode_text` (``max_bytes``, ``byte_order_mark``). "Nested
    ``max_depth`` levels": at most ``max_depth`` objects and arrays inside one another (an
    empty one counts); the path of a refusal names the first one too deep.

    Nesting is checked first, on the bytes, before the parser recurses: a text too deep is
    refused as too deep whatever else is wrong with it. The common case then costs one C-speed
    parse, a cheap hook catching repeated keys; only a problem makes the text be read again,
    slowly, to name its path.
    """
    text = _text(data, wording, max_bytes, byte_order_mark)
    raw = data if isinstance(data, bytes) else text.encode("utf-8", "surrogatepass")
    deeper = _nested_deeper_than(raw, max_depth)
    if deeper is False:
        try:
            return _loads(text, wording, _dict_without_repeats)
        except _Repeated:
            return _plain_json(_loads(text, wording, _Pairs), wording, (), max_depth)
    try:
        value = _plain_json(_loads(text, wording, _Pairs), wording, (), max_depth)
    except StrictInputError as exc:
        if deeper is None or exc.message == wording.too_deep:
            raise
        raise StrictInputError(wording.too_deep) from None  # met a lesser problem on the way
    if deeper:  # cannot happen: JSON that parses nests as its brackets do
        raise StrictInputError(wording.too_deep)
    return value


def _dict_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Repeated
    return result


_NOT_QUOTE_OR_BRACKET = bytes(b for b in range(256) if b not in b'"[]{}')
_STRING = re.compile(rb'"[^"]*"?')  # escapes gone; runs to the end if unterminated (linear)
_PARENS = bytes.maketrans(b"[{]}", b"(())")


def _nested_deeper_than(raw: bytes, max_depth: int) -> bool | None:
    """Whether the brackets of the JSON text ``raw`` nest more than ``max_depth`` deep: exact
    for JSON; None when they do not balance and no run of openings says "deeper" already.

    Bytes-level passes only, so it costs a fraction of the parse: escapes are dropped (a run
    of backslashes pairs up from its start), then everything but quotes and brackets, then
    strings (adjacent quotes first: removing a pair keeps every bracket's side of the
    strings), leaving the brackets outside strings; each later pass removes the innermost
    pairs, one level at a time. UTF-8 never hides an ASCII byte inside another character.
    """
    if raw.count(b"[") + raw.count(b"{") <= max_depth:  # a bound: strings' brackets counted
        return False
    kept = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = kept.translate(None, _NOT_QUOTE_OR_BRACKET).replace(b'""', b"")
    if b'"' in kept:
        kept = _STRING.sub(b"", kept)
    nesting = kept.translate(_PARENS)
    if b"(" * (max_depth + 1) in nesting:
        return True
    for _ in range(max_depth):
        if not nesting:
            return False
        shorter = nesting.replace(b"()", b"")
        if len(shorter) == len(nesting):
            return None  # no pair left, yet not empty: ")(" in some order
        nesting = shorter
    if not nesting:
        return False
    return True if b"()" in nesting else None


def _plain_json(
    value: object, wording: Wording, path: tuple[PathPart, ...], max_depth: int
) -> object:
    if isinstance(value, _Pairs | list) and len(path) >= max_depth:
        raise StrictInputError(wording.too_deep, path)  # the (max_depth + 1)th level
    if isinstance(value, _Pairs):
        result: dict[str, object] = {}
        for key, item in value:
            if key in result:
                raise StrictInputError(wording.duplicate_key.format(key=key), path)
            result[key] = _plain_json(item, wording, (*path, key), max_depth)
        return result
    if isinstance(value, list):
        return [_plain_json(item, wording, (*path, i), max_depth) for i, item in enumerate(value)]
    return value


# -- YAML (sigverify._strict_yaml and _strict_pyyaml, imported on the first YAML read) -----------


def read_plain_yaml(
    data: str | bytes,
    wording: Wording,
    *,
    max_depth: int,
    max_bytes: int | None = None,
    allow_empty: bool = False,
) -> object:
    """``data`` as one plain YAML document nested at most ``max_depth`` levels (as
    :func:`read_json` counts them).

    Anchors, aliases, merge keys, non-string keys and tags other than the JSON-like scalars,
    ``!!map`` and ``!!seq`` are refused; problems inside the document carry their path. A
    stream without a document is refused, or None with ``allow_empty``.
    """
    from sigverify import _strict_yaml

    return _strict_yaml.read_plain_yaml(
        data, wording, max_depth=max_depth, max_bytes=max_bytes, allow_empty=allow_empty
    )


def read_json_like_yaml(
    data: str | bytes,
    wording: Wording,
    *,
    max_depth: int | None = None,
    max_bytes: int | None = None,
) -> Any:
    """``data`` as one YAML document read as JSON would be: the safe loader with timestamps
    kept as strings, aliases and repeated keys refused.

    Without ``max_depth``, values are whatever the safe loader builds (``!!binary`` gives
    bytes, ``.nan`` a float): the caller checks them, and their depth, itself. With it, the
    document is refused unless nested at most that deep with only what JSON can hold: string
    keys, finite numbers, strings, booleans and nulls.
    """
    from sigverify import _strict_pyyaml

    return _strict_pyyaml.read_json_like_yaml(
        data, wording, max_depth=max_depth, max_bytes=max_bytes
    )


def read_json_like_yaml_stream(
    data: str | bytes,
    wording: Wording,
    *,
    max_depth: int | None = None,
    max_bytes: int | None = None,
) -> list[Any]:
    """Every document of a YAML stream (``---``), each read as :func:`read_json_like_yaml`
    reads one; an empty document is None."""
    from sigverify import _strict_pyyaml

    return _strict_pyyaml.read_json_like_yaml_stream(
        data, wording, max_depth=max_depth, max_bytes=max_bytes
    )
