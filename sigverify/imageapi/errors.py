"""Errors of the image API, one class per failure a caller must tell apart.

Both implementations of :class:`~sigverify.imageapi.protocol.ImageAPI` raise these: the embedded
store directly, the OpenShift client after mapping the HTTP outcome (a Kubernetes ``Status``
body) or the transport failure. ``status`` is the HTTP status when there was one and
``reason`` the Kubernetes ``StatusReason`` (``NotFound``, ``Conflict``, ``Invalid``…).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sigverify.errors import ClusterError, ConflictError, NotFoundError

__all__ = [
    "AlreadyExistsError",
    "BadRequestError",
    "Cause",
    "ClusterError",
    "ClusterServerError",
    "ClusterTimeout",
    "ClusterUnreachable",
    "ConflictError",
    "ExpiredError",
    "ForbiddenError",
    "InvalidObjectError",
    "NotFoundError",
    "UnauthorizedError",
    "status_of",
]


@dataclass(frozen=True)
class Cause:
    """One ``details.causes[]`` entry of a Kubernetes ``Status``: what is wrong and where."""

    reason: str
    message: str
    field: str


class ClusterUnreachable(ClusterError):
    """No connection to the API server (refused, DNS, TLS handshake, reset)."""


class ClusterTimeout(ClusterError):
    """The API server did not answer within the configured timeout."""


class UnauthorizedError(ClusterError):
    """401: the credentials are missing, expired or not accepted."""


class ForbiddenError(ClusterError):
    """403: the credentials are valid but lack the permission (RBAC) for the request."""


class BadRequestError(ClusterError):
    """400: the request itself was malformed (bad name, undecodable body)."""


class InvalidObjectError(ClusterError):
    """422: the object failed the server's validation; ``causes`` lists each field error."""

    def __init__(self, message: str, causes: Sequence[Cause] = ()) -> None:
        self.causes = tuple(causes)
        super().__init__(message)


class AlreadyExistsError(ConflictError):
    """409 ``AlreadyExists``: a create named an object (or signature) that exists."""


class ExpiredError(ClusterError):
    """410 ``Expired``: a list's ``continue`` token is too old; start the list again."""


class ClusterServerError(ClusterError):
    """5xx: the API server failed (or an unexpected status came back)."""

    def __init__(self, message: str, status: int = 500) -> None:
        self.status = status
        super().__init__(message)


#: HTTP status and Kubernetes ``StatusReason`` of each error class (the REST face uses it).
_STATUS: tuple[tuple[type[ClusterError], int, str], ...] = (
    (AlreadyExistsError, 409, "AlreadyExists"),
    (ConflictError, 409, "Conflict"),
    (NotFoundError, 404, "NotFound"),
    (InvalidObjectError, 422, "Invalid"),
    (BadRequestError, 400, "BadRequest"),
    (UnauthorizedError, 401, "Unauthorized"),
    (ForbiddenError, 403, "Forbidden"),
    (ExpiredError, 410, "Expired"),
    (ClusterTimeout, 504, "Timeout"),
)


def status_of(error: ClusterError) -> tuple[int, str]:
    """The HTTP status and ``StatusReason`` that ``error`` stands for."""
    if isinstance(error, ClusterServerError):
        return error.status, "InternalError"
    for cls, status, reason in _STATUS:
        if isinstance(error, cls):
            return status, reason
    return 500, "InternalError"
