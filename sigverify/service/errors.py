"""Every failure as a JSON ``{code, status, message, errors}`` body, mapped once per class.

Errors of the image API the service depends on are the upstream's, not the client's: they
become 502/503/504, never a 4xx the client could act on, and never a verdict.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from sigverify.errors import (
    BackendError,
    ClusterError,
    ConflictError,
    InputError,
    NotFoundError,
    PolicyError,
    SigverifyError,
)
from sigverify.http_body import BodyTooLarge
from sigverify.imageapi.errors import (
    BadRequestError,
    ClusterServerError,
    ClusterTimeout,
    ClusterUnreachable,
    ExpiredError,
    ForbiddenError,
    InvalidObjectError,
    UnauthorizedError,
)
from sigverify.objects.documents import UpstreamDocumentError
from sigverify.objects.schemas import DocumentError

__all__ = [
    "MalformedRequest",
    "UnsupportedMediaType",
    "UpstreamDocumentError",
    "error_body",
    "install_error_handlers",
    "status_for",
]

_log = logging.getLogger("sigverify.service")


class MalformedRequest(InputError):
    """A body that is not JSON/YAML at all (400), as opposed to an invalid document (422)."""


class UnsupportedMediaType(InputError):
    """A body in a media type the endpoint does not read (415)."""


# First match wins: subclasses before their bases.
_STATUS: tuple[tuple[type[SigverifyError], int], ...] = (
    (BodyTooLarge, 413),
    (MalformedRequest, 400),
    (UnsupportedMediaType, 415),
    (DocumentError, 422),
    (InputError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (BadRequestError, 400),
    (ClusterTimeout, 504),
    (ClusterUnreachable, 503),
    (ExpiredError, 503),
    (UnauthorizedError, 502),
    (ForbiddenError, 502),
    (InvalidObjectError, 502),
    (ClusterServerError, 502),
    (UpstreamDocumentError, 502),
    (ClusterError, 502),
    (PolicyError, 503),
    (BackendError, 503),
)


def status_for(error: SigverifyError) -> int:
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def error_body(code: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "status": HTTPStatus(code).phrase,
        "message": message,
        "errors": errors or {},
    }


def _respond(code: int, message: str, errors: dict[str, Any] | None = None) -> Response:
    response = jsonify(error_body(code, message, errors))
    response.status_code = code
    return response


def _first_problem(errors: dict[str, Any]) -> str | None:
    """``name: problem`` of a query parameter webargs refused (400 answers name one)."""
    for fields_ in errors.values():
        if not isinstance(fields_, dict):
            continue
        for name, problems in sorted(fields_.items()):
            problem = problems[0] if isinstance(problems, list) and problems else problems
            return f"{name}: {problem}"
    return None


def install_error_handlers(app: Flask) -> None:
    """Map sigverify errors, HTTP errors and anything unexpected to JSON (after flask-smorest's
    own handler, which these replace so that ``message`` and ``errors`` are always there)."""

    @app.errorhandler(SigverifyError)
    def sigverify_error(error: SigverifyError) -> Response:
        code = status_for(error)
        errors: dict[str, Any] = {}
        if isinstance(error, InputError) and error.path:
            errors = {"body": {error.path: [str(error)]}}
        if code >= 500:
            _log.warning("%s: %s", type(error).__name__, error)
        return _respond(code, str(error), errors)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages") or {}
        message = data.get("message") or error.description or HTTPStatus(code).phrase
        if code == 422 and "message" not in data:
            message = "the request is invalid; see errors"
        elif code == 400 and "messages" in data and isinstance(errors, dict):
            message = _first_problem(errors) or message
        response = _respond(code, str(message), errors if isinstance(errors, dict) else {})
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        _log.exception("unexpected error")
        return _respond(500, f"internal error: {type(error).__name__}")
