"""Kubernetes strategic merge patch, with the merge keys of the image API's Go types.

A merge patch (RFC 7396) whose lists merge by the keys OpenShift's types declare
(``patchMergeKey``): an Image's ``signatures`` by name, a signature's ``conditions`` by
``type``, ``metadata.ownerReferences`` by ``uid``, ``metadata.finalizers`` as a set (an
ImageStream's ``spec.tags`` by ``name``, ``status.tags`` by ``tag``);
``dockerImageMetadata`` is replaced whole (``patchStrategy:"replace"``); any other list is
replaced. Directives (apimachinery ``strategicpatch``): ``$patch`` (``merge``,
``replace``, ``delete``, in a map or a keyed list), ``$retainKeys``,
``$setElementOrder/<list>``, ``$deleteFromPrimitiveList/<list>``; any other ``$`` member is
a 400.

**Ours**: OpenShift declares ``signatures`` merged by ``name``, which a signature carries as
``metadata.name`` (Go's strategic merge fails on it: "does not contain declared merge
key"); here a signature is matched by ``metadata.name``.
"""

from __future__ import annotations

import json
from typing import Any

from sigverify.imageapi.errors import BadRequestError, Cause, InvalidObjectError

__all__ = ["strategic_merge_patch", "unprocessable"]

Path = tuple[str, ...]
#: List fields merged by key (``patchMergeKey``): the key's path within an item. ``[]``
#: stands for "each item of the list".
_MERGE_KEYS: dict[Path, Path] = {
    ("signatures",): ("metadata", "name"),
    ("signatures", "[]", "conditions"): ("type",),
    ("metadata", "ownerReferences"): ("uid",),
    ("spec", "tags"): ("name",),
    ("status", "tags"): ("tag",),
    ("status", "tags", "[]", "conditions"): ("type",),
}
#: Lists of scalars merged as sets (``patchStrategy:"merge"`` on a ``[]string``).
_SET_LISTS: frozenset[Path] = frozenset({("metadata", "finalizers")})
#: Fields replaced whole (``patchStrategy:"replace"``).
_REPLACED: frozenset[Path] = frozenset({("dockerImageMetadata",)})


def unprocessable(message: str) -> InvalidObjectError:
    """A patch that reads but cannot apply: 422 with one cause naming the patch (clients,
    kubectl among them, print an Invalid ``Status`` by its causes)."""
    return InvalidObjectError(message, [Cause("FieldValueInvalid", message, "patch")])


_DELETE = object()
_PATCH = "$patch"
_RETAIN = "$retainKeys"
_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"


def strategic_merge_patch(document: Any, patch: Any) -> Any:
    """Kubernetes strategic merge patch, with the merge keys of the image API's types."""
    if not isinstance(patch, dict):
        raise BadRequestError("strategic merge patch: the body must be a JSON object")
    result = _merge_map(document if isinstance(document, dict) else {}, patch, ())
    if result is _DELETE:
        raise unprocessable('strategic merge patch: "$patch: delete" of the whole object')
    return result


def _merge_map(original: dict[str, Any], patch: dict[str, Any], path: Path) -> Any:
    directive = patch.get(_PATCH, "merge")
    if directive not in ("merge", "replace", "delete"):
        raise BadRequestError(f'strategic merge patch: unknown $patch "{directive}"')
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        original = {}
    result = dict(original)
    orders: dict[str, Any] = {}
    for key, value in patch.items():
        if key in (_PATCH, _RETAIN):
            continue
        if key.startswith(_ORDER):
            orders[key[len(_ORDER) :]] = value
            continue
        if key.startswith(_DELETE_FROM):
            field = key[len(_DELETE_FROM) :]
            if not isinstance(value, list) or not isinstance(result.get(field, []), list):
                raise BadRequestError(f"strategic merge patch: {key} must name a list")
            result[field] = [v for v in result.get(field, []) if v not in value]
            continue
        if key.startswith("$"):
            raise BadRequestError(f'strategic merge patch: unknown directive "{key}"')
        here = (*path, key)
        if value is None:
            result.pop(key, None)
        elif here in _REPLACED:
            result[key] = _clean(value)
        elif isinstance(value, dict):
            old = result.get(key)
            merged = _merge_map(old if isinstance(old, dict) else {}, value, here)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and here in _MERGE_KEYS:
            old = result.get(key)
            result[key] = _merge_keyed(old if isinstance(old, list) else [], value, here)
        elif isinstance(value, list) and here in _SET_LISTS:
            old = result.get(key)
            kept = list(old) if isinstance(old, list) else []
            result[key] = kept + [v for v in value if v not in kept]
        else:
            result[key] = _clean(value)
    for field, order in orders.items():
        result[field] = _reorder(result.get(field), order, (*path, field))
    retain = patch.get(_RETAIN)
    if retain is not None:
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise BadRequestError("strategic merge patch: $retainKeys must be a list of names")
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _key_of(item: Any, key: Path, path: Path) -> Any:
    value = item
    for part in key:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        raise unprocessable(
            f"strategic merge patch: an item of {'.'.join(path)} does not contain the "
            f"declared merge key: {'.'.join(key)}"
        )
    return value


def _merge_keyed(original: list[Any], patch: list[Any], path: Path) -> list[Any]:
    key = _MERGE_KEYS[path]
    items = [i for i in patch if not (isinstance(i, dict) and set(i) == {_PATCH})]
    replace = len(items) != len(patch)
    for directive in (i for i in patch if isinstance(i, dict) and set(i) == {_PATCH}):
        if directive[_PATCH] != "replace":
            raise BadRequestError(
                f'strategic merge patch: a list may only hold "$patch: replace", not '
                f'"{directive[_PATCH]}"'
            )
    result: list[Any] = [] if replace else list(original)
    item_path = (*path, "[]")
    for item in items:
        if not isinstance(item, dict):
            raise unprocessable(
                f"strategic merge patch: the items of {'.'.join(path)} must be objects"
            )
        wanted = _key_of(item, key, path)
        at = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and _key_or_none(old, key) == wanted
            ),
            None,
        )
        merged = _merge_map(result[at] if at is not None else {}, item, item_path)
        if merged is _DELETE:
            if at is not None:
                del result[at]
        elif at is not None:
            result[at] = merged
        else:
            result.append(merged)
    return result


def _key_or_none(item: dict[str, Any], key: Path) -> Any:
    value: Any = item
    for part in key:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _reorder(items: Any, order: Any, path: Path) -> Any:
    """``$setElementOrder``: the listed items first, in that order, then the others."""
    if not isinstance(order, list) or not isinstance(items, list):
        raise BadRequestError(f"strategic merge patch: $setElementOrder/{path[-1]} must be a list")
    if path in _MERGE_KEYS:
        key = _MERGE_KEYS[path]
        wanted = [_key_of(o, key, path) for o in order]
        rank = {json.dumps(k, sort_keys=True): i for i, k in enumerate(wanted)}

        def position(item: Any) -> int:
            found = _key_or_none(item, key) if isinstance(item, dict) else None
            return rank.get(json.dumps(found, sort_keys=True), len(rank))
    else:
        plain = [json.dumps(o, sort_keys=True) for o in order]

        def position(item: Any) -> int:
            text = json.dumps(item, sort_keys=True)
            return plain.index(text) if text in plain else len(plain)

    return sorted(items, key=position)


def _clean(value: Any) -> Any:
    """A value from a patch, without directives (a replaced map may carry ``$patch``)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
