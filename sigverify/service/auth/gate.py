"""The check every request passes before its view: authenticate, authorize, or answer a
Kubernetes ``Status`` (401 Unauthorized, 403 Forbidden, 503 when a review cannot be made)."""

from __future__ import annotations

import logging
from typing import Protocol

from flask import Flask, Response, g, jsonify, request

from sigverify.authn.users import AuthUnavailable, User
from sigverify.service.auth.needs import Need, need_of

__all__ = ["AuthUnavailable", "Authenticator", "Authorizer", "install_auth", "status_response"]

_log = logging.getLogger("sigverify.service.auth")


class Authenticator(Protocol):
    def authenticate(self, token: str) -> User | None:
        """The user ``token`` names, None for an unknown token; AuthUnavailable."""
        ...


class Authorizer(Protocol):
    def allowed(self, user: User, need: Need) -> bool:
        """Whether ``user`` may do what ``need`` says; AuthUnavailable."""
        ...


def status_response(code: int, reason: str, message: str) -> Response:
    """A ``metav1.Status`` failure, as kube-apiserver answers an auth failure."""
    response = jsonify(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }
    )
    response.status_code = code
    return response


def bearer_token(header: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750), else None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    # token.split() splits at exactly the characters str.isspace() names: one piece, the
    # token itself, means no whitespace inside (one C call, not one per character).
    if scheme.lower() != "bearer" or not token or token.split() != [token]:
        return None
    return token


def _deny(code: int, reason: str, message: str, user: str, need: Need) -> Response:
    _log.warning(
        "denied %s: user=%s verb=%s resource=%s method=%s path=%s",
        code,
        user,
        need.verb,
        need.resource,
        request.method,
        request.path,
    )
    return status_response(code, reason, message)


def install_auth(app: Flask, authenticator: Authenticator, authorizer: Authorizer) -> None:
    """Check every request that needs a right (see :mod:`.needs`) before its view runs."""

    def gate() -> Response | None:
        need = need_of(request.method, request.path, request.args)
        if need is None:
            return None
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            return _deny(401, "Unauthorized", "Unauthorized", "<none>", need)
        try:
            user = authenticator.authenticate(token)
        except AuthUnavailable as exc:
            return _deny(503, "ServiceUnavailable", f"cannot authenticate: {exc}", "<?>", need)
        if user is None:
            return _deny(401, "Unauthorized", "Unauthorized", "<unknown token>", need)
        try:
            allowed = authorizer.allowed(user, need)
        except AuthUnavailable as exc:
            return _deny(503, "ServiceUnavailable", f"cannot authorize: {exc}", user.name, need)
        if not allowed:
            message = f'forbidden: User "{user.name}" cannot {need.describe()}'
            return _deny(403, "Forbidden", message, user.name, need)
        g.sigverify_user = user
        return None

    app.before_request(gate)
