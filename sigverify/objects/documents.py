"""Reading and writing Image / ImageStreamImage documents (JSON or YAML, files or bytes).

Untrusted bytes become typed objects here, in one place, under named limits: a size cap
(``limits.MAX_DOCUMENT_BYTES``), a nesting cap, UTF-8 only, YAML through the safe loader
with aliases refused (no "billion laughs"), and every value checked to be plain JSON so
that what is written back is what was read.
"""

from __future__ import annotations

import math
import sys
from typing import Any, BinaryIO, Literal

from sigverify.errors import ClusterError
from sigverify.limits import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH
from sigverify.objects._errors import DocumentError
from sigverify.objects._fast_load import Unsure, load_image_fast, load_image_stream_image_fast
from sigverify.objects.types import Image, ImageStreamImage
from sigverify.strict_input import (
    StrictInputError,
    Wording,
    json_path,
    parse_json,
    read_json_like_yaml,
    scalar_kind,
)

__all__ = [
    "API_VERSIONS",
    "MAX_DOCUMENT_DEPTH",
    "DocumentError",
    "UpstreamDocumentError",
    "dump_document",
    "image_of",
    "load_document",
    "parse_document_bytes",
    "read_document_file",
]

#: apiVersion values accepted; "v1" is what OpenShift 3's legacy API group answered.
API_VERSIONS = ("image.openshift.io/v1", "v1")
_KIND_TYPES: dict[str, type[Image | ImageStreamImage]] = {
    "Image": Image,
    "ImageStreamImage": ImageStreamImage,
}
# Members only an Image has at its top level: their presence settles a kind-less document.
_IMAGE_MEMBERS = frozenset(
    {
        "dockerImageReference",
        "dockerImageMetadata",
        "dockerImageManifest",
        "dockerImageLayers",
        "signatures",
        "dockerImageSignatures",
        "dockerImageManifests",
    }
)
_WORDING = Wording(
    invalid_json="not valid JSON",
    invalid_yaml="not valid YAML",
    not_a_number="{name} is not a number",
    duplicate_key="duplicate key {key!r}",
    too_deep=f"nested deeper than {MAX_DOCUMENT_DEPTH} levels",
    empty="document is empty",
)


def _is_plain_json(node: Any, depth: int = 0) -> bool:
    """True when :func:`_check_json_value` finds nothing wrong with ``node`` (at ``depth``).

    The common case, without the paths that only an error needs. It may say False where
    there is nothing wrong (a subclass of a JSON type): the checker then decides.
    """
    if depth >= MAX_DOCUMENT_DEPTH and (
        depth > MAX_DOCUMENT_DEPTH or (isinstance(node, dict | list) and node)
    ):
        return False  # a member here, even a scalar, would be one level too deep
    kind = type(node)
    if kind is str or kind is bool or kind is int or node is None:
        return True
    if kind is dict:
        for key, value in node.items():
            if type(key) is not str:
                return False
            kind = type(value)
            if not (kind is str or kind is bool or kind is int or value is None) and not (
                _is_plain_json(value, depth + 1)
            ):
                return False
        return True
    if kind is list:
        for value in node:
            kind = type(value)
            if not (kind is str or kind is bool or kind is int or value is None) and not (
                _is_plain_json(value, depth + 1)
            ):
                return False
        return True
    return kind is float and math.isfinite(node)


def _check_json_value(document: Any) -> None:
    """Every value plain JSON (str keys, finite numbers), nested at most MAX_DOCUMENT_DEPTH."""
    if not _is_plain_json(document):
        _name_the_problem(document)


def _name_the_problem(document: Any) -> None:
    """:func:`_check_json_value`'s definition: raise :class:`DocumentError` at the first
    problem's path, if there is one."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DOCUMENT_DEPTH:
            raise DocumentError(_WORDING.too_deep, path=json_path(path))
        if isinstance(node, dict):
            for key, value in reversed(node.items()):
                if not isinstance(key, str):
                    raise DocumentError(
                        f"object keys must be strings, not {type(key).__name__}",
                        path=json_path(path) or None,
                    )
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend(
                (value, (*path, index)) for index, value in reversed(list(enumerate(node)))
            )
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise DocumentError("not a finite number", path=json_path(path))
        elif node is not None and not isinstance(node, str | bool | int):
            raise DocumentError(
                f"not a JSON value ({type(node).__name__})",
                path=json_path(path) or None,
            )


# --- entry points ---------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    scalar = scalar_kind(value)
    if scalar is not None:
        return scalar
    return "an array" if isinstance(value, list) else "an object"


def _kind_of(document: dict[str, Any]) -> str:
    kind = document.get("kind")
    if kind is None:
        # Inferred by shape: an ImageStreamImage is {metadata, image} and nothing of an Image.
        image = document.get("image")
        if isinstance(image, dict) and not _IMAGE_MEMBERS.intersection(document):
            return "ImageStreamImage"
        return "Image"
    if not isinstance(kind, str):
        raise DocumentError("must be a string", path="kind")
    if kind not in _KIND_TYPES:
        raise DocumentError(
            f"unsupported kind {kind!r}: expected Image or ImageStreamImage", path="kind"
        )
    return kind


def load_document(data: object) -> Image | ImageStreamImage:
    """Load a decoded JSON/YAML document (kind ``Image`` or ``ImageStreamImage``).

    Raise :class:`DocumentError` (an :class:`InputError`) whose ``path`` names the first
    problem, such as ``signatures[2].content``.
    """
    # A well-formed document is read in one pass that also stands in for the plain-JSON
    # check (sigverify.objects._fast_load); anything it is unsure of, and every error, takes
    # the checks below and the schemas, in their order, as before.
    if type(data) is dict:
        try:
            return _load_well_formed(data)
        except (Unsure, DocumentError):
            pass
    _check_json_value(data)
    if not isinstance(data, dict):
        raise DocumentError(f"document must be a JSON object, not {_json_type(data)}")
    kind = _kind_of(data)
    _check_api_version(data)
    # Well-formed documents skip the schemas (and marshmallow's import); the rest, and every
    # error, is theirs (sigverify.objects._fast_load).
    try:
        if kind == "ImageStreamImage":
            return load_image_stream_image_fast(data)
        return load_image_fast(data)
    except Unsure:
        pass
    from sigverify.objects.schemas import load_image, load_image_stream_image

    if kind == "ImageStreamImage":
        return load_image_stream_image(data)
    return load_image(data)


def _check_api_version(document: dict[str, Any]) -> None:
    api_version = document.get("apiVersion")
    if api_version is not None and api_version not in API_VERSIONS:
        raise DocumentError(
            f"unsupported apiVersion {api_version!r}: expected image.openshift.io/v1",
            path="apiVersion",
        )


def _load_well_formed(document: dict[str, Any]) -> Image | ImageStreamImage:
    """:func:`load_document`'s answer for a well-formed document, or :class:`Unsure` or a
    :class:`DocumentError` (which the caller drops: the full checks come first)."""
    kind = _kind_of(document)
    _check_api_version(document)
    if kind == "ImageStreamImage":
        return load_image_stream_image_fast(document)
    return load_image_fast(document)


class UpstreamDocumentError(ClusterError):
    """The image API answered with an object sigverify cannot read, or of another kind."""


def image_of(
    document: object, *, answer_to: Literal["Image", "ImageStreamImage"] | None = None
) -> Image:
    """The Image a document carries: an Image itself, or an ImageStreamImage's ``image``.

    ``document`` is a decoded JSON/YAML object, or one already loaded. Without
    ``answer_to`` it is input (a file, a request body, an admitted object): either kind is
    taken, and a document that cannot be read raises :class:`DocumentError`. With it, it is
    the image API's answer to a request for that kind: it must be of that kind, and one that
    cannot be read, or of another kind, raises :class:`UpstreamDocumentError` (the API's
    fault, not the caller's).
    """
    if isinstance(document, Image | ImageStreamImage):
        loaded = document
    else:
        try:
            loaded = load_document(document)
        except DocumentError as exc:
            if answer_to is None:
                raise
            raise UpstreamDocumentError(
                f"the image API answered with an {answer_to} sigverify cannot read: {exc}"
            ) from exc
    if answer_to is not None and not isinstance(loaded, _KIND_TYPES[answer_to]):
        raise UpstreamDocumentError(
            f"the image API answered a request for an {answer_to} with an {type(loaded).__name__}"
        )
    return loaded.image if isinstance(loaded, ImageStreamImage) else loaded


def dump_document(obj: Image | ImageStreamImage) -> dict[str, Any]:
    """The JSON object for ``obj``: what was read, plus the changes made on purpose."""
    if not isinstance(obj, Image | ImageStreamImage):
        raise TypeError(f"not an Image or ImageStreamImage: {type(obj).__name__}")
    from sigverify.objects.schemas import dump_model

    return dump_model(obj)


def _decode_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        raise DocumentError("not a text document (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not valid UTF-8 at byte {exc.start}") from exc


def parse_document_bytes(data: bytes, *, source: str) -> Image | ImageStreamImage:
    """Parse a JSON or YAML document (told apart by its first character) and load it.

    ``source`` names the input in error messages (a file name, ``<stdin>``, ``request body``).
    """
    try:
        if len(data) > MAX_DOCUMENT_BYTES:
            raise DocumentError(f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
        text = _decode_text(data)
        stripped = text.lstrip(" \t\r\n")
        if not stripped:
            raise DocumentError("document is empty")
        try:
            if stripped[0] in "{[":
                document = parse_json(stripped, _WORDING)
            else:
                # JSON-like YAML: timestamps stay strings, aliases and repeated keys refused.
                document = read_json_like_yaml(text, _WORDING)
                if document is None:
                    raise DocumentError(_WORDING.empty)
        except StrictInputError as exc:
            raise DocumentError(exc.message) from exc
        return load_document(document)
    except DocumentError as exc:
        raise DocumentError(exc.problem, path=exc.path, source=source) from exc


def _read_capped(stream: BinaryIO) -> bytes:
    # One byte over the cap is enough to tell an oversized document.
    return stream.read(MAX_DOCUMENT_BYTES + 1)


def read_document_file(path: str) -> Image | ImageStreamImage:
    """Read and load a document file; ``-`` reads standard input."""
    if path == "-":
        return parse_document_bytes(_read_capped(sys.stdin.buffer), source="<stdin>")
    try:
        with open(path, "rb") as stream:
            data = _read_capped(stream)
    except FileNotFoundError as exc:
        raise DocumentError("no such file", source=path) from exc
    except IsADirectoryError as exc:
        raise DocumentError("is a directory, not a file", source=path) from exc
    except PermissionError as exc:
        raise DocumentError("permission denied", source=path) from exc
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}", source=path) from exc
    return parse_document_bytes(data, source=path)
