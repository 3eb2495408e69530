"""The well-formed review reader (no marshmallow) against the schema it stands in for.

``read_well_formed`` must build exactly the AdmissionRequest the schema builds for every
review the schema loads, and leave every other document to the schema (None), which words
the refusal. Reviews are generated from real ones with members removed, replaced by values
of every JSON type, or added.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigverify.admission.review import (
    AdmissionRequest,
    parse_review,
    read_through_schema,
    read_well_formed,
)
from sigverify.errors import InputError
from tests.admission.builders import KINDS, pod_spec, review, workload
from tests.support.budget import examples

_JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "",
            "x",
            "CREATE",
            "UPDATE",
            "DELETE",
            "CONNECT",
            "create",
            "admission.k8s.io/v1",
            "AdmissionReview",
            "admission.k8s.io/v1beta1",
            "v1",
            "pods",
            "a" * 256,
            "a" * 257,
        ]
    )
    | st.text(max_size=6)
)
_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)

#: Every member the schema reads (and a few it ignores), as paths in the review.
_PATHS = [
    ("apiVersion",),
    ("kind",),
    ("request",),
    ("request", "uid"),
    ("request", "kind"),
    ("request", "kind", "group"),
    ("request", "kind", "version"),
    ("request", "kind", "kind"),
    ("request", "resource"),
    ("request", "resource", "group"),
    ("request", "resource", "version"),
    ("request", "resource", "resource"),
    ("request", "subResource"),
    ("request", "name"),
    ("request", "namespace"),
    ("request", "operation"),
    ("request", "userInfo"),
    ("request", "userInfo", "username"),
    ("request", "object"),
    ("request", "oldObject"),
    ("request", "dryRun"),
    ("request", "options"),
    ("request", "requestKind"),
    ("futureField",),
    ("request", "futureField"),
]


def _base(kind: str, operation: str, dry_run: bool, sub_resource: str | None) -> dict[str, Any]:
    obj = workload(kind, pod_spec(("quay.io/a/web:1",)))
    old = copy.deepcopy(obj) if operation == "UPDATE" else None
    return review(
        obj if operation != "DELETE" else None if old else obj,
        operation=operation,
        old=old,
        dry_run=dry_run,
        sub_resource=sub_resource,
    )


@st.composite
def _reviews(draw: st.DrawFn) -> dict[str, Any]:
    document = _base(
        draw(st.sampled_from(sorted(KINDS))),
        draw(st.sampled_from(["CREATE", "UPDATE", "DELETE", "CONNECT"])),
        draw(st.booleans()),
        draw(st.sampled_from([None, "status", "scale"])),
    )
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_PATHS))
        node: Any = document
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        if draw(st.booleans()):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = draw(_JSON)
    return document


def _through_schema(document: dict[str, Any]) -> AdmissionRequest | str:
    try:
        return read_through_schema(copy.deepcopy(document))
    except InputError as exc:
        return f"refused: {exc}"


@settings(max_examples=examples(1500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_reviews())
def test_the_well_formed_reader_agrees_with_the_schema(document: dict[str, Any]) -> None:
    expected = _through_schema(document)
    fast = read_well_formed(copy.deepcopy(document))
    if isinstance(expected, str):
        assert fast is None, expected  # a review the schema refuses is never read fast
    else:
        assert fast == expected  # and every review the schema loads is, to the same request


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("operation", ["CREATE", "UPDATE", "DELETE", "CONNECT"])
def test_real_reviews_take_the_fast_reader(kind: str, operation: str) -> None:
    document = _base(kind, operation, operation == "UPDATE", None)
    fast = read_well_formed(copy.deepcopy(document))
    assert fast is not None
    assert fast == read_through_schema(document)
    assert parse_review(json.dumps(document).encode()) == fast


def test_the_defaults_of_absent_members_match() -> None:
    document = _base("Pod", "CREATE", False, None)
    for name in (
        "subResource",
        "name",
        "namespace",
        "userInfo",
        "object",
        "oldObject",
        "dryRun",
        "options",
    ):
        document["request"].pop(name, None)
    for name in ("group",):
        document["request"]["kind"].pop(name)
        document["request"]["resource"].pop(name)
    fast = read_well_formed(copy.deepcopy(document))
    assert fast is not None and fast == read_through_schema(document)
    assert (fast.name, fast.namespace, fast.object, fast.dry_run, fast.username) == (
        "",
        "",
        None,
        False,
        "",
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("request", "dryRun"), "true"),
        (("request", "dryRun"), None),
        (("request", "uid"), ""),
        (("request", "uid"), "u" * 257),
        (("request", "operation"), "create"),
        (("request", "name"), None),
        (("request", "kind", "kind"), ""),
        (("request", "object"), []),
        (("request", "userInfo"), None),
        (("apiVersion",), "admission.k8s.io/v1beta1"),
    ],
)
def test_hand_picked_deviations_agree(path: tuple[str, ...], value: Any) -> None:
    document = _base("Deployment", "CREATE", False, None)
    node: Any = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    expected = _through_schema(document)
    fast = read_well_formed(copy.deepcopy(document))
    assert fast == (None if isinstance(expected, str) else expected)
    body = json.dumps(document).encode()
    if isinstance(expected, str):
        with pytest.raises(InputError) as refused:
            parse_review(body)
        assert f"refused: {refused.value}" == expected
    else:
        assert parse_review(body) == expected


# -- the answer: the review out, without the schema's dump when it would change nothing ----

_TEXTS = st.text(max_size=5)
_ODD = st.integers(-2, 2) | st.booleans() | st.floats(allow_nan=False) | _TEXTS


@given(
    uid=_TEXTS | st.integers(0, 3),
    allowed=st.booleans() | st.integers(0, 2),
    status_code=st.none() | st.integers(100, 599) | st.booleans(),
    message=st.none() | _TEXTS | st.integers(0, 3),
    warnings=st.lists(_ODD, max_size=2),
    annotations=st.dictionaries(_TEXTS, _ODD, max_size=3),
    patch=st.none() | st.just([{"op": "replace", "path": "/spec", "value": "x"}]),
)
def test_the_answer_is_what_the_schema_dumps(**members: Any) -> None:
    from sigverify.admission.review import _REVIEW_OUT_SCHEMA, AdmissionResponse, review_response

    response = AdmissionResponse(
        members["uid"],
        members["allowed"],
        members["status_code"],
        members["message"],
        warnings=members["warnings"],
        audit_annotations=members["annotations"],
        patch=members["patch"],
    )
    answered = review_response(response)
    dumped = _REVIEW_OUT_SCHEMA.dump(answered)
    # Same members, same order, same types: the JSON the API server gets is the same.
    assert json.dumps(answered) == json.dumps(dumped)
    assert answered == dumped
