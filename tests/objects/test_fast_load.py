"""The fast document reader gives the schemas' answer, or none (issue 12).

:mod:`sigverify.objects._fast_load` reads well-formed documents without marshmallow and
without a deep copy; the schemas remain the definition. Whenever the fast reader answers, the
answer must equal the schemas' (the same model, the same preserved record); whenever the
schemas refuse, the fast reader must not answer.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import fields

from sigverify.objects import schemas
from sigverify.objects._fast_load import (
    MODELS,
    Unsure,
    load_image_fast,
    load_image_stream_image_fast,
)
from sigverify.objects.documents import load_document
from sigverify.objects.schemas import DocumentError
from tests.objects import strategies
from tests.objects.samples import full_image
from tests.support.budget import examples

_GENERAL = {
    "Image": (schemas.ImageSchema, load_image_fast),
    "ImageStreamImage": (schemas.ImageStreamImageSchema, load_image_stream_image_fast),
}


def both(kind: str, document: Any) -> tuple[Any, Any]:
    """(fast answer or Unsure, general answer or its DocumentError), on private copies."""
    schema, fast = _GENERAL[kind]
    try:
        fast_answer: Any = fast(copy.deepcopy(document))
    except Unsure:
        fast_answer = Unsure
    try:
        general: Any = schemas._load(schema, document)
    except DocumentError as exc:
        general = exc
    return fast_answer, general


def assert_same_build(fast: Any, general: Any) -> None:
    """The fast reader builds its models without their ``__init__``: each must still be of
    the same class with the same instance dict (every field, in declaration order) as the
    one the schemas build, all the way down."""
    assert type(fast) is type(general)
    if dataclasses.is_dataclass(general):
        assert (
            list(vars(fast)) == list(vars(general)) == [f.name for f in dataclasses.fields(general)]
        )
        for name in vars(general):
            assert_same_build(getattr(fast, name), getattr(general, name))
    elif isinstance(general, tuple | list):
        assert len(fast) == len(general)
        for fast_item, general_item in zip(fast, general, strict=True):
            assert_same_build(fast_item, general_item)
    elif isinstance(general, dict):
        assert list(fast) == list(general)
        for key in general:
            assert_same_build(fast[key], general[key])


def assert_agree(kind: str, document: Any) -> Any:
    fast, general = both(kind, document)
    if fast is not Unsure:
        assert not isinstance(general, DocumentError), general
        assert fast == general
        assert fast.preserved == general.preserved
        assert_same_build(fast, general)
    return fast


@st.composite
def mutated(draw: st.DrawFn, documents: st.SearchStrategy[Any]) -> Any:
    """A valid document with one member somewhere replaced, nulled or removed."""
    document = draw(documents)
    parents: list[Any] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list) and node:
            parents.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    if not parents:
        return document
    parent = draw(st.sampled_from(parents))
    key: Any = draw(
        st.sampled_from(list(parent) if isinstance(parent, dict) else range(len(parent)))
    )
    action = draw(st.sampled_from(["replace", "null", "remove"]))
    if action == "remove":
        del parent[key]
    else:
        parent[key] = (
            None
            if action == "null"
            else draw(strategies.json_values | st.text(max_size=80) | strategies.base64_blobs)
        )
    return document


@pytest.mark.slow
@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(strategies.images)
def test_valid_images_take_the_fast_path_with_the_same_model(document: dict[str, Any]) -> None:
    assert assert_agree("Image", document) is not Unsure


@pytest.mark.slow
@settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
@given(strategies.stream_images)
def test_valid_stream_images_take_the_fast_path(document: dict[str, Any]) -> None:
    assert assert_agree("ImageStreamImage", document) is not Unsure


@pytest.mark.slow
@settings(max_examples=examples(500), suppress_health_check=[HealthCheck.too_slow])
@given(mutated(strategies.images))
def test_broken_images_are_left_to_the_schemas(document: dict[str, Any]) -> None:
    assert_agree("Image", document)


@pytest.mark.slow
@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(mutated(strategies.stream_images))
def test_broken_stream_images_are_left_to_the_schemas(document: dict[str, Any]) -> None:
    assert_agree("ImageStreamImage", document)


@pytest.mark.slow
@settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
@given(mutated(strategies.images) | strategies.images)
def test_load_document_answers_as_the_schemas_do(document: dict[str, Any]) -> None:
    document["kind"] = "Image"
    try:
        general: Any = schemas._load(schemas.ImageSchema, document)
    except DocumentError as exc:
        general = exc
    try:
        answer: Any = load_document(copy.deepcopy(document))
    except DocumentError as exc:
        answer = exc
    if isinstance(general, DocumentError):
        assert isinstance(answer, DocumentError)
        # load_document checks kind and apiVersion first; the rest is the schemas' message.
        if answer.path not in ("kind", "apiVersion"):
            assert (answer.path, answer.problem) == (general.path, general.problem)
    else:
        assert answer == general


def test_the_model_does_not_share_the_callers_objects() -> None:
    document = full_image()
    loaded = load_image_fast(document)
    before = schemas.dump_model(loaded)
    for value in document.values():
        if isinstance(value, dict):
            value["changed"] = True
    document["metadata"]["annotations"] = {"changed": "yes"}
    assert schemas.dump_model(loaded) == before


@pytest.mark.parametrize("schema_name", sorted(MODELS))
def test_the_table_matches_the_schemas(schema_name: str) -> None:
    schema = getattr(schemas, schema_name)()
    fast = MODELS[schema_name]
    assert fast.model is schema.model
    declared = {
        (field.data_key or name, name, isinstance(field, fields.List), field.required)
        for name, field in schema.fields.items()
    }
    mirrored = {(m.key, m.attr, m.is_list, m.required) for m in fast.members}
    assert mirrored == declared
