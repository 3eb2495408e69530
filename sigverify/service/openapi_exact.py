"""The OpenAPI document as exact as the server: every parameter the document calls valid is
one the server accepts (schemathesis's "schema-valid request rejected" check holds it).

- ``namespace`` (the path's, and ``GET /api/v1/audit``'s query): a Kubernetes namespace name
  (DNS-1123 label);
- ``name``: ``<stream>@<id>`` (library-go ``ParseImageStreamImageName``), one path segment;
- ``expectedIdentity``: a Docker reference of the common shape — a registry host with a dot,
  lowercase repository path components, an optional tag and an optional sha256 digest. The
  server accepts more (docs/domain.md §3); the document promises no more than this.
- the body of ``POST /api/v1/verify``: an Image or an ImageStreamImage of that shape, with
  signatures in canonical base64 (the server reads more members; the document names the ones
  a verdict reads).
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec

__all__ = ["EXPECTED_IDENTITY_PATTERN", "document_parameters"]

_COMPONENT = r"[a-z][a-z0-9]*(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*)+(?::[1-9][0-9]{0,3})?"
EXPECTED_IDENTITY_PATTERN = (
    rf"^{_HOST}/{_COMPONENT}(?:/{_COMPONENT}){{0,2}}"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,40})?(?:@sha256:[0-9a-f]{64})?$"
)
_PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "namespace": {
        "type": "string",
        "pattern": r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$",
        "description": "the ImageStream's namespace",
    },
    "name": {
        "type": "string",
        "pattern": r"^[^@/%]+@[^@/%]+$",
        "description": "<stream>@<id>: the id is a digest or a prefix of its hex",
    },
}
_QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "expectedIdentity": {
        "type": "string",
        "pattern": EXPECTED_IDENTITY_PATTERN,
        "maxLength": 255,
    },
    # GET /api/v1/audit: a DNS-1123 label, as the path parameter
    "namespace": {
        "type": "string",
        "pattern": r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$",
    },
}


_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=|[A-Za-z0-9+/][AQgw]==)?$"
_DIGEST = r"sha256:[0-9a-f]{64}"
_SIGNATURE: dict[str, Any] = {
    "type": "object",
    "required": ["metadata", "type", "content"],
    "properties": {
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": rf"^{_DIGEST}@[0-9a-f]{{32}}$"},
            },
            "additionalProperties": False,
        },
        "type": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9]{0,31}$"},
        "content": {"type": "string", "minLength": 4, "maxLength": 4096, "pattern": _BASE64},
    },
    "additionalProperties": False,
}


def _image(kind: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "pattern": rf"^{_DIGEST}$"}},
            "additionalProperties": False,
        },
        "dockerImageReference": {
            "type": "string",
            "pattern": EXPECTED_IDENTITY_PATTERN,
            "maxLength": 255,
        },
        "signatures": {"type": "array", "maxItems": 4, "items": _SIGNATURE},
    }
    required = ["metadata", "dockerImageReference"]
    if kind:
        properties |= {
            "apiVersion": {"type": "string", "enum": ["image.openshift.io/v1"]},
            "kind": {"type": "string", "enum": ["Image"]},
        }
        required = ["apiVersion", "kind", "metadata", "dockerImageReference"]
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


_DOCUMENT: dict[str, Any] = {
    "oneOf": [
        _image(kind=True),
        {
            "type": "object",
            "required": ["apiVersion", "kind", "metadata", "image"],
            "properties": {
                "apiVersion": {"type": "string", "enum": ["image.openshift.io/v1"]},
                "kind": {"type": "string", "enum": ["ImageStreamImage"]},
                "metadata": {
                    "type": "object",
                    "required": ["name", "namespace"],
                    "properties": {
                        "name": {
                            "type": "string",
                            "pattern": rf"^[a-z][a-z0-9-]{{0,30}}@{_DIGEST}$",
                        },
                        "namespace": _PATH_PARAMETERS["namespace"] | {"description": "namespace"},
                    },
                    "additionalProperties": False,
                },
                "image": _image(kind=False),
            },
            "additionalProperties": False,
        },
    ]
}


def _exact(parameters: list[dict[str, Any]]) -> None:
    for parameter in parameters:
        known = (_PATH_PARAMETERS if parameter.get("in") == "path" else _QUERY_PARAMETERS).get(
            parameter.get("name", "")
        )
        if known is not None:
            parameter["schema"] = {**parameter.get("schema", {}), **known}


def document_parameters(spec: APISpec) -> None:
    """Narrow the generated parameter schemas to what the server accepts."""
    paths: dict[str, dict[str, Any]] = spec._paths  # apispec's registered operations
    verify = paths.get("/api/v1/verify", {}).get("post")
    if verify is not None:
        for content in verify["requestBody"]["content"].values():
            content["schema"] = _DOCUMENT
    for operations in paths.values():
        for key, value in operations.items():
            if key == "parameters":
                _exact(value)
            elif isinstance(value, dict):
                _exact(value.get("parameters") or [])
