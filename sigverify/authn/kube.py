"""Delegated authentication and authorization (docs/domain.md §8), as kube-rbac-proxy and
aggregated API servers do it: a bearer token is checked with a ``TokenReview``, each request
with a ``SubjectAccessReview``, both against the cluster's API server (the service account
needs the ``system:auth-delegator`` ClusterRole).

Answers are kept briefly (at most :data:`MAX_CACHE_SECONDS`, a bounded number of entries):
token reviews keyed by the SHA-256 of the token (the token itself is never kept), access
reviews by the user and the attributes. A review that cannot be made (API unreachable, slow,
refusing sigverify, answering nonsense) raises :class:`AuthUnavailable` and is never kept:
nothing is allowed on an error.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from sigverify.authn.users import AuthUnavailable, User
from sigverify.errors import SigverifyError

__all__ = [
    "MAX_CACHE_SECONDS",
    "SUBJECT_ACCESS_REVIEWS",
    "TOKEN_REVIEWS",
    "NonResourceAttributes",
    "ResourceAttributes",
    "ReviewAPI",
    "Reviews",
]

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"  # noqa: S105 - a path
SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
MAX_CACHE_SECONDS = 10.0


class ReviewAPI(Protocol):
    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body``; the created object (a ``ClusterError`` when that fails)."""
        ...


@dataclass(frozen=True)
class ResourceAttributes:
    verb: str
    group: str
    resource: str
    namespace: str = ""
    name: str = ""

    def spec(self) -> dict[str, str]:
        spec = {"verb": self.verb, "group": self.group, "resource": self.resource}
        if self.namespace:
            spec["namespace"] = self.namespace
        if self.name:
            spec["name"] = self.name
        return {"resourceAttributes": spec}  # type: ignore[dict-item]


@dataclass(frozen=True)
class NonResourceAttributes:
    verb: str
    path: str

    def spec(self) -> dict[str, Any]:
        return {"nonResourceAttributes": {"path": self.path, "verb": self.verb}}


Attributes = ResourceAttributes | NonResourceAttributes


class _TTLCache:
    """A small thread-safe LRU whose entries live ``ttl`` seconds."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            if entry[0] <= self._clock():
                del self._entries[key]
                return False, None
            self._entries.move_to_end(key)
            return True, entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class Reviews:
    """TokenReview and SubjectAccessReview through ``api``, with short-lived caches."""

    def __init__(
        self,
        api: ReviewAPI,
        *,
        cache_seconds: float = MAX_CACHE_SECONDS,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= cache_seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"review answers are kept 0..{MAX_CACHE_SECONDS:g} seconds")
        self._api = api
        self._tokens = _TTLCache(cache_seconds, max_entries, clock)
        self._access = _TTLCache(cache_seconds, max_entries, clock)

    def _create(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        try:
            answer = self._api.create(path, body)
        except SigverifyError as exc:
            raise AuthUnavailable(f"the {what} could not be made: {exc}") from exc
        status = answer.get("status") if isinstance(answer, dict) else None
        if answer.get("kind") != body["kind"] or not isinstance(status, dict):
            raise AuthUnavailable(f"the {what} was answered with something else than a {what}")
        return status

    def authenticate(self, token: str) -> User | None:
        """The user the cluster says ``token`` is, or None (not authenticated)."""
        key = hashlib.sha256(token.encode("utf-8")).hexdigest()
        found, cached = self._tokens.get(key)
        if found:
            return cached  # type: ignore[no-any-return]
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        }
        status = self._create(TOKEN_REVIEWS, body, "TokenReview")
        user = None
        info = status.get("user")
        if status.get("authenticated") is True and isinstance(info, dict):
            name = _text(info.get("username"))
            groups = info.get("groups") or []
            if name and isinstance(groups, list) and all(isinstance(g, str) for g in groups):
                user = User(name=name, uid=_text(info.get("uid")) or "", groups=tuple(groups))
        self._tokens.put(key, user)
        return user

    def allowed(self, user: User, attributes: Attributes) -> bool:
        """Whether the cluster's authorizer allows ``user`` what ``attributes`` name."""
        key = (user, attributes)
        found, cached = self._access.get(key)
        if found:
            return bool(cached)
        spec: dict[str, Any] = {"user": user.name, "groups": list(user.groups)}
        if user.uid:
            spec["uid"] = user.uid
        spec |= attributes.spec()
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
        }
        status = self._create(SUBJECT_ACCESS_REVIEWS, body, "SubjectAccessReview")
        allowed = status.get("allowed") is True and status.get("denied") is not True
        self._access.put(key, allowed)
        return allowed
