"""JSON and YAML text read strictly into plain values (dicts, lists, str, int, float, bool, None).

Shared by the policy reader (:mod:`sigverify.policyfile.loader`) and the document reader
(:mod:`sigverify.objects.documents`). Nothing here does I/O: callers decode their bytes, call one
reader, and wrap :class:`StrictInputError` into their own error type. Each caller words its
refusals through a :class:`Wording`, so both keep the messages they have always given.

Always refused: a repeated key (JSON's last-one-wins would hide a value), ``NaN`` and
``Infinity`` (not JSON numbers), and YAML aliases, checked while composing so that alias
expansion ("billion laughs") cannot happen. The two YAML readers differ on purpose:

- :func:`read_plain_yaml` (policies) accepts plain YAML only: no anchors, merge keys or tags
  beyond str/int/float/bool/null, string keys, a depth cap, and every problem with its path;
- :func:`read_json_like_yaml` (Image documents) is the safe loader with timestamps kept as
  strings, so that what Kubernetes wrote reads back as JSON would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import yaml

__all__ = [
    "PathPart",
    "StrictInputError",
    "Wording",
    "parse_json",
    "read_json",
    "read_json_like_yaml",
    "read_plain_yaml",
    "scalar_kind",
]

#: One step from the document root: a mapping key or a list index.
PathPart = str | int


class StrictInputError(Exception):
    """Input refused: ``message``, at ``path`` (empty: the input as a whole)."""

    def __init__(self, message: str, path: tuple[PathPart, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@dataclass(frozen=True)
class Wording:
    """How one caller words the refusals every reader shares."""

    invalid_json: str  # prefix of JSON problems, e.g. "invalid JSON"
    invalid_yaml: str  # prefix of YAML problems, e.g. "invalid YAML"
    not_a_number: str  # with {name}, e.g. "{name} is not a JSON number"
    duplicate_key: str  # with {key}, e.g. 'duplicate key "{key}"'
    too_deep: str  # e.g. "the document is nested deeper than 32 levels"
    empty: str  # a YAML stream with no document at all


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


# -- JSON ----------------------------------------------------------------------------------------


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs, so duplicates can be reported with their path."""


def _loads(text: str, wording: Wording, object_pairs_hook: Any) -> Any:
    def reject_constant(name: str) -> NoReturn:
        raise StrictInputError(f"{wording.invalid_json}: {wording.not_a_number.format(name=name)}")

    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise StrictInputError(
            f"{wording.invalid_json}: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise StrictInputError(wording.too_deep) from None


def parse_json(text: str, wording: Wording) -> Any:
    """``text`` as JSON; a repeated key is refused (without a path) as soon as it is read.

    Depth is not checked beyond the interpreter's own recursion limit: the caller checks the
    values it gets.
    """

    def reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise StrictInputError(wording.duplicate_key.format(key=key))
            out[key] = value
        return out

    return _loads(text, wording, reject_duplicates)


def read_json(text: str, wording: Wording, *, max_depth: int) -> object:
    """``text`` as JSON nested at most ``max_depth`` levels; problems carry their path."""
    return _plain_json(_loads(text, wording, _Pairs), wording, (), max_depth)


def _plain_json(
    value: object, wording: Wording, path: tuple[PathPart, ...], max_depth: int
) -> object:
    if len(path) > max_depth:
        raise StrictInputError(wording.too_deep, path)
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


# -- YAML ----------------------------------------------------------------------------------------


class _Refused(Exception):
    """A YAML construct refused while composing, before anything is built from it."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _RefusingLoader(yaml.SafeLoader):
    """The safe loader, refusing aliases (and anchors, if worded) before any expansion."""

    alias_refusal: ClassVar[str]
    anchor_refusal: ClassVar[str | None] = None

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(self.alias_refusal, event.start_mark)
        if self.anchor_refusal is not None and getattr(event, "anchor", None) is not None:
            raise _Refused(self.anchor_refusal, event.start_mark)
        return super().compose_node(parent, index)


# -- plain YAML (policies) -----------------------------------------------------------------------


class _PlainLoader(_RefusingLoader):
    alias_refusal = "YAML aliases (*name) are not allowed"
    anchor_refusal = "YAML anchors (&name) are not allowed"


_YAML_MAP = "tag:yaml.org,2002:map"
_YAML_SEQ = "tag:yaml.org,2002:seq"
_YAML_STR = "tag:yaml.org,2002:str"
_YAML_MERGE = "tag:yaml.org,2002:merge"
_YAML_SCALARS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")
)


def read_plain_yaml(text: str, wording: Wording, *, max_depth: int) -> object:
    """``text`` as one plain YAML document nested at most ``max_depth`` levels.

    Anchors, aliases, merge keys, non-string keys and tags other than the JSON-like scalars,
    ``!!map`` and ``!!seq`` are refused; problems inside the document carry their path.
    """
    loader = _PlainLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise StrictInputError(wording.empty)
        return _plain_yaml(loader, node, wording, (), max_depth)
    except _Refused as exc:
        raise StrictInputError(exc.message + _at(exc.mark)) from None
    except yaml.MarkedYAMLError as exc:
        problem = ", ".join(part for part in (exc.context, exc.problem) if part) or "syntax error"
        raise StrictInputError(
            f"{wording.invalid_yaml}: {problem}{_at(exc.problem_mark)}"
        ) from None
    except yaml.YAMLError as exc:
        raise StrictInputError(f"{wording.invalid_yaml}: {exc}") from None
    except RecursionError:
        raise StrictInputError(wording.too_deep) from None
    finally:
        loader.dispose()


def _tag_refused(node: yaml.Node, path: tuple[PathPart, ...]) -> StrictInputError:
    return StrictInputError(f"YAML tag {node.tag} is not allowed{_at(node.start_mark)}", path)


def _plain_yaml(
    loader: _PlainLoader,
    node: yaml.Node,
    wording: Wording,
    path: tuple[PathPart, ...],
    max_depth: int,
) -> object:
    if len(path) > max_depth:
        raise StrictInputError(wording.too_deep, path)
    if isinstance(node, yaml.MappingNode):
        if node.tag != _YAML_MAP:
            raise _tag_refused(node, path)
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _YAML_MERGE:
                raise StrictInputError(
                    f"YAML merge keys (<<) are not allowed{_at(key_node.start_mark)}", path
                )
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _YAML_STR:
                raise StrictInputError(f"keys must be strings{_at(key_node.start_mark)}", path)
            key = loader.construct_scalar(key_node)
            if key in result:
                raise StrictInputError(
                    wording.duplicate_key.format(key=key) + _at(key_node.start_mark), path
                )
            result[key] = _plain_yaml(loader, value_node, wording, (*path, key), max_depth)
        return result
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _YAML_SEQ:
            raise _tag_refused(node, path)
        return [
            _plain_yaml(loader, item, wording, (*path, i), max_depth)
            for i, item in enumerate(node.value)
        ]
    if node.tag not in _YAML_SCALARS:
        raise _tag_refused(node, path)
    return loader.construct_object(node, deep=True)


# -- JSON-like YAML (Image documents) ------------------------------------------------------------

_YAML_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _JsonLikeLoader(_RefusingLoader):
    """The safe loader, narrowed to what JSON can say.

    Timestamps stay strings (JSON has no time type; the schemas parse them), aliases are
    refused (Kubernetes never writes them, and they are how alias bombs explode), and a
    repeated key is an error rather than a silent last-one-wins.
    """

    alias_refusal = "YAML aliases are not allowed"

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML reads it as a class attribute
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _YAML_TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, text: str, duplicate_key: str) -> None:
        super().__init__(text)
        self._duplicate_key = duplicate_key

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str):
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, self._duplicate_key.format(key=key), key_node.start_mark
                        )
                    seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_json_like_yaml(text: str, wording: Wording) -> Any:
    """``text`` as one YAML document read as JSON would be (see :class:`_JsonLikeLoader`).

    Values are whatever the safe loader builds (``!!binary`` gives bytes): the caller checks
    them, and their depth, itself.
    """
    loader = _JsonLikeLoader(text, wording.duplicate_key)
    try:
        node = loader.get_single_node()
        if node is None:
            raise StrictInputError(wording.empty)
        return loader.construct_document(node)
    except _Refused as exc:
        raise StrictInputError(f"{wording.invalid_yaml}: {exc.message}{_at(exc.mark)}") from None
    except yaml.YAMLError as exc:
        raise StrictInputError(_json_like_yaml_problem(exc, wording)) from None
    except RecursionError:
        raise StrictInputError(wording.too_deep) from None
    finally:
        loader.dispose()


def _json_like_yaml_problem(exc: yaml.YAMLError, wording: Wording) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"{wording.invalid_yaml}: {exc}"
    problem, context = exc.problem or "", exc.context or ""
    if context and (not problem or problem.startswith("but ")):
        problem = f"{context} {problem}".strip()
    mark = exc.problem_mark or exc.context_mark
    return f"{wording.invalid_yaml}: {problem or 'invalid YAML'}{_at(mark)}"
