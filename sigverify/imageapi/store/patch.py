"""PATCH bodies applied to a stored object, as kube-apiserver applies them.

- ``application/merge-patch+json``: JSON merge patch (RFC 7396): objects merge member by
  member, ``null`` removes a member, anything else (arrays too) replaces.
- ``application/json-patch+json``: JSON patch (RFC 6902): ``add``, ``remove``, ``replace``,
  ``move``, ``copy``, ``test``, on JSON pointers (RFC 6901), applied in order, all or none.
  At most :data:`MAX_PATCH_OPERATIONS` operations, and ``copy`` may copy at most
  :data:`~sigverify.limits.MAX_DOCUMENT_BYTES` in all (as Kubernetes bounds both).
- ``application/strategic-merge-patch+json``: :mod:`.strategic_merge`.

A patch that cannot be read is a 400 (``BadRequestError``); one that reads but cannot apply
(a failed ``test``, a missing path, a list item without its merge key) is a 422
(``InvalidObjectError``), as kube-apiserver answers them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from sigverify.imageapi.errors import BadRequestError, InvalidObjectError
from sigverify.imageapi.store.strategic_merge import strategic_merge_patch, unprocessable
from sigverify.limits import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH

__all__ = [
    "JSON_PATCH",
    "MAX_PATCH_OPERATIONS",
    "MERGE_PATCH",
    "PATCH_TYPES",
    "STRATEGIC_MERGE_PATCH",
    "apply_patch",
    "json_patch",
    "merge_patch",
    "strategic_merge_patch",
]

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)
#: Most operations in one JSON patch (Kubernetes allows 10000; an Image needs a handful).
MAX_PATCH_OPERATIONS = 1000


def _unprocessable(message: str) -> InvalidObjectError:
    return unprocessable(message)


def apply_patch(content_type: str, document: Any, patch: Any) -> Any:
    """``document`` with ``patch`` (already parsed JSON) of ``content_type`` applied; the
    result may be nested at most :data:`~sigverify.limits.MAX_DOCUMENT_DEPTH` levels (JSON
    patch can nest deeper than its body: a ``copy`` of an object into itself, repeated)."""
    appliers: dict[str, Callable[[Any, Any], Any]] = {
        MERGE_PATCH: merge_patch,
        JSON_PATCH: json_patch,
        STRATEGIC_MERGE_PATCH: strategic_merge_patch,
    }
    result = appliers[content_type](document, patch)
    if _deeper_than(result, MAX_DOCUMENT_DEPTH):
        raise _unprocessable(
            f"the patched object is nested deeper than {MAX_DOCUMENT_DEPTH} levels"
        )
    return result


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects/arrays more than ``limit`` levels (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


# -- RFC 7396 ---------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 ``MergePatch(Target, Patch)``; ``target`` is not changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- RFC 6902 ---------------------------------------------------------------------------------


def _pointer(text: Any, member: str) -> list[str]:
    """RFC 6901: ``""`` is the whole document, else ``/``-separated, ``~1`` and ``~0`` escaped."""
    if not isinstance(text, str):
        raise BadRequestError(f"json patch: {member} must be a string")
    if text == "":
        return []
    if not text.startswith("/"):
        raise BadRequestError(f'json patch: {member} "{text}" must start with "/"')
    tokens = text[1:].split("/")
    for token in tokens:
        rest = token.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise BadRequestError(f'json patch: {member} "{text}" has an invalid "~" escape')
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


#: The array index past the last element (RFC 6902 §4.1).
_END = "-"


def _index(token: str, size: int, *, append: bool, path: str) -> int:
    if append and token == _END:
        return size
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise _unprocessable(f'json patch: "{path}": "{token}" is not an array index')
    index = int(token)
    if index > size or (index == size and not append):
        raise _unprocessable(f'json patch: "{path}": index {index} is out of range')
    return index


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), append=False, path=path)]
        else:
            raise _unprocessable(f'json patch: "{path}": the path does not exist')
    if not isinstance(node, dict | list):
        raise _unprocessable(f'json patch: "{path}": the parent is not an object or an array')
    return node


def _get(doc: Any, tokens: list[str], path: str) -> Any:
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _unprocessable(f'json patch: "{path}": the path does not exist')
        return parent[last]
    return parent[_index(last, len(parent), append=False, path=path)]


def _add(doc: Any, tokens: list[str], value: Any, path: str) -> Any:
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        parent.insert(_index(tokens[-1], len(parent), append=True, path=path), value)
    return doc


def _remove(doc: Any, tokens: list[str], path: str) -> tuple[Any, Any]:
    if not tokens:
        raise _unprocessable("json patch: the whole document cannot be removed")
    parent = _parent(doc, tokens, path)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise _unprocessable(f'json patch: "{path}": the path does not exist')
        return doc, parent.pop(tokens[-1])
    return doc, parent.pop(_index(tokens[-1], len(parent), append=False, path=path))


def _equal(a: Any, b: Any) -> bool:
    """JSON equality (RFC 6902 §4.6): ``true`` is not ``1``, member order does not count."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _operations(patch: Any) -> list[dict[str, Any]]:
    if not isinstance(patch, list):
        raise BadRequestError("json patch: the body must be an array of operations")
    if len(patch) > MAX_PATCH_OPERATIONS:
        raise _unprocessable(
            f"The allowed maximum operations in a JSON patch is {MAX_PATCH_OPERATIONS}, "
            f"got {len(patch)}"
        )
    for i, op in enumerate(patch):
        if not isinstance(op, dict) or not isinstance(op.get("op"), str) or "path" not in op:
            raise BadRequestError(f"json patch: operation {i} must be an object with op and path")
        if op["op"] in ("add", "replace", "test") and "value" not in op:
            raise BadRequestError(f'json patch: operation {i} ("{op["op"]}") has no value')
        if op["op"] in ("move", "copy") and "from" not in op:
            raise BadRequestError(f'json patch: operation {i} ("{op["op"]}") has no from')
        if op["op"] not in ("add", "remove", "replace", "move", "copy", "test"):
            raise BadRequestError(f'json patch: operation {i}: unknown op "{op["op"]}"')
    return patch


def json_patch(document: Any, patch: Any) -> Any:
    """RFC 6902: every operation in order on a copy of ``document``; the first that fails
    fails the whole patch."""
    doc = copy.deepcopy(document)
    copied = 0
    for op in _operations(patch):
        path = op["path"]
        tokens = _pointer(path, "path")
        name = op["op"]
        if name == "add":
            doc = _add(doc, tokens, copy.deepcopy(op["value"]), path)
        elif name == "remove":
            doc, _ = _remove(doc, tokens, path)
        elif name == "replace":
            _get(doc, tokens, path)
            if tokens:
                doc, _ = _remove(doc, tokens, path)
            doc = _add(doc, tokens, copy.deepcopy(op["value"]), path)
        elif name == "test":
            if not _equal(_get(doc, tokens, path), op["value"]):
                raise _unprocessable(f'json patch: testing value "{path}" failed')
        else:
            source = op["from"]
            from_tokens = _pointer(source, "from")
            if name == "move":
                if tokens[: len(from_tokens)] == from_tokens and tokens != from_tokens:
                    raise _unprocessable(
                        f'json patch: cannot move "{source}" into its own child "{path}"'
                    )
                _get(doc, from_tokens, source)
                doc, value = _remove(doc, from_tokens, source) if from_tokens else (None, doc)
            else:
                value = copy.deepcopy(_get(doc, from_tokens, source))
                copied += len(json.dumps(value))
                if copied > MAX_DOCUMENT_BYTES:
                    raise _unprocessable(
                        f"json patch: the copies exceed {MAX_DOCUMENT_BYTES} bytes in all"
                    )
            doc = _add(doc, tokens, value, path)
    return doc
