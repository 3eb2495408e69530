"""Every way a document can be refused: one named case each, exact JSON path and message.

Byte-level cases are files under ``invalid_documents/``; structural ones are a valid
document with one thing broken, so each case shows exactly what it breaks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sigverify.errors import InputError
from sigverify.limits import (
    MAX_DOCUMENT_BYTES,
    MAX_SIGNATURE_BLOB_BYTES,
    MAX_SIGNATURES_PER_IMAGE,
)
from sigverify.objects.documents import (
    MAX_DOCUMENT_DEPTH,
    DocumentError,
    load_document,
    parse_document_bytes,
    read_document_file,
)
from tests.objects.samples import DIGEST, full_image

INVALID = Path(__file__).resolve().parent / "invalid_documents"

# --- byte-level: files ----------------------------------------------------------------------

FILE_CASES = {
    "empty.json": "document is empty",
    "whitespace-only.yaml": "document is empty",
    "comment-only.yaml": "document is empty",
    "binary-garbage.json": "not a text document (contains NUL bytes)",
    "invalid-utf8.json": "not valid UTF-8 at byte 26",
    "truncated.json": "not valid JSON: Unterminated string starting at (line 1, column 243)",
    "top-level-list.json": "document must be a JSON object, not an array",
    "top-level-string.yaml": "document must be a JSON object, not a string",
    "two-documents.yaml": (
        "not valid YAML: expected a single document in the stream "
        "but found another document (line 3, column 1)"
    ),
    "duplicate-key.json": "duplicate key 'metadata'",
    "duplicate-key.yaml": "not valid YAML: duplicate key 'metadata' (line 3, column 1)",
    "nan.json": "not valid JSON: NaN is not a number",
    "alias-bomb.yaml": "not valid YAML: YAML aliases are not allowed (line 2, column 8)",
    "broken.yaml": "not valid YAML: expected ',' or '}', but got '<stream end>' (line 2, column 1)",
    "yaml-python-tag.yaml": (
        "not valid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:os.system' (line 3, column 4)"
    ),
}
FILE_CASES_WITH_PATH = {
    "infinity.yaml": ("x", "not a finite number"),
    "yaml-binary.yaml": ("x", "not a JSON value (bytes)"),
    "yaml-int-key.yaml": ("x", "object keys must be strings, not int"),
}


def test_every_invalid_file_has_a_case() -> None:
    on_disk = {path.name for path in INVALID.iterdir()}
    assert on_disk == set(FILE_CASES) | set(FILE_CASES_WITH_PATH)


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_invalid_file(name: str) -> None:
    path = str(INVALID / name)
    with pytest.raises(DocumentError) as caught:
        read_document_file(path)
    assert caught.value.path is None
    assert caught.value.problem == FILE_CASES[name]
    assert caught.value.source == path
    assert str(caught.value) == f"{path}: {FILE_CASES[name]}"


@pytest.mark.parametrize("name", sorted(FILE_CASES_WITH_PATH))
def test_invalid_file_with_path(name: str) -> None:
    path = str(INVALID / name)
    json_path, problem = FILE_CASES_WITH_PATH[name]
    with pytest.raises(DocumentError) as caught:
        read_document_file(path)
    assert (caught.value.path, caught.value.problem) == (json_path, problem)
    assert str(caught.value) == f"{path}: {json_path}: {problem}"


def test_oversized_document() -> None:
    data = b" " * MAX_DOCUMENT_BYTES + b"{}"
    with pytest.raises(DocumentError) as caught:
        parse_document_bytes(data, source="big.json")
    assert str(caught.value) == f"big.json: document is larger than {MAX_DOCUMENT_BYTES} bytes"


def test_document_of_exactly_the_cap_is_read() -> None:
    text = json.dumps({"metadata": {"name": DIGEST}})
    data = text.encode() + b" " * (MAX_DOCUMENT_BYTES - len(text))
    assert len(data) == MAX_DOCUMENT_BYTES
    assert parse_document_bytes(data, source="cap.json").name == DIGEST


def test_oversized_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as stream:
        stream.truncate(MAX_DOCUMENT_BYTES * 4)
    with pytest.raises(DocumentError) as caught:
        read_document_file(str(path))
    # A sparse file of NULs: the size cap answers before the content is looked at.
    assert caught.value.problem == f"document is larger than {MAX_DOCUMENT_BYTES} bytes"


def test_nesting_deeper_than_the_cap() -> None:
    deep: Any = "x"
    for _ in range(MAX_DOCUMENT_DEPTH):
        deep = [deep]
    document = {"metadata": {"name": DIGEST}, "dockerImageMetadata": deep}
    with pytest.raises(DocumentError) as caught:
        parse_document_bytes(json.dumps(document).encode(), source="deep.json")
    assert caught.value.problem == f"nested deeper than {MAX_DOCUMENT_DEPTH} levels"
    # The string inside the innermost list sits at path length MAX_DOCUMENT_DEPTH + 1.
    assert caught.value.path == "dockerImageMetadata" + "[0]" * MAX_DOCUMENT_DEPTH


def test_nesting_at_the_cap_is_read() -> None:
    deep: Any = "x"
    for _ in range(MAX_DOCUMENT_DEPTH - 1):
        deep = [deep]
    document = {"metadata": {"name": DIGEST}, "dockerImageMetadata": deep}
    image = parse_document_bytes(json.dumps(document).encode(), source="deep.json")
    assert image.docker_image_metadata == deep  # type: ignore[union-attr]


def test_nesting_beyond_the_parser_recursion_limit() -> None:
    data = b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(DocumentError) as caught:
        parse_document_bytes(data, source="abyss.json")
    assert caught.value.problem == f"nested deeper than {MAX_DOCUMENT_DEPTH} levels"


@pytest.mark.slow
def test_yaml_nesting_beyond_the_parser_recursion_limit() -> None:
    data = b"a: " + b"[" * 50_000 + b"]" * 50_000 + b"\n"
    with pytest.raises(DocumentError) as caught:
        parse_document_bytes(data, source="abyss.yaml")
    assert caught.value.problem == f"nested deeper than {MAX_DOCUMENT_DEPTH} levels"


def test_missing_file() -> None:
    with pytest.raises(DocumentError) as caught:
        read_document_file("/nonexistent/image.json")
    assert str(caught.value) == "/nonexistent/image.json: no such file"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as caught:
        read_document_file(str(tmp_path))
    assert str(caught.value) == f"{tmp_path}: is a directory, not a file"


def test_errors_are_input_errors() -> None:
    with pytest.raises(InputError):
        parse_document_bytes(b"", source="x")


def test_non_json_python_value_is_refused() -> None:
    with pytest.raises(DocumentError) as caught:
        load_document({"metadata": {"name": DIGEST}, "x": {1, 2}})
    assert (caught.value.path, caught.value.problem) == ("x", "not a JSON value (set)")


# --- structural: one thing broken in a valid document ---------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    """An edit that sets the member at a dotted path (``signatures.0.content``)."""

    def edit(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _delete(path: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return edit


_SIG = "signatures.0"
_COND = "signatures.0.conditions.0"
_BIG_BLOB = base64.b64encode(b"\x00" * (MAX_SIGNATURE_BLOB_BYTES + 1)).decode()
_MAX_BLOB = base64.b64encode(b"\x00" * MAX_SIGNATURE_BLOB_BYTES).decode()
_NOT_A_DIGEST = "must be a manifest digest sha256:<64 lowercase hex>"
_ONE_AT = "must have exactly one '@' (<imageName>@<signatureName>)"
_BOTH_PARTS = "must be <imageName>@<signatureName> with both parts non-empty"

# name: (edit, JSON path, message)
STRUCTURAL_CASES: dict[str, tuple[Edit, str, str]] = {
    # signature content
    "content-bad-character": (
        _set(f"{_SIG}.content", "aGVs*G8="),
        "signatures[0].content",
        "not valid base64: invalid character",
    ),
    "content-url-safe-alphabet": (
        _set(f"{_SIG}.content", "-_-_"),
        "signatures[0].content",
        "not valid base64: invalid character",
    ),
    "content-line-break": (
        _set(f"{_SIG}.content", "aGVs\nbG8="),
        "signatures[0].content",
        "not valid base64: invalid character",
    ),
    "content-missing-padding": (
        _set(f"{_SIG}.content", "aGVsbG8"),
        "signatures[0].content",
        "not valid base64: incorrect padding",
    ),
    "content-extra-padding": (
        _set(f"{_SIG}.content", "aGVsbG8=="),
        "signatures[0].content",
        "not valid base64: incorrect padding",
    ),
    "content-padding-in-the-middle": (
        _set(f"{_SIG}.content", "aG=sbG8="),
        "signatures[0].content",
        "not valid base64: incorrect padding",
    ),
    "content-non-zero-padding-bits": (
        _set(f"{_SIG}.content", "aGVsbG9="),
        "signatures[0].content",
        "not valid base64: non-zero padding bits",
    ),
    "content-not-a-string": (
        _set(f"{_SIG}.content", 12),
        "signatures[0].content",
        "must be a base64 string",
    ),
    "content-missing": (_delete(f"{_SIG}.content"), "signatures[0].content", "required"),
    "content-null": (_set(f"{_SIG}.content", None), "signatures[0].content", "required"),
    "content-empty": (_set(f"{_SIG}.content", ""), "signatures[0].content", "required"),
    # signature type and name
    "type-missing": (_delete(f"{_SIG}.type"), "signatures[0].type", "required"),
    "type-null": (_set(f"{_SIG}.type", None), "signatures[0].type", "required"),
    "type-empty": (_set(f"{_SIG}.type", ""), "signatures[0].type", "required"),
    "type-not-a-string": (_set(f"{_SIG}.type", 1), "signatures[0].type", "must be a string"),
    "signature-name-without-at": (
        _set(f"{_SIG}.metadata.name", DIGEST),
        "signatures[0].metadata.name",
        _ONE_AT,
    ),
    "signature-name-with-two-ats": (
        _set(f"{_SIG}.metadata.name", f"{DIGEST}@a@b"),
        "signatures[0].metadata.name",
        _ONE_AT,
    ),
    "signature-name-empty-image-part": (
        _set(f"{_SIG}.metadata.name", "@abc"),
        "signatures[0].metadata.name",
        _BOTH_PARTS,
    ),
    "signature-name-empty-suffix": (
        _set(f"{_SIG}.metadata.name", f"{DIGEST}@"),
        "signatures[0].metadata.name",
        _BOTH_PARTS,
    ),
    "signature-name-missing": (
        _delete(f"{_SIG}.metadata.name"),
        "signatures[0].metadata.name",
        "required",
    ),
    "signature-name-not-a-string": (
        _set(f"{_SIG}.metadata.name", ["a@b"]),
        "signatures[0].metadata.name",
        "must be a string",
    ),
    "signature-metadata-missing": (
        _delete(f"{_SIG}.metadata"),
        "signatures[0].metadata",
        "required",
    ),
    "signature-metadata-not-an-object": (
        _set(f"{_SIG}.metadata", "x"),
        "signatures[0].metadata",
        "must be an object",
    ),
    # conditions
    "condition-time-with-a-space": (
        _set(f"{_COND}.lastProbeTime", "2016-03-17 18:12:57Z"),
        "signatures[0].conditions[0].lastProbeTime",
        "not an RFC 3339 time: '2016-03-17 18:12:57Z'",
    ),
    "condition-time-without-zone": (
        _set(f"{_COND}.lastTransitionTime", "2016-03-17T18:12:57"),
        "signatures[0].conditions[0].lastTransitionTime",
        "not an RFC 3339 time: '2016-03-17T18:12:57'",
    ),
    "condition-time-impossible-date": (
        _set(f"{_COND}.lastProbeTime", "2016-02-30T00:00:00Z"),
        "signatures[0].conditions[0].lastProbeTime",
        "not an RFC 3339 time: '2016-02-30T00:00:00Z'",
    ),
    "condition-time-leap-second": (
        _set(f"{_COND}.lastProbeTime", "2016-12-31T23:59:60Z"),
        "signatures[0].conditions[0].lastProbeTime",
        "not an RFC 3339 time: '2016-12-31T23:59:60Z'",
    ),
    "condition-time-a-number": (
        _set(f"{_COND}.lastProbeTime", 1458239713),
        "signatures[0].conditions[0].lastProbeTime",
        "must be an RFC 3339 time string",
    ),
    "condition-status-invalid": (
        _set(f"{_COND}.status", "Maybe"),
        "signatures[0].conditions[0].status",
        "must be one of True, False, Unknown, not 'Maybe'",
    ),
    "condition-status-lower-case": (
        _set(f"{_COND}.status", "true"),
        "signatures[0].conditions[0].status",
        "must be one of True, False, Unknown, not 'true'",
    ),
    "condition-status-missing": (
        _delete(f"{_COND}.status"),
        "signatures[0].conditions[0].status",
        "required",
    ),
    "condition-type-missing": (
        _delete(f"{_COND}.type"),
        "signatures[0].conditions[0].type",
        "required",
    ),
    "conditions-not-a-list": (
        _set(f"{_SIG}.conditions", {"type": "Trusted"}),
        "signatures[0].conditions",
        "must be a list",
    ),
    "condition-not-an-object": (
        _set(f"{_SIG}.conditions", ["Trusted"]),
        "signatures[0].conditions[0]",
        "must be an object",
    ),
    # other signature members
    "created-not-a-time": (
        _set(f"{_SIG}.created", "yesterday"),
        "signatures[0].created",
        "not an RFC 3339 time: 'yesterday'",
    ),
    "signed-claims-value-not-a-string": (
        _set(f"{_SIG}.signedClaims", {"docker-reference": 1}),
        'signatures[0].signedClaims["docker-reference"]',
        "must be a string",
    ),
    "signed-claims-not-an-object": (
        _set(f"{_SIG}.signedClaims", ["a"]),
        "signatures[0].signedClaims",
        "must be an object",
    ),
    "issued-to-not-an-object": (
        _set(f"{_SIG}.issuedTo", "me"),
        "signatures[0].issuedTo",
        "must be an object",
    ),
    "public-key-id-not-a-string": (
        _set(f"{_SIG}.issuedTo.publicKeyID", 0x1234),
        "signatures[0].issuedTo.publicKeyID",
        "must be a string",
    ),
    "image-identity-not-a-string": (
        _set(f"{_SIG}.imageIdentity", False),
        "signatures[0].imageIdentity",
        "must be a string",
    ),
    # the signature list
    "signatures-not-a-list": (_set("signatures", {"a": 1}), "signatures", "must be a list"),
    "signature-a-string": (_set("signatures.0", "sig"), "signatures[0]", "must be an object"),
    "signature-null": (_set("signatures.0", None), "signatures[0]", "must be an object"),
    "too-many-signatures": (
        lambda document: document.__setitem__(
            "signatures", document["signatures"] * (MAX_SIGNATURES_PER_IMAGE + 1)
        ),
        "signatures",
        f"has more than {MAX_SIGNATURES_PER_IMAGE} items",
    ),
    # layers
    "layer-size-negative": (
        _set("dockerImageLayers.0.size", -1),
        "dockerImageLayers[0].size",
        "must not be negative",
    ),
    "layer-size-a-string": (
        _set("dockerImageLayers.0.size", "10"),
        "dockerImageLayers[0].size",
        "must be an integer",
    ),
    "layer-size-a-float": (
        _set("dockerImageLayers.0.size", 10.0),
        "dockerImageLayers[0].size",
        "must be an integer",
    ),
    "layer-size-a-boolean": (
        _set("dockerImageLayers.0.size", True),
        "dockerImageLayers[0].size",
        "must be an integer",
    ),
    "layer-size-beyond-int64": (
        _set("dockerImageLayers.0.size", 2**63),
        "dockerImageLayers[0].size",
        "is out of range for int64",
    ),
    "manifest-size-negative": (
        _set("dockerImageManifests.0.manifestSize", -5),
        "dockerImageManifests[0].manifestSize",
        "must not be negative",
    ),
    "docker-image-signature-bad-base64": (
        _set("dockerImageSignatures.0", "!"),
        "dockerImageSignatures[0]",
        "not valid base64: invalid character",
    ),
    # the image itself
    "image-name-not-a-digest": (_set("metadata.name", "busybox"), "metadata.name", _NOT_A_DIGEST),
    "image-name-upper-case-hex": (
        _set("metadata.name", DIGEST.upper().replace("SHA256", "sha256")),
        "metadata.name",
        _NOT_A_DIGEST,
    ),
    "image-name-missing": (_delete("metadata.name"), "metadata.name", "required"),
    "image-metadata-missing": (_delete("metadata"), "metadata", "required"),
    "image-metadata-a-list": (_set("metadata", []), "metadata", "must be an object"),
    "annotation-not-a-string": (
        _set("metadata.annotations", {"image.openshift.io/x": 1}),
        'metadata.annotations["image.openshift.io/x"]',
        "must be a string",
    ),
    "reference-not-a-string": (
        _set("dockerImageReference", 5),
        "dockerImageReference",
        "must be a string",
    ),
    "kind-unsupported": (
        _set("kind", "Pod"),
        "kind",
        "unsupported kind 'Pod': expected Image or ImageStreamImage",
    ),
    "kind-not-a-string": (_set("kind", 1), "kind", "must be a string"),
    "api-version-unsupported": (
        _set("apiVersion", "image.openshift.io/v2"),
        "apiVersion",
        "unsupported apiVersion 'image.openshift.io/v2': expected image.openshift.io/v1",
    ),
}


@pytest.mark.parametrize("name", sorted(STRUCTURAL_CASES))
def test_invalid_image(name: str) -> None:
    edit, path, message = STRUCTURAL_CASES[name]
    document = full_image()
    edit(document)
    with pytest.raises(DocumentError) as caught:
        load_document(document)
    assert (caught.value.path, caught.value.problem) == (path, message)
    assert str(caught.value) == f"{path}: {message}"


# kind and apiVersion are read from the outer document only.
_INNER_CASES = sorted(n for n, c in STRUCTURAL_CASES.items() if c[1] not in ("kind", "apiVersion"))


@pytest.mark.parametrize("name", _INNER_CASES)
def test_invalid_image_inside_a_stream_image(name: str) -> None:
    edit, path, message = STRUCTURAL_CASES[name]
    image = full_image()
    edit(image)
    document = {"kind": "ImageStreamImage", "metadata": {"name": f"app@{DIGEST}"}, "image": image}
    with pytest.raises(DocumentError) as caught:
        load_document(document)
    expected = "image" + (path if path.startswith("[") else f".{path}")
    assert (caught.value.path, caught.value.problem) == (expected, message)


def test_largest_signature_blob_is_accepted() -> None:
    document = full_image()
    document["signatures"][0]["content"] = _MAX_BLOB
    image = load_document(document)
    assert len(image.signatures[0].content) == MAX_SIGNATURE_BLOB_BYTES  # type: ignore[union-attr]


def test_a_signature_blob_over_the_limit_still_loads() -> None:
    """The engine judges it (InvalidSignature); the Image and its other signatures stand."""
    document = full_image()
    document["signatures"][0]["content"] = _BIG_BLOB
    image = load_document(document)
    assert len(image.signatures[0].content) == MAX_SIGNATURE_BLOB_BYTES + 1  # type: ignore[union-attr]


def test_most_signatures_are_accepted() -> None:
    document = full_image()
    document["signatures"] = document["signatures"] * MAX_SIGNATURES_PER_IMAGE
    image = load_document(document)
    assert len(image.signatures) == MAX_SIGNATURES_PER_IMAGE  # type: ignore[union-attr]


STREAM_IMAGE_CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "stream-image-name-without-at": (
        {"kind": "ImageStreamImage", "metadata": {"name": "app"}, "image": full_image()},
        "metadata.name",
        "must be <stream>@<digest> with exactly one '@'",
    ),
    "stream-image-name-two-ats": (
        {"kind": "ImageStreamImage", "metadata": {"name": "a@b@c"}, "image": full_image()},
        "metadata.name",
        "must be <stream>@<digest> with exactly one '@'",
    ),
    "stream-image-without-image": (
        {"kind": "ImageStreamImage", "metadata": {"name": f"app@{DIGEST}"}},
        "image",
        "required",
    ),
    "stream-image-image-null": (
        {"kind": "ImageStreamImage", "metadata": {"name": f"app@{DIGEST}"}, "image": None},
        "image",
        "required",
    ),
}


@pytest.mark.parametrize("name", sorted(STREAM_IMAGE_CASES))
def test_invalid_stream_image(name: str) -> None:
    document, path, message = STREAM_IMAGE_CASES[name]
    with pytest.raises(DocumentError) as caught:
        load_document(document)
    assert (caught.value.path, caught.value.problem) == (path, message)
