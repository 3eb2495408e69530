"""Seeding the embedded store from files: Images, ImageStreams, ImageStreamImages, Lists.

Each ``.json``, ``.yaml`` or ``.yml`` file (directories are walked, files taken in name
order) may hold one object, a YAML stream of objects (``---``), or a ``kind: List``. YAML is
read as JSON would be: timestamps stay strings, aliases and repeated keys are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sigverify.errors import InputError
from sigverify.imageapi.store.image_store import ImageStore
from sigverify.limits import MAX_DOCUMENT_BYTES, MAX_ENVELOPE_DEPTH
from sigverify.strict_input import StrictInputError, Wording, read_json, read_json_like_yaml_stream

__all__ = ["SEED_SUFFIXES", "load_paths", "read_objects", "seed_files"]

SEED_SUFFIXES = (".json", ".yaml", ".yml")


_WORDING = Wording(
    invalid_json="not valid JSON/YAML",
    invalid_yaml="not valid JSON/YAML",
    not_a_number="{name} is not a JSON number",
    duplicate_key="repeated key {key!r}",
    too_deep=f"nested deeper than {MAX_ENVELOPE_DEPTH} levels",
    empty="no document",
)


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
    try:
        if path.suffix == ".json":
            documents: list[Any] = [
                read_json(
                    data, _WORDING, max_depth=MAX_ENVELOPE_DEPTH, max_bytes=MAX_DOCUMENT_BYTES
                )
            ]
        else:
            documents = read_json_like_yaml_stream(
                data, _WORDING, max_depth=MAX_ENVELOPE_DEPTH, max_bytes=MAX_DOCUMENT_BYTES
            )
    except StrictInputError as exc:
        raise InputError(exc.located, path=str(path)) from exc
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


class _ReadFailed(Exception):
    """A seed file that cannot be read (its error already names the file)."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error


def _read_each(path: Path) -> Iterator[dict[str, Any]]:
    try:
        yield from read_objects(path)
    except InputError as exc:
        raise _ReadFailed(exc) from exc


def load_paths(store: ImageStore, paths: Iterable[str | Path]) -> int:
    """Store every object found under ``paths``; returns how many were stored.

    Each file's objects are written in batches (:meth:`ImageStore.put_objects`), in order; an
    object that cannot be stored is reported with its file, after those before it were stored.
    """
    count = 0
    for path in seed_files(paths):
        try:
            count += store.put_objects(_read_each(path))
        except _ReadFailed as failed:
            raise failed.error from failed.error.__cause__
        except InputError as exc:
            raise InputError(str(exc), path=str(path)) from exc
    return count
