"""Seeding the store from files, and the ``sigverify store`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sigverify.cli import cli
from sigverify.cli._commands import register
from sigverify.errors import InputError
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.imageapi.store.seed import load_paths
from tests.imageapi.builders import digest_of, image, stream
from tests.imageapi.demo import APP, SEED_PATHS, TOOLS


def test_the_sample_data_loads_and_resolves(store: ImageStore) -> None:
    assert load_paths(store, SEED_PATHS) == 4
    assert store.counts() == {"images": 2, "imagestreams": 2}
    isi = store.get_imagestreamimage("demo", f"app@{APP}")
    assert isi["image"]["signatures"][0]["type"] == "atomic"
    assert store.get_imagestreamtag("demo", "tools:2.1")["image"]["metadata"]["name"] == TOOLS


def test_yaml_streams_lists_and_string_timestamps(store: ImageStore, tmp_path: Path) -> None:
    folder = tmp_path / "seed"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "kind: List\nitems:\n"
        + "".join(f"- {json.dumps(image(s))}\n" for s in ("one", "two"))
        + "---\n"
        + json.dumps(stream("demo", "s", {"latest": [digest_of("one")]}))
        + "\n"
    )
    (folder / "b.yml").write_text(
        "kind: ImageStream\nmetadata: {name: t, namespace: demo, creationTimestamp: "
        "2026-01-02T03:04:05Z}\n"
    )
    (folder / "ignored.txt").write_text("not a seed")
    assert load_paths(store, [folder]) == 4
    created = store.get_imagestream("demo", "t")["metadata"]["creationTimestamp"]
    assert created == "2026-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x 1\nb: *x\n", "aliases are not allowed"),
        ("kind: Image\nkind: Image\n", "repeated key 'kind'"),
        ("- 1\n", "each document must be a mapping"),
        ("kind: [\n", "not valid JSON/YAML"),
        ("kind: Secret\nmetadata: {name: x}\n", "kind 'Secret' cannot be stored"),
    ],
)
def test_bad_seed_files(store: ImageStore, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as caught:
        load_paths(store, [path])
    assert str(path) in str(caught.value)


def test_a_missing_path_is_an_input_error(store: ImageStore, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        load_paths(store, [tmp_path / "nope"])


def test_store_commands(tmp_path: Path) -> None:
    register(cli)
    runner = CliRunner()
    db = str(tmp_path / "cli.db")
    result = runner.invoke(cli, ["store", "load", *map(str, SEED_PATHS), "--store", db])
    assert result.exit_code == 0, result.output
    assert "stored 4 objects" in result.output and "now 2 images, 2 image streams" in result.output
    result = runner.invoke(cli, ["store", "list", "--store", db])
    assert result.output.splitlines()[0].startswith(f"{TOOLS}  rv=")
    assert "signatures=3" in result.output
    result = runner.invoke(cli, ["store", "list", "--store", db, "--kind", "imagestreams"])
    assert "demo/app  rv=" in result.output and "tags=1.0" in result.output
    result = runner.invoke(cli, ["store", "list", "--store", db, "-o", "json"])
    assert [i["metadata"]["name"] for i in json.loads(result.output)] == [TOOLS, APP]
    as_yaml = runner.invoke(cli, ["store", "list", "--store", db, "-o", "yaml"])
    assert yaml.safe_load(as_yaml.output) == json.loads(result.output)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    result = runner.invoke(cli, ["store", "load", str(bad), "--store", db])
    assert result.exit_code == 2 and "not valid JSON/YAML" in result.output
