"""A faithful double of the API server's delegated-auth APIs (docs/domain.md §8), in front of
any WSGI app (the store REST): ``TokenReview`` (authentication.k8s.io/v1) and
``SubjectAccessReview`` (authorization.k8s.io/v1), evaluated against a static token table
and RBAC-style rules, as kube-apiserver answers them:

- the caller of a review must itself be authenticated (401 Status) and allowed to
  ``create tokenreviews`` / ``create subjectaccessreviews`` (403 Status; the
  ``system:auth-delegator`` ClusterRole grants both);
- a review is answered 201 Created with the posted object and its ``status``; an unknown
  token is ``{"user": {}, "error": "…"}`` (no ``authenticated``); a SAR not allowed by any
  rule is ``{"allowed": false}``;
- a malformed review is 400 (not a review) or 422 Invalid (exactly one of
  ``resourceAttributes``/``nonResourceAttributes``; a user or a group).

tests/imageapi/test_kube_auth.py tests the double itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WSGIApp = Callable[..., Any]
TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
AUTH_DELEGATOR = "system:auth-delegator"


@dataclass(frozen=True)
class UserInfo:
    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"username": self.username}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        return out


@dataclass(frozen=True)
class Rule:
    """A PolicyRule bound to ``subject`` (``user:NAME`` or ``group:NAME``); ``namespace``
    None is a ClusterRoleBinding (everywhere), else a RoleBinding in that namespace."""

    subject: str
    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    namespace: str | None = None
    non_resource_urls: tuple[str, ...] = ()

    def covers(self, spec: dict[str, Any]) -> bool:
        subjects = {f"user:{spec.get('user', '')}"} | {
            f"group:{g}" for g in spec.get("groups") or []
        }
        if self.subject not in subjects:
            return False
        if "nonResourceAttributes" in spec:
            attributes = spec["nonResourceAttributes"]
            return (
                self.namespace is None
                and _match(self.verbs, attributes.get("verb", ""))
                and (_match(self.non_resource_urls, attributes.get("path", "")))
            )
        attributes = spec["resourceAttributes"]
        if self.namespace is not None and attributes.get("namespace", "") != self.namespace:
            return False
        return (
            _match(self.verbs, attributes.get("verb", ""))
            and _match(self.api_groups, attributes.get("group", ""))
            and _match(self.resources, attributes.get("resource", ""))
            and (not self.names or attributes.get("name", "") in self.names)
        )


def _match(allowed: tuple[str, ...], value: str) -> bool:
    return "*" in allowed or value in allowed


def auth_delegator(subject: str) -> list[Rule]:
    """The ``system:auth-delegator`` ClusterRole, bound to ``subject``."""
    return [
        Rule(subject, ("create",), ("authentication.k8s.io",), ("tokenreviews",)),
        Rule(subject, ("create",), ("authorization.k8s.io",), ("subjectaccessreviews",)),
    ]


@dataclass
class KubeAuth:
    app: WSGIApp
    tokens: dict[str, UserInfo] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    #: Every review answered: (kind, spec).
    reviews: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def allows(self, spec: dict[str, Any]) -> bool:
        return any(rule.covers(spec) for rule in self.rules)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path not in (TOKEN_REVIEWS, SUBJECT_ACCESS_REVIEWS):
            return self.app(environ, start_response)
        if environ["REQUEST_METHOD"] != "POST":
            return _answer(start_response, 405, _status(405, "MethodNotAllowed", "not allowed"))
        token_review = path == TOKEN_REVIEWS
        group = "authentication.k8s.io" if token_review else "authorization.k8s.io"
        resource = "tokenreviews" if token_review else "subjectaccessreviews"
        header = environ.get("HTTP_AUTHORIZATION", "")
        caller = self.tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if caller is None:
            return _answer(start_response, 401, _status(401, "Unauthorized", "Unauthorized"))
        caller_spec = {
            "user": caller.username,
            "groups": list(caller.groups),
            "resourceAttributes": {"verb": "create", "group": group, "resource": resource},
        }
        if not self.allows(caller_spec):
            message = (
                f'{resource}.{group} is forbidden: User "{caller.username}" cannot create '
                f'resource "{resource}" in API group "{group}" at the cluster scope'
            )
            return _answer(start_response, 403, _status(403, "Forbidden", message))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"null")
        except ValueError:
            return _answer(start_response, 400, _status(400, "BadRequest", "invalid JSON"))
        kind = "TokenReview" if token_review else "SubjectAccessReview"
        spec = body.get("spec") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or body.get("kind") != kind
            or body.get("apiVersion") != f"{group}/v1"
            or not isinstance(spec, dict)
        ):
            return _answer(start_response, 400, _status(400, "BadRequest", f"not a {kind}"))
        with self.lock:
            self.reviews.append((kind, spec))
        if token_review:
            user = (
                self.tokens.get(spec.get("token")) if isinstance(spec.get("token"), str) else None
            )
            status: dict[str, Any] = (
                {"authenticated": True, "user": user.as_json()}
                if user is not None
                else {"user": {}, "error": "[invalid bearer token, token lookup failed]"}
            )
        else:
            resource_given = isinstance(spec.get("resourceAttributes"), dict)
            non_resource_given = isinstance(spec.get("nonResourceAttributes"), dict)
            if resource_given == non_resource_given:
                return _answer(
                    start_response,
                    422,
                    _status(
                        422,
                        "Invalid",
                        'SubjectAccessReview.authorization.k8s.io "" is invalid: '
                        'spec.resourceAttributes: Invalid value: "null": exactly one of '
                        "nonResourceAttributes or resourceAttributes must be specified",
                    ),
                )
            if not spec.get("user") and not spec.get("groups"):
                return _answer(
                    start_response,
                    422,
                    _status(
                        422,
                        "Invalid",
                        'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: '
                        'Invalid value: "": at least one of user or group must be specified',
                    ),
                )
            status = (
                {"allowed": True, "reason": "RBAC: allowed"}
                if self.allows(spec)
                else {"allowed": False}
            )
        answer = {**body, "metadata": {"creationTimestamp": None}, "status": status}
        return _answer(start_response, 201, answer)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _answer(start_response: Callable[..., Any], code: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        f"{code} X", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
