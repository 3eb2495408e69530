"""The security model in the OpenAPI document: the bearer scheme (Kubernetes-style tokens),
required by every operation but the open ones, and the 401/403 ``Status`` answers."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from sigverify.service.auth.needs import OPEN_PATHS

__all__ = ["SECURITY_SCHEME", "document_security"]

SECURITY_SCHEME = "BearerToken"
_STATUS = {
    "type": "object",
    "description": "A Kubernetes metav1.Status failure (apiVersion v1, kind Status).",
    "required": ["kind", "apiVersion", "metadata", "status", "message", "reason", "code"],
    "properties": {
        "kind": {"type": "string", "enum": ["Status"]},
        "apiVersion": {"type": "string", "enum": ["v1"]},
        "metadata": {"type": "object"},
        "status": {"type": "string", "enum": ["Failure"]},
        "message": {"type": "string"},
        "reason": {"type": "string"},
        "code": {"type": "integer"},
    },
    "additionalProperties": False,
}
_ANSWERS = {
    "401": "No bearer token, or one no user has (reason Unauthorized).",
    "403": "The caller may not do this (reason Forbidden).",
}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def document_security(spec: APISpec) -> None:
    """Declare the scheme and, on every operation outside the open paths, its answers."""
    spec.components.security_scheme(
        SECURITY_SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A token from --token-auth-file, serve's generated admin token, or (cluster "
                "mode) any token the cluster's TokenReview accepts."
            ),
        },
    )
    spec.components.schema("Status", _STATUS)
    spec.options["security"] = [{SECURITY_SCHEME: []}]
    # apispec keeps the registered operations here (no public accessor before to_dict).
    paths: dict[str, dict[str, Any]] = spec._paths
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            if path in OPEN_PATHS:
                operation["security"] = []
                continue
            responses = operation.setdefault("responses", {})
            # Cluster mode: a review the API server cannot make is a 503 Status; the image
            # API's own 503 stays the service's Error.
            unavailable: list[dict[str, str]] = [{"$ref": "#/components/schemas/Status"}]
            if "503" in responses:
                unavailable.insert(0, {"$ref": "#/components/schemas/Error"})
            responses["503"] = {
                "description": "Service Unavailable: the image API (Error) or, in cluster "
                "mode, the TokenReview/SubjectAccessReview API (Status).",
                "content": {"application/json": {"schema": {"anyOf": unavailable}}},
            }
            for code, description in _ANSWERS.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Status"}}
                        },
                    },
                )
