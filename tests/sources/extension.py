"""A faithful stand-in for a registry that serves OpenShift's signatures extension (the
integrated registry; the distribution registry does not serve it): the ``/v2/`` ping with
``X-Registry-Supports-Signatures: 1``, the distribution token flow (a ``Bearer`` challenge,
a token endpoint taking Basic credentials), manifests by tag or digest with their media
type, and ``GET /extensions/v2/<repo>/signatures/<digest>``.

Anything a test wants to go wrong is set on the instance: ``liar`` serves other bytes for a
digest, ``signatures`` holds any JSON value per digest, ``requests`` records every path asked.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

__all__ = ["ExtensionRegistry", "extension_entry"]

_TOKEN = "t0ken-for-tests"


def extension_entry(name: str, blob: bytes, *, schema: int = 2, kind: str = "atomic") -> Any:
    """One entry of the extension's list as OpenShift's registry writes it."""
    return {
        "schemaVersion": schema,
        "type": kind,
        "name": name,
        "content": base64.b64encode(blob).decode(),
    }


@dataclass
class ExtensionRegistry:
    """A WSGI app; ``credentials`` None means no authentication at all."""

    credentials: tuple[str, str] | None = ("robot", "pa55")
    supports_signatures: bool = True
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # ref → (type, body)
    tags: dict[str, str] = field(default_factory=dict)  # "repo:tag" → digest
    signatures: dict[str, Any] = field(default_factory=dict)  # digest → JSON document
    liar: dict[str, bytes] = field(default_factory=dict)  # digest → other bytes served
    requests: list[str] = field(default_factory=list)

    def add_manifest(self, repository: str, tag: str, media_type: str, body: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.manifests[f"{repository}@{digest}"] = (media_type, body)
        self.tags[f"{repository}:{tag}"] = digest
        return digest

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path: str = environ["PATH_INFO"]
        self.requests.append(path)
        status, headers, body = self._answer(environ, path)
        headers = [*headers, ("Content-Length", str(len(body)))]
        if self.supports_signatures and path == "/v2/":
            headers.append(("X-Registry-Supports-Signatures", "1"))
        start_response(status, headers)
        return [body]

    def _answer(
        self, environ: dict[str, Any], path: str
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        host = environ["HTTP_HOST"]
        if path == "/token":
            return self._token(environ)
        if self.credentials is not None and environ.get("HTTP_AUTHORIZATION") != f"Bearer {_TOKEN}":
            challenge = f'Bearer realm="https://{host}/token",service="extension-registry"'
            return "401 Unauthorized", [("WWW-Authenticate", challenge)], b'{"errors":[]}'
        if path == "/v2/":
            return "200 OK", [("Content-Type", "application/json")], b"{}"
        if path.startswith("/v2/") and "/manifests/" in path:
            repository, _, reference = path.removeprefix("/v2/").partition("/manifests/")
            digest = self.tags.get(f"{repository}:{reference}", reference)
            found = self.manifests.get(f"{repository}@{digest}")
            if found is None:
                return "404 Not Found", [("Content-Type", "application/json")], b'{"errors":[]}'
            media_type, body = found
            return "200 OK", [("Content-Type", media_type)], self.liar.get(digest, body)
        if path.startswith("/extensions/v2/") and "/signatures/" in path:
            _, _, digest = path.partition("/signatures/")
            if digest not in self.signatures:
                return "404 Not Found", [("Content-Type", "application/json")], b"{}"
            document = json.dumps(self.signatures[digest]).encode()
            return "200 OK", [("Content-Type", "application/json")], document
        return "404 Not Found", [], b""

    def _token(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        assert query.get("service") == ["extension-registry"], query
        assert len(query.get("scope", [])) == 1, query
        assert self.credentials is not None
        user, password = self.credentials
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if environ.get("HTTP_AUTHORIZATION") != expected:
            return "401 Unauthorized", [("Content-Type", "application/json")], b'{"errors":[]}'
        return (
            "200 OK",
            [("Content-Type", "application/json")],
            json.dumps({"token": _TOKEN}).encode(),
        )
