"""Request bodies every endpoint that reads one must refuse the same way, and a client that
sends a body chunked (``Transfer-Encoding: chunked``, no ``Content-Length``) to a real server.

Each face words its refusals itself; what is shared is the outcome: 400 for a body that is
not strict JSON (nested too deep, a repeated key, ``NaN``/``Infinity``, invalid UTF-8), 413
for one over the limit, declared or streamed, and never a 500.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: The body limit the tests give each endpoint (the service's ``max_body_bytes``).
LIMIT = 64 * 1024


@dataclass(frozen=True)
class Hostile:
    """A body, the status it must get, and words the error message must contain."""

    body: bytes
    status: int
    names: str


#: 2 KB nested 1,000 deep: over every depth limit, and past the parser's recursion limit.
DEEP = b"[" * 1000 + b"]" * 1000

HOSTILE = {
    "nested 1,000 deep": Hostile(DEEP, 400, "nested deeper than"),
    "nested 1,000 deep in an object": Hostile(
        b'{"kind": "Image", "metadata": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1001, 400, "deeper"
    ),
    "duplicate key": Hostile(b'{"kind": "Image", "kind": "Image"}', 400, "duplicate"),
    "duplicate key, deep inside": Hostile(
        b'{"metadata": {"labels": {"a": "1", "a": "2"}}}', 400, "duplicate"
    ),
    "NaN": Hostile(b'{"kind": "Image", "size": NaN}', 400, "NaN"),
    "Infinity": Hostile(b'{"kind": "Image", "size": -Infinity}', 400, "Infinity"),
    "invalid UTF-8": Hostile(b'{"kind": "Image", "name": "\xff\xfe"}', 400, "UTF-8"),
    "oversized": Hostile(b'{"a": "' + b"x" * LIMIT + b'"}', 413, f"larger than {LIMIT} bytes"),
}


def chunks(body: bytes, size: int = 8 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def send_chunked(
    base_url: str,
    method: str,
    path: str,
    body: bytes,
    *,
    content_type: str = "application/json",
    chunk_size: int = 8 * 1024,
) -> tuple[int, dict[str, Any]]:
    """Send ``body`` chunked over a real connection; the status and the JSON answer."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(
            method,
            path,
            body=chunks(body, chunk_size),
            headers={"Content-Type": content_type, "Accept": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
        assert isinstance(answer, dict)
        return response.status, answer
    finally:
        connection.close()
