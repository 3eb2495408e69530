"""The patch formats on their own: RFC 7396 and RFC 6902 (their appendices' examples) and
strategic merge with the image API's merge keys."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sigverify.imageapi.errors import BadRequestError, InvalidObjectError
from sigverify.imageapi.store.patch import (
    MAX_PATCH_OPERATIONS,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)

# RFC 7396 Appendix A, every row.
_MERGE_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), _MERGE_EXAMPLES)
def test_rfc7396_examples(target: Any, patch: Any, result: Any) -> None:
    before = json.dumps(target)
    assert merge_patch(target, patch) == result
    assert json.dumps(target) == before  # the target is not changed


# RFC 6902 Appendix A (A.13, a duplicate "op", is refused by the strict reader before this).
_JSON_PATCH_EXAMPLES = [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    (
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    (
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    (
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    ({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": 1}, "c": {"b": 1}}),
    ({"a": 1}, [{"op": "replace", "path": "", "value": [1]}], [1]),
]


@pytest.mark.parametrize(("document", "patch", "result"), _JSON_PATCH_EXAMPLES)
def test_rfc6902_examples(document: Any, patch: Any, result: Any) -> None:
    before = json.dumps(document)
    assert json_patch(document, patch) == result
    assert json.dumps(document) == before


@pytest.mark.parametrize(
    ("document", "patch", "message"),
    [
        (
            {"baz": "qux"},
            [{"op": "test", "path": "/baz", "value": "bar"}],
            'testing value "/baz" failed',
        ),
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz/bat", "value": "qux"}],
            '"/baz/bat": the path does not exist',
        ),
        (
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": "10"}],
            'testing value "/~01" failed',
        ),
        ({"a": True}, [{"op": "test", "path": "/a", "value": 1}], 'testing value "/a" failed'),
        ({"a": [1]}, [{"op": "remove", "path": "/a/1"}], '"/a/1": index 1 is out of range'),
        (
            {"a": [1]},
            [{"op": "add", "path": "/a/01", "value": 2}],
            '"/a/01": "01" is not an array index',
        ),
        ({"a": {}}, [{"op": "remove", "path": "/a/b"}], '"/a/b": the path does not exist'),
        ({"a": {}}, [{"op": "replace", "path": "/b", "value": 1}], '"/b": the path does not exist'),
        (
            {"a": {"b": 1}},
            [{"op": "move", "from": "/a", "path": "/a/b/c"}],
            'cannot move "/a" into its own child "/a/b/c"',
        ),
        ({"a": 1}, [{"op": "remove", "path": ""}], "the whole document cannot be removed"),
        (
            {"a": "x"},
            [{"op": "add", "path": "/a/b", "value": 1}],
            '"/a/b": the parent is not an object or an array',
        ),
    ],
)
def test_rfc6902_failures_are_422(document: Any, patch: Any, message: str) -> None:
    with pytest.raises(InvalidObjectError) as caught:
        json_patch(document, patch)
    assert str(caught.value) == f"json patch: {message}"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"op": "add"}, "json patch: the body must be an array of operations"),
        ([{"op": "add", "path": "/a"}], 'json patch: operation 0 ("add") has no value'),
        ([{"op": "copy", "path": "/a"}], 'json patch: operation 0 ("copy") has no from'),
        ([{"op": "frobnicate", "path": "/a"}], 'json patch: operation 0: unknown op "frobnicate"'),
        ([{"path": "/a"}], "json patch: operation 0 must be an object with op and path"),
        (["add"], "json patch: operation 0 must be an object with op and path"),
        ([{"op": "remove", "path": "a"}], 'json patch: path "a" must start with "/"'),
        ([{"op": "remove", "path": "/a~2"}], 'json patch: path "/a~2" has an invalid "~" escape'),
        ([{"op": "remove", "path": 5}], "json patch: path must be a string"),
    ],
)
def test_unreadable_json_patches_are_400(patch: Any, message: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        json_patch({"a": 1}, patch)
    assert str(caught.value) == message


def test_json_patch_bounds_operations_and_copies() -> None:
    many = [{"op": "test", "path": "/a", "value": 1}] * (MAX_PATCH_OPERATIONS + 1)
    with pytest.raises(InvalidObjectError) as caught:
        json_patch({"a": 1}, many)
    assert str(caught.value) == (
        f"The allowed maximum operations in a JSON patch is {MAX_PATCH_OPERATIONS}, "
        f"got {MAX_PATCH_OPERATIONS + 1}"
    )
    assert json_patch({"a": 1}, many[:MAX_PATCH_OPERATIONS]) == {"a": 1}
    # Each copy doubles the document: 30 of them would be 2**30 times its size.
    bomb = [{"op": "copy", "from": "/a", "path": f"/a/x{i}"} for i in range(30)]
    with pytest.raises(InvalidObjectError) as caught:
        json_patch({"a": {"blob": "x" * 1024}}, bomb)
    assert str(caught.value) == "json patch: the copies exceed 16777216 bytes in all"


def _signature(name: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "type": "atomic", "content": "YQ==", **extra}


def _condition(kind: str, status: str) -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": "R"}


def test_strategic_merge_signatures_by_name_and_conditions_by_type() -> None:
    image = {
        "metadata": {"name": "sha256:x", "labels": {"a": "1"}},
        "signatures": [
            _signature(
                "sha256:x@one",
                conditions=[_condition("Trusted", "True"), _condition("ForImage", "True")],
            ),
            _signature("sha256:x@two"),
        ],
        "dockerImageLayers": [{"name": "l1"}, {"name": "l2"}],
    }
    patch = {
        "metadata": {"labels": {"b": "2"}},
        "signatures": [
            {
                "metadata": {"name": "sha256:x@one"},
                "conditions": [{"type": "ForImage", "status": "False"}],
            },
            _signature("sha256:x@three"),
        ],
        "dockerImageLayers": [{"name": "l3"}],
    }
    result = strategic_merge_patch(image, patch)
    assert result == {
        "metadata": {"name": "sha256:x", "labels": {"a": "1", "b": "2"}},
        "signatures": [
            _signature(
                "sha256:x@one",
                conditions=[
                    _condition("Trusted", "True"),
                    {"type": "ForImage", "status": "False", "reason": "R"},
                ],
            ),
            _signature("sha256:x@two"),
            _signature("sha256:x@three"),
        ],
        "dockerImageLayers": [{"name": "l3"}],  # no merge key declared: replaced
    }


def test_strategic_merge_directives() -> None:
    image = {
        "metadata": {"name": "n", "finalizers": ["a", "b"], "annotations": {"x": "1", "y": "2"}},
        "signatures": [_signature("n@1"), _signature("n@2"), _signature("n@3")],
        "dockerImageMetadata": {"Config": {"Env": ["A=1"]}, "Size": 5},
    }
    patch = {
        "metadata": {
            "finalizers": ["c", "a"],
            "$deleteFromPrimitiveList/finalizers": ["b"],
            "annotations": {"$patch": "replace", "z": "3"},
        },
        "signatures": [{"metadata": {"name": "n@2"}, "$patch": "delete"}],
        "$setElementOrder/signatures": [
            {"metadata": {"name": "n@3"}},
            {"metadata": {"name": "n@1"}},
        ],
        "dockerImageMetadata": {"Size": 6},
    }
    assert strategic_merge_patch(image, patch) == {
        "metadata": {"name": "n", "finalizers": ["a", "c"], "annotations": {"z": "3"}},
        "signatures": [_signature("n@3"), _signature("n@1")],
        "dockerImageMetadata": {"Size": 6},  # patchStrategy:"replace"
    }
    replaced = strategic_merge_patch(
        image, {"signatures": [{"$patch": "replace"}, _signature("n@9")]}
    )
    assert replaced["signatures"] == [_signature("n@9")]
    retained = strategic_merge_patch({"a": 1, "b": 2, "c": 3}, {"$retainKeys": ["a", "c"], "c": 4})
    assert retained == {"a": 1, "c": 4}
    deleted = strategic_merge_patch({"a": {"b": 1}, "c": 2}, {"a": {"$patch": "delete"}})
    assert deleted == {"c": 2}


@pytest.mark.parametrize(
    ("patch", "error", "message"),
    [
        ([], BadRequestError, "strategic merge patch: the body must be a JSON object"),
        ({"$frob": 1}, BadRequestError, 'strategic merge patch: unknown directive "$frob"'),
        (
            {"$patch": "sideways"},
            BadRequestError,
            'strategic merge patch: unknown $patch "sideways"',
        ),
        (
            {"signatures": [{"type": "atomic"}]},
            InvalidObjectError,
            "strategic merge patch: an item of signatures does not contain the declared merge "
            "key: metadata.name",
        ),
        (
            {"signatures": ["x"]},
            InvalidObjectError,
            "strategic merge patch: the items of signatures must be objects",
        ),
        (
            {"signatures": [{"$patch": "delete"}]},
            BadRequestError,
            'strategic merge patch: a list may only hold "$patch: replace", not "delete"',
        ),
        (
            {"$patch": "delete"},
            InvalidObjectError,
            'strategic merge patch: "$patch: delete" of the whole object',
        ),
    ],
)
def test_strategic_merge_refusals(patch: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        strategic_merge_patch({"signatures": []}, patch)
    assert str(caught.value) == message


def test_a_patched_object_is_no_deeper_than_a_document() -> None:
    from sigverify.imageapi.store.patch import JSON_PATCH, MERGE_PATCH, apply_patch
    from sigverify.limits import MAX_DOCUMENT_DEPTH

    nest = [{"op": "copy", "from": "/a", "path": "/a/x"}] * (MAX_DOCUMENT_DEPTH - 1)
    with pytest.raises(InvalidObjectError) as caught:
        apply_patch(JSON_PATCH, {"a": {}}, nest)
    assert str(caught.value) == "the patched object is nested deeper than 100 levels"
    fits = apply_patch(JSON_PATCH, {"a": {}}, nest[:-1])
    assert json.dumps(fits).count("{") == MAX_DOCUMENT_DEPTH
    assert apply_patch(MERGE_PATCH, {"a": 1}, {"b": {"c": None}}) == {"a": 1, "b": {}}
