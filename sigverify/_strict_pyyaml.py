"""The PyYAML half of :mod:`sigverify._strict_yaml`, imported on the first YAML read that
needs it: every read but that of a plain policy, which :mod:`sigverify._strict_yaml` reads.

Part of the one reader, not another one: its functions are called only through
:mod:`sigverify.strict_input` (the plain reads by way of :mod:`sigverify._strict_yaml`), and
keep their words and limits.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

from sigverify.strict_input import PathPart, StrictInputError, Wording, _at, _text

__all__ = ["read_json_like_yaml", "read_json_like_yaml_stream", "read_plain_yaml"]


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


def read_plain_yaml(
    data: str | bytes,
    wording: Wording,
    *,
    max_depth: int,
    max_bytes: int | None = None,
    allow_empty: bool = False,
) -> object:
    """As :func:`sigverify.strict_input.read_plain_yaml` documents it (call that)."""
    loader = _PlainLoader(_text(data, wording, max_bytes, True))
    try:
        node = loader.get_single_node()
        if node is None:
            if allow_empty:
                return None
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
    except ValueError as exc:  # a number too long to convert (sys.get_int_max_str_digits)
        raise StrictInputError(f"{wording.invalid_yaml}: {exc}") from None
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
    if isinstance(node, yaml.CollectionNode) and len(path) >= max_depth:
        raise StrictInputError(wording.too_deep, path)  # the (max_depth + 1)th level
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


def read_json_like_yaml(
    data: str | bytes,
    wording: Wording,
    *,
    max_depth: int | None = None,
    max_bytes: int | None = None,
) -> Any:
    """As :func:`sigverify.strict_input.read_json_like_yaml` documents it (call that)."""
    documents = _json_like_yaml(data, wording, max_depth, max_bytes, stream=False)
    if not documents:
        raise StrictInputError(wording.empty)
    return documents[0]


def read_json_like_yaml_stream(
    data: str | bytes,
    wording: Wording,
    *,
    max_depth: int | None = None,
    max_bytes: int | None = None,
) -> list[Any]:
    """As :func:`sigverify.strict_input.read_json_like_yaml_stream` documents it (call that)."""
    return _json_like_yaml(data, wording, max_depth, max_bytes, stream=True)


def _json_like_yaml(
    data: str | bytes,
    wording: Wording,
    max_depth: int | None,
    max_bytes: int | None,
    *,
    stream: bool,
) -> list[Any]:
    loader = _JsonLikeLoader(_text(data, wording, max_bytes, True), wording.duplicate_key)
    try:
        nodes: list[yaml.Node] = []
        if not stream:
            single = loader.get_single_node()
            nodes.extend([] if single is None else [single])
        while stream and loader.check_node():
            nodes.append(loader.get_node())  # type: ignore[arg-type] # a node, since checked
        if max_depth is not None:
            for node in nodes:
                _check_nodes(loader, node, wording, max_depth)
        return [loader.construct_document(node) for node in nodes]
    except _Refused as exc:
        raise StrictInputError(f"{wording.invalid_yaml}: {exc.message}{_at(exc.mark)}") from None
    except yaml.YAMLError as exc:
        raise StrictInputError(_json_like_yaml_problem(exc, wording)) from None
    except RecursionError:
        raise StrictInputError(wording.too_deep) from None
    except ValueError as exc:  # a number too long to convert (sys.get_int_max_str_digits)
        raise StrictInputError(f"{wording.invalid_yaml}: {exc}") from None
    finally:
        loader.dispose()


_YAML_FLOAT = "tag:yaml.org,2002:float"
_YAML_NOT_A_NUMBER = re.compile(r"[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)")


def _check_nodes(
    loader: _JsonLikeLoader, root: yaml.Node, wording: Wording, max_depth: int
) -> None:
    """The composed tree (a tree: aliases were refused while composing) nested at most
    ``max_depth`` levels, with string keys and JSON's scalars only: no ``.nan``/``.inf``, no
    ``!!binary`` or other tags."""
    stack: list[tuple[yaml.Node, tuple[PathPart, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.CollectionNode) and len(path) >= max_depth:
            raise StrictInputError(wording.too_deep, path)  # the (max_depth + 1)th level
        if isinstance(node, yaml.CollectionNode) and node.tag not in (
            _YAML_MAP,
            _YAML_SEQ,
        ):
            raise _tag_refused(node, path)
        if isinstance(node, yaml.MappingNode):
            children: list[tuple[yaml.Node, tuple[PathPart, ...]]] = []
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag != _YAML_STR:
                    raise StrictInputError(f"keys must be strings{_at(key.start_mark)}", path)
                children.append((value, (*path, loader.construct_scalar(key))))
            stack.extend(reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(node.value))))
        elif node.tag == _YAML_FLOAT and _YAML_NOT_A_NUMBER.fullmatch(node.value):
            problem = wording.not_a_number.format(name=node.value)
            raise StrictInputError(f"{wording.invalid_yaml}: {problem}{_at(node.start_mark)}", path)
        elif node.tag not in _YAML_SCALARS:
            raise _tag_refused(node, path)


def _json_like_yaml_problem(exc: yaml.YAMLError, wording: Wording) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"{wording.invalid_yaml}: {exc}"
    problem, context = exc.problem or "", exc.context or ""
    if context and (not problem or problem.startswith("but ")):
        problem = f"{context} {problem}".strip()
    mark = exc.problem_mark or exc.context_mark
    return f"{wording.invalid_yaml}: {problem or 'invalid YAML'}{_at(mark)}"
