"""Seeding the embedded store from files: Images, ImageStreams, ImageStreamImages, Lists.

Each ``.json``, ``.yaml`` or ``.yml`` file (directories are walked, files taken in name
order) may hold one object, a YAML stream of objects (``---``), or a ``kind: List``. YAML is
read as JSON would be: timestamps stay strings, aliases and repeated keys are refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from sigverify.errors import InputError
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.limits import MAX_DOCUMENT_BYTES

__all__ = ["SEED_SUFFIXES", "load_paths", "read_objects", "seed_files"]

SEED_SUFFIXES = (".json", ".yaml", ".yml")
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _JsonLikeLoader(yaml.SafeLoader):
    """The safe loader without implicit timestamps (JSON has none), aliases, or repeats."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML reads it as a class attribute
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"repeated key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def seed_files(paths: Iterable[str | Path]) -> list[Path]:
    """The seed files under ``paths`` (files as given; directories walked, sorted)."""
    files: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SEED_SUFFIXES)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise InputError("no such file or directory", path=str(path))
    return files


def read_objects(path: Path) -> Iterator[dict[str, Any]]:
    """The objects in one seed file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputError(f"larger than {MAX_DOCUMENT_BYTES} bytes", path=str(path))
    try:
        text = data.decode("utf-8")
        if path.suffix == ".json":
            documents: list[Any] = [json.loads(text)]
        else:
            documents = list(yaml.load_all(text, Loader=_JsonLikeLoader))
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise InputError(f"not valid JSON/YAML: {exc}", path=str(path)) from exc
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict):
            raise InputError("each document must be a mapping", path=str(path))
        items = document.get("items") if document.get("kind") == "List" else [document]
        for item in items or []:
            if not isinstance(item, dict):
                raise InputError("each List item must be a mapping", path=str(path))
            yield item


def load_paths(store: ImageStore, paths: Iterable[str | Path]) -> int:
    """Store every object found under ``paths``; returns how many were stored."""
    count = 0
    for path in seed_files(paths):
        for obj in read_objects(path):
            try:
                store.put_object(obj)
            except InputError as exc:
                raise InputError(str(exc), path=str(path)) from exc
            count += 1
    return count
