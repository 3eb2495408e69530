"""What a request needs: its Kubernetes authorization attributes and its embedded-mode right.

Mirrors how the request maps onto the API it fronts (docs/domain.md §8):

- reading the verification of ``NS/STREAM@DIGEST`` (GET, or POST without ``record``):
  ``get imagestreamimages`` in ``NS`` (image.openshift.io); right ``read``;
- ``record=true``: that, and ``update images`` (cluster-scoped) or ``create
  imagesignatures``; right ``record``;
- ``POST /api/v1/verify``: any authenticated user (nothing is read or written); ``read``;
- ``GET /api/v1/audit?namespace=NS``: ``list imagestreams`` in ``NS`` (and, the Images they
  point at being cluster-scoped, ``get images``); without exactly one ``namespace`` (all
  namespaces, or a request the view will refuse) ``list imagestreams`` in every namespace
  and ``list images``; right ``read``;
- ``/metrics``: ``get`` on the non-resource URL ``/metrics``; ``read``;
- the embedded store's REST: reads ``read``, writes ``admin``;
- anything else (an unknown path): ``get`` on that non-resource URL; ``read`` — a caller
  learns nothing, not even a 404, before authenticating.

``/healthz``, ``/readyz``, ``/openapi.json`` and the admission webhook need nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sigverify.authn.users import Right

__all__ = ["AUDIT_PATH", "IMAGE_GROUP", "OPEN_PATHS", "Need", "NonResource", "Resource", "need_of"]

IMAGE_GROUP = "image.openshift.io"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json"})
ADMISSION_PREFIX = "/admission/"
_STORE_PREFIX = "/apis/"
AUDIT_PATH = "/api/v1/audit"
_VERIFICATION = re.compile(r"/api/v1/namespaces/([^/]+)/imagestreamimages/([^/]+)/verification/?")
_FALSE = frozenset(
    {"false", "False", "FALSE", "0", "off", "Off", "OFF", "no", "No", "NO", "f", "F", "n", "N"}
)
_VERBS = {"GET": "get", "HEAD": "get", "OPTIONS": "get", "POST": "create", "PUT": "update"}
_VERBS |= {"PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Resource:
    """``SubjectAccessReview.spec.resourceAttributes``."""

    verb: str
    resource: str
    group: str = IMAGE_GROUP
    namespace: str = ""
    name: str = ""

    def describe(self) -> str:
        scope = f' in the namespace "{self.namespace}"' if self.namespace else ""
        return f'{self.verb} resource "{self.resource}" in API group "{self.group}"{scope}'


@dataclass(frozen=True)
class NonResource:
    """``SubjectAccessReview.spec.nonResourceAttributes``."""

    verb: str
    path: str

    def describe(self) -> str:
        return f'{self.verb} path "{self.path}"'


Attributes = Resource | NonResource


@dataclass(frozen=True)
class Need:
    """Allowed when every group of ``all_of`` has one allowed alternative (none: any user)."""

    right: Right
    all_of: tuple[tuple[Attributes, ...], ...]
    #: For logs and messages: what the request does.
    verb: str
    resource: str

    def describe(self) -> str:
        if not self.all_of:
            return f"{self.verb} {self.resource}"
        return " and ".join(" or ".join(a.describe() for a in group) for group in self.all_of)


def _recording(args: Mapping[str, str]) -> bool:
    """``record`` asks for a write unless it is plainly false (fail closed on a bad value)."""
    values = args.getlist("record") if hasattr(args, "getlist") else [args.get("record")]
    return any(value is not None and value not in _FALSE for value in values)


def _audit_need(args: Mapping[str, str]) -> Need:
    """An audit reads every ImageStream of the namespace and the Images they point at."""
    values = args.getlist("namespace") if hasattr(args, "getlist") else [args.get("namespace")]
    if len(values) == 1 and values[0]:
        namespace = values[0]
        streams = Resource("list", "imagestreams", namespace=namespace)
        images = Resource("get", "images")
        return Need(Right.READ, ((streams,), (images,)), "audit", f"namespace {namespace}")
    # all namespaces; also any request the view refuses (fail closed: the stronger need)
    streams, images = Resource("list", "imagestreams"), Resource("list", "images")
    return Need(Right.READ, ((streams,), (images,)), "audit", "all namespaces")


def need_of(method: str, path: str, args: Mapping[str, str]) -> Need | None:
    """What ``method path?args`` needs; None for the open endpoints."""
    if path in OPEN_PATHS or path.startswith(ADMISSION_PREFIX):
        return None
    verification = _VERIFICATION.fullmatch(path)
    if verification is not None:
        namespace, name = verification.groups()
        read = Resource("get", "imagestreamimages", namespace=namespace, name=name)
        if method == "POST" and _recording(args):
            digest = name.partition("@")[2]
            write = (
                Resource("update", "images", name=digest),
                Resource("create", "imagesignatures"),
            )
            return Need(Right.RECORD, ((read,), write), "record", f"{namespace}/{name}")
        return Need(Right.READ, ((read,),), "get", f"{namespace}/{name}")
    verb = _VERBS.get(method, method.lower())
    if path == AUDIT_PATH:
        return _audit_need(args)
    if path == "/api/v1/verify":
        return Need(Right.READ, (), "verify", "a posted document")
    if path == "/metrics":
        return Need(Right.READ, ((NonResource("get", path),),), "get", path)
    if path.startswith(_STORE_PREFIX):
        right = Right.READ if verb == "get" else Right.ADMIN
        return Need(right, ((NonResource(verb, path),),), verb, path)
    return Need(Right.READ, ((NonResource(verb, path),),), verb, path)
