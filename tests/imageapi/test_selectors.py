"""Label and field selectors as kube-apiserver reads them; everything it would refuse is a 400
(``BadRequestError``), never ignored (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.imageapi.errors import BadRequestError
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.selectors import (
    MAX_REQUIREMENTS,
    MAX_SELECTOR_CHARS,
    ListSelector,
    parse_field_selector,
    parse_label_selector,
    selected_page,
)
from tests.imageapi.builders import digest_of, image, stream
from tests.support.budget import examples


def _labelled(labels: dict[str, str] | None) -> dict[str, Any]:
    return {"metadata": {"name": "x", **({"labels": labels} if labels is not None else {})}}


OBJECTS = {
    "none": None,
    "empty": {},
    "prod": {"tier": "prod", "team": "payments"},
    "dev": {"tier": "dev", "team": "payments", "example.com/size": "12"},
    "blank": {"tier": ""},
}


@pytest.mark.parametrize(
    ("selector", "matched"),
    [
        ("", {"none", "empty", "prod", "dev", "blank"}),
        ("tier", {"prod", "dev", "blank"}),
        ("!tier", {"none", "empty"}),
        ("tier=prod", {"prod"}),
        ("tier==prod", {"prod"}),
        ("tier = prod", {"prod"}),
        ("tier!=prod", {"none", "empty", "dev", "blank"}),
        ("tier=", {"blank"}),
        ("tier in (prod,dev)", {"prod", "dev"}),
        ("tier in (prod, dev)", {"prod", "dev"}),
        ("tier notin (prod)", {"none", "empty", "dev", "blank"}),
        ("tier in (prod,)", {"prod", "blank"}),
        ("tier in ()", {"blank"}),  # labels.Parse reads "()" as the empty value
        ("tier,team=payments", {"prod", "dev"}),
        ("team=payments,tier!=dev", {"prod"}),
        ("example.com/size>10", {"dev"}),
        ("example.com/size<10", set()),
        ("example.com/size", {"dev"}),
        ("tier in (prod),!team", set()),
    ],
)
def test_label_selectors(selector: str, matched: set[str]) -> None:
    parsed = parse_label_selector(selector)
    assert {name for name, labels in OBJECTS.items() if parsed.matches(_labelled(labels))} == (
        matched
    )


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("a b", "unable to parse requirement: found 'b', expected: '=', '!=', '==', 'in', notin'"),
        ("a=b c", "unable to parse requirement: found 'c', expected: ',' or 'end of string'"),
        ("a in b", "unable to parse requirement: found 'b', expected: '('"),
        ("a in (b", "unable to parse requirement: found 'end of string', expected: ',' or ')'"),
        ("a>b", "for 'Gt', 'Lt' operators, the value must be an integer: 'b'"),
        ("=a", "unable to parse requirement: found '=', expected: identifier"),
        ("a,", "unable to parse requirement: found 'end of string', expected: identifier"),
        ("!a=b", "unable to parse requirement: found '=', expected: ',' or 'end of string'"),
        ("-a=b", 'key: Invalid value: "-a": name part must consist of alphanumeric'),
        ("UPPER.Example/a=b", 'key: Invalid value: "UPPER.Example/a": a prefix must be a DNS'),
        ("a=-b", 'values[0]: Invalid value: "-b": a valid label value must be 63'),
        ("a=" + "b" * 64, "a valid label value must be 63 characters or less"),
    ],
)
def test_label_selector_errors(selector: str, message: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse_label_selector(selector)
    assert message in str(caught.value)


def test_label_selector_bounds() -> None:
    with pytest.raises(BadRequestError, match=f"longer than {MAX_SELECTOR_CHARS} characters"):
        parse_label_selector("a" * (MAX_SELECTOR_CHARS + 1))
    many = ",".join(f"k{i}" for i in range(MAX_REQUIREMENTS + 1))
    with pytest.raises(BadRequestError, match=f"more than {MAX_REQUIREMENTS} requirements"):
        parse_label_selector(many)
    values = ",".join(f"v{i}" for i in range(MAX_REQUIREMENTS + 1))
    with pytest.raises(BadRequestError, match=f"more than {MAX_REQUIREMENTS} values"):
        parse_label_selector(f"k in ({values})")


STREAM = {
    "metadata": {"name": "app", "namespace": "demo"},
    "spec": {"dockerImageRepository": "r.example.com/a,b=c"},
    "status": {"dockerImageRepository": "registry:5000/demo/app"},
}


@pytest.mark.parametrize(
    ("selector", "kind", "matches"),
    [
        ("", "Image", True),
        ("metadata.name=app", "ImageStream", True),
        ("metadata.name==app", "ImageStream", True),
        ("metadata.name!=app", "ImageStream", False),
        ("metadata.name=app,metadata.namespace=demo", "ImageStream", True),
        ("metadata.namespace=other", "ImageStream", False),
        ("metadata.namespace=", "Image", False),
        ("status.dockerImageRepository=registry:5000/demo/app", "ImageStream", True),
        (r"spec.dockerImageRepository=r.example.com/a\,b\=c", "ImageStream", True),
    ],
)
def test_field_selectors(selector: str, kind: str, matches: bool) -> None:
    assert parse_field_selector(selector, kind).matches(STREAM) is matches


def test_an_image_has_no_namespace() -> None:
    assert parse_field_selector("metadata.namespace=", "Image").matches({"metadata": {}})


@pytest.mark.parametrize(
    ("selector", "kind", "message"),
    [
        ("spec.foo=1", "ImageStream", "field label not supported: spec.foo"),
        ("spec.dockerImageRepository=x", "Image", "field label not supported: spec.dockerImage"),
        ("status.phase!=x", "Image", "field label not supported: status.phase"),
        ("metadata.name", "Image", "invalid selector: 'metadata.name'; can't understand"),
        ("metadata.name =x", "Image", "field label not supported: metadata.name "),
        (r"metadata.name=a\b", "Image", "invalid escape sequence"),
        ("metadata.labels.a=b", "Image", "field label not supported: metadata.labels.a"),
    ],
)
def test_field_selector_errors(selector: str, kind: str, message: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse_field_selector(selector, kind)
    assert message in str(caught.value)


def test_field_selector_bounds() -> None:
    with pytest.raises(BadRequestError, match="longer than"):
        parse_field_selector("metadata.name=" + "a" * MAX_SELECTOR_CHARS, "Image")
    many = ",".join(["metadata.name=a"] * (MAX_REQUIREMENTS + 1))
    with pytest.raises(BadRequestError, match=f"more than {MAX_REQUIREMENTS} terms"):
        parse_field_selector(many, "Image")


def _selector(labels: str = "", fields: str = "", kind: str = "Image") -> ListSelector:
    return ListSelector(parse_label_selector(labels), parse_field_selector(fields, kind))


def test_selected_pages_fill_up_to_the_limit_and_continue(store: ImageStore) -> None:
    seeds = [f"img{i:02d}" for i in range(20)]
    for i, seed in enumerate(seeds):
        store.put_object(
            image(seed, metadata={"name": digest_of(seed), "labels": {"n": str(i % 3)}})
        )
    wanted = sorted(digest_of(s) for i, s in enumerate(seeds) if i % 3 == 0)
    names: list[str] = []
    token = None
    pages = 0
    while True:
        items, meta = selected_page(store.list_page, "Image", None, 2, token, _selector("n=0"))
        pages += 1
        assert "remainingItemCount" not in meta and meta["resourceVersion"]
        names += [item["metadata"]["name"] for item in items]
        token = meta.get("continue")
        if token is None:
            break
        assert len(items) == 2  # full pages until the last
    assert names == wanted and pages == 4  # 7 matches: 2, 2, 2, 1


def test_selected_page_without_limit_and_without_selector(store: ImageStore) -> None:
    store.put_object(image("a", metadata={"name": digest_of("a"), "labels": {"x": "1"}}))
    store.put_object(image("b"))
    items, meta = selected_page(store.list_page, "Image", None, None, None, _selector("x"))
    assert [i["metadata"]["name"] for i in items] == [digest_of("a")] and "continue" not in meta
    items, meta = selected_page(store.list_page, "Image", None, 1, None, _selector())
    assert len(items) == 1 and meta["remainingItemCount"] == 1  # unselected: the store's page


def test_selected_streams_by_namespace_field(store: ImageStore) -> None:
    store.put_object(stream("demo", "app", {}))
    store.put_object(stream("other", "app", {}))
    selector = _selector(fields="metadata.namespace=other", kind="ImageStream")
    items, _ = selected_page(store.list_page, "ImageStream", None, None, None, selector)
    assert [i["metadata"]["namespace"] for i in items] == ["other"]


def test_a_sparse_selection_stops_at_the_scan_bound_with_a_continue(
    store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sigverify.imageapi.store import selectors

    for seed in ("a", "b", "c", "d", "e"):
        store.put_object(image(seed))
    monkeypatch.setattr(selectors, "MAX_SCANNED_PER_PAGE", 2)
    items, meta = selected_page(store.list_page, "Image", None, 3, None, _selector("missing"))
    assert items == [] and meta["continue"]  # a page of 3 read, none matched: go on
    items, meta = selected_page(
        store.list_page, "Image", None, 3, meta["continue"], _selector("missing")
    )
    assert items == [] and "continue" not in meta  # the last 2: the end


# -- property: any requirement list, written out with any spacing, selects as Kubernetes says --

_KEYS = st.sampled_from(["a", "tier", "example.com/team", "x-1", "b.c_d"])
_VALUES = st.sampled_from(["", "prod", "dev", "1", "42", "v-1.2_3"])
_REQUIREMENTS = st.one_of(
    st.tuples(st.just("exists"), _KEYS, st.just(())),
    st.tuples(st.just("absent"), _KEYS, st.just(())),
    st.tuples(st.sampled_from(["=", "==", "!="]), _KEYS, st.tuples(_VALUES)),
    st.tuples(
        st.sampled_from(["in", "notin"]),
        _KEYS,
        st.lists(_VALUES, min_size=1, max_size=3).map(tuple),
    ),
    st.tuples(st.sampled_from([">", "<"]), _KEYS, st.tuples(st.sampled_from(["0", "5", "-3"]))),
)
_SPACE = st.sampled_from(["", " ", "  "])


def _text(requirement: tuple[str, str, tuple[str, ...]], space: str) -> str:
    operator, key, values = requirement
    if operator == "exists":
        return key
    if operator == "absent":
        return f"!{key}"
    if operator in ("in", "notin"):
        return f"{key} {operator}{space}({space}{(',' + space).join(values)}{space})"
    return f"{key}{space}{operator}{space}{values[0]}"


def _holds(requirement: tuple[str, str, tuple[str, ...]], labels: dict[str, str]) -> bool:
    operator, key, values = requirement
    present = key in labels
    value = labels.get(key)
    if operator == "exists":
        return present
    if operator == "absent":
        return not present
    if operator in ("=", "=="):
        return present and value == values[0]
    if operator == "!=":
        return value != values[0]
    if operator == "in":
        return present and value in values
    if operator == "notin":
        return value not in values
    if not present or value is None or not value.lstrip("-").isdigit():
        return False
    return int(value) > int(values[0]) if operator == ">" else int(value) < int(values[0])


@settings(max_examples=examples(300), deadline=None)
@given(
    requirements=st.lists(_REQUIREMENTS, min_size=1, max_size=4),
    space=_SPACE,
    labels=st.dictionaries(_KEYS, _VALUES, max_size=4),
)
def test_label_selector_property(
    requirements: list[tuple[str, str, tuple[str, ...]]], space: str, labels: dict[str, str]
) -> None:
    text = ("," + space).join(_text(r, space) for r in requirements)
    expected = all(_holds(r, labels) for r in requirements)
    assert parse_label_selector(text).matches(_labelled(labels)) is expected, text


def _escaped(value: str) -> str:
    """fields.EscapeValue: backslash, comma and equals sign escaped."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


@settings(max_examples=examples(300), deadline=None)
@given(
    name=st.text(alphabet="ab,=\\!@: ", max_size=8),
    other=st.text(alphabet="ab,=\\", max_size=4),
    negated=st.booleans(),
)
def test_field_selector_escapes_property(name: str, other: str, negated: bool) -> None:
    operator = "!=" if negated else "="
    text = f"metadata.name{operator}{_escaped(name)},metadata.namespace={_escaped(other)}"
    selector = parse_field_selector(text, "ImageStream")
    for candidate in (name, name + "x", other):
        obj = {"metadata": {"name": candidate, "namespace": other}}
        assert selector.matches(obj) is ((candidate == name) != negated), (text, candidate)
