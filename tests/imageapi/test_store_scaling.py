"""The store's scans stay linear (issue 12), with the same answers as before.

- A list page is an index range scan: no temporary B-tree, no full scan (EXPLAIN QUERY
  PLAN), and paging visits every object once in ``namespace/name`` order, whatever the
  names, with ``remainingItemCount`` the number of objects after the page.
- A GET by ``stream@id`` reads only the tagged Images whose sub-manifests could match, and
  answers as reading them all did.
- ``put_objects`` writes in batches and stops, as one-by-one did, at the first bad object.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigverify.errors import InputError
from sigverify.imageapi.errors import NotFoundError
from sigverify.imageapi.store import _sqlite
from sigverify.imageapi.store._streams import StreamLayers, _digest_or_image_match
from sigverify.imageapi.store.image_store import ImageStore
from tests.imageapi.builders import digest_of, image, stream
from tests.support.budget import examples


def plan(db_path: Path, sql: str, args: list[Any]) -> str:
    with sqlite3.connect(db_path) as db:
        rows = db.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
    return " | ".join(row[-1] for row in rows)


@pytest.mark.parametrize("namespace", [None, "demo"])
@pytest.mark.parametrize("start", ["", "demo/app", "zzz/x"])
def test_a_page_is_an_index_range_scan(tmp_path: Path, namespace: str | None, start: str) -> None:
    store = ImageStore(tmp_path / "store.db")
    selected = _sqlite._range("ImageStream", namespace, start)
    if selected is None:
        assert namespace is not None and start > namespace + "/"
        return
    where, args, order = selected
    query = f"SELECT {_sqlite._KEY}, body FROM objects WHERE {where} ORDER BY {order} LIMIT ?"
    shown = plan(store.path, query, [*args, 501])
    assert "TEMP B-TREE" not in shown and "SCAN objects" not in shown, shown
    assert (
        "USING INDEX objects_by_key" in shown
        or "USING PRIMARY KEY" in shown
        or ("sqlite_autoindex_objects_1" in shown)
    ), shown
    count = plan(store.path, f"SELECT COUNT(*) FROM objects WHERE {where}", args)
    assert "SCAN objects" not in count or "INDEX" in count, count


_NAMES = st.text(alphabet="ab-./z0", min_size=1, max_size=4)


@pytest.mark.slow
@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(st.tuples(_NAMES, _NAMES), min_size=0, max_size=14, unique=True),
    st.integers(1, 5),
    st.none() | _NAMES,
)
def test_paging_visits_every_stream_once_in_key_order(
    tmp_path_factory: pytest.TempPathFactory,
    streams: list[tuple[str, str]],
    limit: int,
    namespace: str | None,
) -> None:
    store = ImageStore(tmp_path_factory.mktemp("paging") / "store.db")
    store.put_objects(stream(ns, name, {}) for ns, name in streams)
    expected = sorted(
        f"{ns}/{name}" for ns, name in streams if namespace is None or ns == namespace
    )
    seen: list[str] = []
    token = None
    while True:
        items, token, meta = store.list_page("ImageStream", namespace, limit, token)
        seen += [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items]
        if token is None:
            assert "remainingItemCount" not in meta
            break
        assert meta["remainingItemCount"] == len(expected) - len(seen)
    assert seen == expected


def test_a_token_from_before_is_still_read(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store.db")
    store.put_objects(image(seed, signatures=0) for seed in "abcde")
    names = sorted(digest_of(seed) for seed in "abcde")
    old = {"v": 1, "rv": 1000, "start": "/" + names[1]}  # no "left": the format before
    token = base64.urlsafe_b64encode(json.dumps(old).encode()).decode().rstrip("=")
    items, token, meta = store.list_page("Image", None, 2, token)
    assert [i["metadata"]["name"] for i in items] == names[2:4]
    assert meta["remainingItemCount"] == 1
    items, token, meta = store.list_page("Image", None, 2, token)
    assert [i["metadata"]["name"] for i in items] == names[4:] and token is None


def _every_tagged_image(store: ImageStore, namespace: str, name: str, image_id: str) -> str:
    """The answer of the scan before: every tagged Image read, then the greatest match."""
    stream_body = store.get_imagestream(namespace, name)
    candidates: set[str] = set()
    for tag in stream_body["status"]["tags"]:
        for item in tag.get("items") or []:
            candidates.add(item["image"])
    for digest in list(candidates):
        try:
            tagged = store.get_image(digest)
        except NotFoundError:
            continue
        for manifest in tagged.get("dockerImageManifests") or []:
            candidates.add(manifest["digest"])
    matches = sorted(c for c in candidates if _digest_or_image_match(c, image_id))
    if not matches:
        raise NotFoundError("none")
    return matches[-1]


def test_get_by_reference_answers_as_reading_every_tagged_image(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store.db")
    children = [image(f"child{i}", signatures=0) for i in range(3)]
    lists = [
        image(
            f"list{i}",
            signatures=0,
            dockerImageManifests=[{"digest": c["metadata"]["name"]} for c in children[: i + 1]],
        )
        for i in range(3)
    ]
    plain = [image(f"plain{i}", signatures=1) for i in range(20)]
    store.put_objects([*children, *lists, *plain])
    tags = {f"t{i}": [o["metadata"]["name"]] for i, o in enumerate([*lists, *plain])}
    tags["missing"] = [digest_of("not stored")]
    store.put_object(stream("demo", "app", tags))
    ids = [o["metadata"]["name"] for o in [*children, *lists, *plain]]
    ids += [i[:14] for i in ids[:5]] + [i[7:20] for i in ids[:5]]
    ids += ["sha256:", "sha256", "s", digest_of("not stored"), 'a"b', "x\\y", "zz"]
    for image_id in ids:
        try:
            expected = _every_tagged_image(store, "demo", "app", image_id)
        except NotFoundError:
            with pytest.raises(NotFoundError):
                store.get_imagestreamimage("demo", f"app@{image_id}")
            continue
        if expected == digest_of("not stored"):
            with pytest.raises(NotFoundError, match="images"):
                store.get_imagestreamimage("demo", f"app@{image_id}")
            continue
        answer = store.get_imagestreamimage("demo", f"app@{image_id}")
        assert answer["image"]["metadata"]["name"] == expected, image_id


def test_put_objects_stores_those_before_a_bad_object(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store.db")
    good = [image(seed, signatures=0) for seed in "abc"]
    bad: dict[str, Any] = {"kind": "Image", "metadata": {}}
    with pytest.raises(InputError, match=r"metadata\.name"):
        store.put_objects([*good[:2], bad, good[2]], batch=1000)
    assert store.counts()["images"] == 2
    assert store.put_objects([{"kind": "List", "items": good}], batch=2) == 3
    assert store.counts()["images"] == 3


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None)
@given(
    st.sets(st.text(alphabet="sha256:0f-x", min_size=1, max_size=10), max_size=12),
    st.text(alphabet="sha256:0f-x", min_size=1, max_size=6),
)
def test_the_layer_index_finds_the_greatest_match(layers: set[str], image_id: str) -> None:
    hex_parts = []
    for layer in layers:
        algorithm, sep, hex_part = layer.partition(":")
        if sep and algorithm and hex_part:
            hex_parts.append((hex_part, layer))
    index = StreamLayers(0, None, tuple(sorted(layers)), tuple(sorted(hex_parts)))
    expected = max((c for c in layers if _digest_or_image_match(c, image_id)), default=None)
    assert index.greatest_match(image_id) == expected


def test_a_write_refreshes_the_cached_layers(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store.db")
    first, second = image("first", signatures=0), image("second", signatures=0)
    store.put_objects([first, second])
    store.put_object(stream("demo", "app", {"v1": [first["metadata"]["name"]]}))
    prefix = "sha256:"
    assert (
        store.get_imagestreamimage("demo", f"app@{prefix}")["image"]["metadata"]["name"]
        == (first["metadata"]["name"])
    )
    store.put_object(
        stream(
            "demo", "app", {"v1": [first["metadata"]["name"]], "v2": [second["metadata"]["name"]]}
        )
    )
    expected = max(first["metadata"]["name"], second["metadata"]["name"])
    assert store.get_imagestreamimage("demo", f"app@{prefix}")["image"]["metadata"]["name"] == (
        expected
    )
