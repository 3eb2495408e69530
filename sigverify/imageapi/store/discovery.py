"""Kubernetes API discovery for the embedded store: what kubectl and client libraries ask first.

Before any request for an object, kubectl (``get``, ``api-resources``, ``explain``) and the
Python ``kubernetes`` DynamicClient read:

- ``/version`` (``version.Info``);
- ``/api`` and ``/apis``, in the *aggregated* form (``apidiscovery.k8s.io/v2`` or ``v2beta1``
  ``APIGroupDiscoveryList``, Kubernetes ≥ 1.26) when the ``Accept`` header asks for it, else
  the plain ``APIVersions`` / ``APIGroupList`` — a client that asks for a form not served
  gets the plain one, as kube-apiserver answers ``application/json``;
- ``/apis/image.openshift.io`` (``APIGroup``) and ``/apis/image.openshift.io/v1``
  (``APIResourceList``).

The store serves no core (``v1``) group: ``/api`` lists no versions (client-go takes that
as "no legacy group", as it does from an aggregated server). :data:`RESOURCES` is the one
table of what is served — names, kinds, scope, verbs, OpenShift's short names — from which
the resource lists, the OpenAPI document and the REST routes' answers are made; a verb is
listed only where the REST serves it.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request

from sigverify import __version__
from sigverify.imageapi.store._objects import GROUP, GROUP_VERSION

__all__ = [
    "KUBERNETES_VERSION",
    "RESOURCES",
    "StoreResource",
    "create_discovery_blueprint",
    "resource_list",
    "resource_named",
]

VERSION = "v1"
#: The Kubernetes API level these answers follow (Table v1, aggregated discovery v2,
#: PartialObjectMetadata); reported by ``/version`` beside sigverify's own version.
KUBERNETES_VERSION = (1, 32)
_AGGREGATED_GROUP = "apidiscovery.k8s.io"
_AGGREGATED_VERSIONS = ("v2", "v2beta1")
_AGGREGATED_KIND = "APIGroupDiscoveryList"


@dataclass(frozen=True)
class StoreResource:
    """One resource of ``image.openshift.io/v1`` as discovery describes it."""

    name: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    #: ``all``: listed by ``kubectl get all`` (openshift-apiserver puts ImageStreams there).
    categories: tuple[str, ...] = ()


#: What the embedded store serves (openshift-apiserver's names, kinds, scopes and short
#: names: ``imagestream/etcd``, ``imagestreamimage/rest.go``, ``imagestreamtag/rest.go``).
RESOURCES: tuple[StoreResource, ...] = (
    StoreResource("images", "image", "Image", False, ("get", "list", "patch", "update", "watch")),
    StoreResource(
        "imagesignatures", "imagesignature", "ImageSignature", False, ("create", "delete")
    ),
    StoreResource(
        "imagestreamimages", "imagestreamimage", "ImageStreamImage", True, ("get",), ("isimage",)
    ),
    StoreResource(
        "imagestreams",
        "imagestream",
        "ImageStream",
        True,
        ("get", "list", "watch"),
        ("is",),
        ("all",),
    ),
    StoreResource(
        "imagestreamtags", "imagestreamtag", "ImageStreamTag", True, ("get",), ("istag",)
    ),
)


def resource_named(name: str) -> StoreResource:
    """The entry of :data:`RESOURCES` called ``name`` (KeyError for another)."""
    for resource in RESOURCES:
        if resource.name == name:
            return resource
    raise KeyError(name)


def resource_list() -> dict[str, Any]:
    """``GET /apis/image.openshift.io/v1``: the ``APIResourceList``."""
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": GROUP_VERSION,
        "resources": [
            {
                "name": r.name,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(r.verbs),
                **({"shortNames": list(r.short_names)} if r.short_names else {}),
                **({"categories": list(r.categories)} if r.categories else {}),
            }
            for r in RESOURCES
        ],
    }


def _group_version() -> dict[str, str]:
    return {"groupVersion": GROUP_VERSION, "version": VERSION}


def _api_group() -> dict[str, Any]:
    return {"name": GROUP, "versions": [_group_version()], "preferredVersion": _group_version()}


def _aggregated_group() -> dict[str, Any]:
    """The group in ``apidiscovery.k8s.io/v2`` ``APIGroupDiscovery`` form."""
    resources = [
        {
            "resource": r.name,
            "responseKind": {"group": GROUP, "version": VERSION, "kind": r.kind},
            "scope": "Namespaced" if r.namespaced else "Cluster",
            "singularResource": r.singular,
            "verbs": list(r.verbs),
            **({"shortNames": list(r.short_names)} if r.short_names else {}),
            **({"categories": list(r.categories)} if r.categories else {}),
        }
        for r in RESOURCES
    ]
    return {
        "metadata": {"name": GROUP, "creationTimestamp": None},
        "versions": [{"version": VERSION, "resources": resources, "freshness": "Current"}],
    }


def version_info() -> dict[str, str]:
    """``GET /version``: ``version.Info``, the API level followed and sigverify's version."""
    major, minor = KUBERNETES_VERSION
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return {
        "major": str(major),
        "minor": str(minor),
        "gitVersion": f"v{major}.{minor}.0+sigverify-{__version__}",
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}",
        "compiler": "",
        "platform": f"{sys.platform}/{machine}",
    }


def _media_ranges(header: str) -> Iterable[tuple[str, dict[str, str]]]:
    """The ``Accept`` header's media ranges in order: (type, parameters)."""
    for part in header.split(",")[:32]:  # a bounded header: the first 32 ranges count
        kind, *params = (p.strip() for p in part.split(";"))
        values = {}
        for param in params:
            key, _, value = param.partition("=")
            values[key.strip().lower()] = value.strip().strip('"')
        yield kind.lower(), values


def aggregated_version(header: str) -> str | None:
    """The ``apidiscovery.k8s.io`` version ``Accept`` asks for first, None for the plain form.

    Ranges are taken in the order given (kubectl lists its preference first); ``q`` values
    are not weighed.
    """
    for kind, params in _media_ranges(header):
        if kind not in ("application/json", "application/*", "*/*"):
            continue
        if params.get("as") is None and params.get("g") is None:
            return None  # plain JSON comes first
        if (
            params.get("as") == _AGGREGATED_KIND
            and params.get("g") == _AGGREGATED_GROUP
            and params.get("v") in _AGGREGATED_VERSIONS
        ):
            return params["v"]
    return None


def _json(body: Any, content_type: str = "application/json") -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), 200, content_type=content_type)
    response.headers["Vary"] = "Accept"
    return response


def _discovery_answer(plain: dict[str, Any], groups: list[dict[str, Any]]) -> Response:
    version = aggregated_version(request.headers.get("Accept", ""))
    if version is None:
        return _json(plain)
    body = {
        "kind": _AGGREGATED_KIND,
        "apiVersion": f"{_AGGREGATED_GROUP}/{version}",
        "metadata": {},
        "items": groups,
    }
    return _json(body, f"application/json;g={_AGGREGATED_GROUP};v={version};as={_AGGREGATED_KIND}")


def create_discovery_blueprint() -> Blueprint:
    """``/version``, ``/api``, ``/apis``, ``/apis/image.openshift.io`` and the OpenAPI v3
    documents (:mod:`.kube_openapi`), GET only."""
    bp = Blueprint("kube_discovery", __name__)

    @bp.get("/version")
    def version() -> Response:
        return _json(version_info())

    @bp.get("/api")
    def legacy() -> Response:
        plain = {"kind": "APIVersions", "versions": [], "serverAddressByClientCIDRs": []}
        return _discovery_answer(plain, [])

    @bp.get("/apis")
    def groups() -> Response:
        plain = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_api_group()]}
        return _discovery_answer(plain, [_aggregated_group()])

    @bp.get(f"/apis/{GROUP}")
    def group() -> Response:
        return _json({"kind": "APIGroup", "apiVersion": "v1", **_api_group()})

    from sigverify.imageapi.store.kube_openapi import add_openapi_routes  # it reads RESOURCES
    from sigverify.imageapi.store.kube_openapi_v2 import add_openapi_v2_route

    add_openapi_routes(bp)
    add_openapi_v2_route(bp)
    return bp
