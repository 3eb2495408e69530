"""An HTTP request's body, read with a bound whether or not it declares its length.

A ``Content-Length`` over the bound is refused before anything is read. A body without one
(``Transfer-Encoding: chunked``) is read until one byte past the bound, never further: Flask's
``MAX_CONTENT_LENGTH`` stops such a stream only when the server marks it terminated, and a
single ``read(n)`` may return less than is there, so the body is read in a loop. The bound is
the endpoint's own, or the app's ``MAX_CONTENT_LENGTH`` when that is smaller. Every face
answers :class:`BodyTooLarge` with its own 413.
"""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from sigverify.errors import InputError

__all__ = ["BodyTooLarge", "body_limit", "check_declared_length", "read_body"]

_CHUNK = 64 * 1024


class BodyTooLarge(InputError):
    """The request body is larger than ``limit`` bytes (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit


def body_limit(limit: int) -> int:
    """``limit``, or the app's ``MAX_CONTENT_LENGTH`` if that is smaller."""
    app_limit = request.max_content_length
    return limit if app_limit is None else min(limit, app_limit)


def check_declared_length(limit: int) -> None:
    """Refuse a declared ``Content-Length`` over :func:`body_limit` before reading anything."""
    bound = body_limit(limit)
    if request.content_length is not None and request.content_length > bound:
        raise BodyTooLarge(bound)


def read_body(limit: int) -> bytes:
    """The whole body, at most :func:`body_limit` bytes, else :class:`BodyTooLarge`."""
    check_declared_length(limit)
    bound = body_limit(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        stream = request.stream
        while size <= bound:
            chunk = stream.read(min(_CHUNK, bound + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except RequestEntityTooLarge:  # werkzeug's own cap (MAX_CONTENT_LENGTH) on the stream
        raise BodyTooLarge(bound) from None
    if size > bound:
        raise BodyTooLarge(bound)
    return b"".join(chunks)
