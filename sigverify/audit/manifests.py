"""Workload manifests for ``sigverify audit --workloads``: from files, stdin or a cluster.

Input is whatever ``oc get pods,deploy,dc,cronjob -A -o yaml`` (or ``-o json``) prints: a
``v1`` ``List`` of objects, a typed list (``PodList``, whose items may omit their kind), one
object, or a YAML stream of any of these (``---``). Every object whose kind runs pods
(:data:`sigverify.admission.workloads.POD_SPEC_PATHS`) is a workload; any other kind
(Services, ConfigMaps…) is counted and skipped.

All of it is hostile input, read through :mod:`sigverify.strict_input` (repeated keys,
aliases, ``NaN``, too deep, not UTF-8: refused) with bounds on bytes, files and objects. A
workload whose metadata or pod spec cannot be read stops the audit with one line naming the
file, the item and the field (exit 2): a report that silently dropped it would say "ready
for enforce" about a namespace it never saw whole.

Only what admission reads is kept of each object: kind, name, namespace and its pod spec.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigverify.admission.workloads import POD_SPEC_PATHS, extract_images, pod_spec_path
from sigverify.errors import InputError, NotFoundError
from sigverify.limits import MAX_ENVELOPE_DEPTH
from sigverify.strict_input import StrictInputError, Wording, read_json, read_json_like_yaml_stream

__all__ = [
    "CLUSTER_KINDS",
    "MAX_MANIFEST_BYTES",
    "MAX_MANIFEST_FILES",
    "MAX_WORKLOADS",
    "MAX_YAML_MANIFEST_BYTES",
    "ListObjects",
    "Workload",
    "WorkloadSet",
    "list_cluster_workloads",
    "read_workloads",
]

#: Bytes read from all manifest inputs together (files, a directory's files, stdin).
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
#: Of which YAML: the strict YAML reader is pure Python, about 5 s and 40 MB of memory per
#: MiB here (JSON: 0.1 s), so a YAML input is bounded tighter; JSON (``-o json``) or
#: ``--workloads cluster`` take larger clusters.
MAX_YAML_MANIFEST_BYTES = 8 * 1024 * 1024
#: Files read from a ``--workloads`` directory.
MAX_MANIFEST_FILES = 10_000
#: Objects (workloads and skipped ones together) read in one audit.
MAX_WORKLOADS = 50_000
MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")
# Kubernetes object names (DNS-1123 subdomain, at most 253) and namespaces (label, 63):
# anything else in a name is refused, so no control character reaches a report.
_NAMESPACE = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?", re.ASCII)
_MAX_NAME = 253

_WORDING = Wording(
    invalid_json="not valid JSON",
    invalid_yaml="not valid YAML",
    not_a_number="{name} is not a JSON number",
    duplicate_key="repeated key {key!r}",
    too_deep=f"nested deeper than {MAX_ENVELOPE_DEPTH} levels",
    empty="no document",
)

#: What ``--workloads cluster`` lists: (API group, kind, path of the all-namespaces list).
#: ReplicaSets, Jobs and ReplicationControllers are listed too, but one that a controller
#: owns (a Deployment's ReplicaSet, a CronJob's Job, a DeploymentConfig's RC) is skipped: its
#: owner's template is judged already.
CLUSTER_KINDS: tuple[tuple[str, str, str], ...] = (
    ("", "Pod", "/api/v1/pods"),
    ("apps", "Deployment", "/apis/apps/v1/deployments"),
    ("apps.openshift.io", "DeploymentConfig", "/apis/apps.openshift.io/v1/deploymentconfigs"),
    ("batch", "CronJob", "/apis/batch/v1/cronjobs"),
    ("apps", "StatefulSet", "/apis/apps/v1/statefulsets"),
    ("apps", "DaemonSet", "/apis/apps/v1/daemonsets"),
    ("batch", "Job", "/apis/batch/v1/jobs"),
    ("apps", "ReplicaSet", "/apis/apps/v1/replicasets"),
    ("", "ReplicationController", "/api/v1/replicationcontrollers"),
)
_OWNED_SKIPPED = frozenset({"Job", "ReplicaSet", "ReplicationController"})


@dataclass(frozen=True)
class Workload:
    """One object that runs pods: what admission needs of it."""

    group: str
    kind: str
    namespace: str
    name: str
    #: The object reduced to its pod spec at the kind's path (``spec.template.spec``…).
    object: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.namespace, self.kind, self.name, self.group)


@dataclass
class WorkloadSet:
    """The workloads read, in namespace/kind/name order, and what was skipped."""

    source: str
    workloads: list[Workload] = field(default_factory=list)
    #: Objects of kinds that run no pods (or owned by a listed controller), by kind.
    skipped: Counter[str] = field(default_factory=Counter)


# -- one object ------------------------------------------------------------------------------


def _group(api_version: object, where: str) -> str:
    if not isinstance(api_version, str) or not api_version:
        raise InputError("has no apiVersion", path=where)
    return api_version.rpartition("/")[0]


def _slim(path: tuple[str, ...], spec: Mapping[str, Any]) -> Mapping[str, Any]:
    node: Mapping[str, Any] = spec
    for step in reversed(path):
        node = {step: node}
    return node


def _workload(item: Mapping[str, Any], group: str, kind: str, where: str) -> Workload | None:
    """``item`` as a workload (None: a kind that runs no pods); InputError if malformed."""
    path = pod_spec_path(group, kind)
    if path is None:
        return None
    metadata = item.get("metadata")
    if not isinstance(metadata, Mapping):
        raise InputError(f"a {kind} without metadata", path=where)
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or len(name) > _MAX_NAME or not _NAME.fullmatch(name):
        raise InputError(f"a {kind} without a valid metadata.name", path=where)
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise InputError(f"{kind} {name!r} has no valid metadata.namespace", path=where)
    subject = f"{where} ({kind} {namespace}/{name})"
    try:
        extract_images(group, kind, item)  # the webhook's reading: malformed specs refused
    except InputError as exc:
        raise InputError(str(exc), path=subject) from None
    node: Any = item
    for step in path:
        node = node.get(step) if isinstance(node, Mapping) else None
    spec = node if isinstance(node, Mapping) else {}
    return Workload(group, kind, namespace, name, _slim(path, spec))


# -- files and stdin -------------------------------------------------------------------------


class _Budget:
    """Bytes and objects left for the whole ``--workloads`` input."""

    def __init__(self) -> None:
        self.bytes = MAX_MANIFEST_BYTES
        self.yaml_bytes = MAX_YAML_MANIFEST_BYTES
        self.objects = MAX_WORKLOADS

    def take_object(self, where: str) -> None:
        self.objects -= 1
        if self.objects < 0:
            raise InputError(f"more than {MAX_WORKLOADS} objects in all", path=where)


def _read_bytes(name: str, path: Path | None, budget: _Budget) -> bytes:
    """The bytes of ``path`` (None: stdin, left open), within what the budget has left."""
    try:
        if path is None:
            data = sys.stdin.buffer.read(budget.bytes + 1)
        else:
            with path.open("rb") as handle:
                data = handle.read(budget.bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=name) from exc
    if len(data) > budget.bytes:
        raise InputError(
            f"more than {MAX_MANIFEST_BYTES} bytes of --workloads input in all", path=name
        )
    budget.bytes -= len(data)
    return data


def _documents(name: str, data: bytes, budget: _Budget) -> list[Any]:
    looks_json = name.endswith(".json") or data.lstrip()[:1] in (b"{", b"[")
    if not looks_json:
        budget.yaml_bytes -= len(data)
        if budget.yaml_bytes < 0:
            raise InputError(
                f"more than {MAX_YAML_MANIFEST_BYTES} bytes of YAML in all: give JSON "
                f"(oc get … -o json, up to {MAX_MANIFEST_BYTES} bytes) or --workloads cluster",
                path=name,
            )
    try:
        if looks_json:
            return [read_json(data, _WORDING, max_depth=MAX_ENVELOPE_DEPTH)]
        return read_json_like_yaml_stream(data, _WORDING, max_depth=MAX_ENVELOPE_DEPTH)
    except StrictInputError as exc:
        raise InputError(exc.located, path=name) from exc


def _items(name: str, documents: list[Any]) -> Iterator[tuple[Mapping[str, Any], str, str, str]]:
    """(item, group, kind, where) for every object of the documents."""
    for index, document in enumerate(documents):
        where = f"{name}: document {index + 1}" if len(documents) > 1 else name
        if document is None:
            continue
        if not isinstance(document, dict):
            raise InputError("must be an object (a Kubernetes object or a List)", path=where)
        kind = document.get("kind")
        if not isinstance(kind, str) or not kind:
            raise InputError("has no kind", path=where)
        if not kind.endswith("List"):
            yield document, _group(document.get("apiVersion"), where), kind, where
            continue
        items = document.get("items")
        if items is None:
            continue
        if not isinstance(items, list):
            raise InputError("items must be a list", path=where)
        typed = kind[: -len("List")]  # a PodList's items may omit kind and apiVersion
        for position, item in enumerate(items):
            at = f"{where}: items[{position}]"
            if not isinstance(item, dict):
                raise InputError("must be an object", path=at)
            item_kind = item.get("kind", typed if kind != "List" else None)
            if not isinstance(item_kind, str) or not item_kind:
                raise InputError("has no kind", path=at)
            version = item.get("apiVersion", document.get("apiVersion") if typed else None)
            yield item, _group(version, at), item_kind, at


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = []
        for entry in sorted(path.rglob("*")):
            if entry.is_file() and entry.suffix in MANIFEST_SUFFIXES:
                files.append(entry)
                if len(files) > MAX_MANIFEST_FILES:
                    raise InputError(
                        f"more than {MAX_MANIFEST_FILES} manifest files", path=str(path)
                    )
        return files
    if path.exists():
        # A file, or a pipe such as ``--workloads <(oc get pods -A -o json)``: read bounded.
        return [path]
    raise InputError("no such file or directory", path=str(path))


def read_workloads(target: str, *, namespace: str | None = None) -> WorkloadSet:
    """The workloads of ``target`` (a file, a directory walked for .json/.yaml/.yml, or
    ``-`` for stdin), those of ``namespace`` only when given."""
    budget = _Budget()
    sources: list[tuple[str, Path | None]] = (
        [("--workloads -", None)] if target == "-" else [(str(p), p) for p in _files(Path(target))]
    )
    found = WorkloadSet(source="stdin" if target == "-" else target)
    seen: set[tuple[str, str, str, str]] = set()
    for name, path in sources:
        data = _read_bytes(name, path, budget)
        for item, group, kind, where in _items(name, _documents(name, data, budget)):
            budget.take_object(where)
            workload = _workload(item, group, kind, where)
            if workload is None:
                found.skipped[kind] += 1
            elif (namespace is None or workload.namespace == namespace) and (
                workload.key not in seen
            ):
                seen.add(workload.key)
                found.workloads.append(workload)
    found.workloads.sort(key=lambda w: w.key)
    return found


# -- a cluster -------------------------------------------------------------------------------


#: One page of a list at an API path: (items, continue token), as the OpenShift client's
#: ``list_objects`` answers.
ListObjects = Callable[[str, int | None, str | None], tuple[list[dict[str, Any]], str | None]]


def _namespaced(path: str, namespace: str | None) -> str:
    if namespace is None:
        return path
    prefix, _, resource = path.rpartition("/")
    return f"{prefix}/namespaces/{namespace}/{resource}"


def _owned_by_a_controller(item: Mapping[str, Any]) -> bool:
    metadata = item.get("metadata")
    owners = metadata.get("ownerReferences") if isinstance(metadata, Mapping) else None
    return isinstance(owners, list) and any(
        isinstance(o, Mapping) and o.get("controller") is True for o in owners
    )


def list_cluster_workloads(
    list_objects: ListObjects,
    *,
    namespace: str | None = None,
    page_size: int = 250,
    max_pages: int = 100_000,
) -> WorkloadSet:
    """Every workload of :data:`CLUSTER_KINDS` in the cluster (or ``namespace``); a kind
    whose API the cluster does not serve (DeploymentConfigs off OpenShift) is skipped."""
    found = WorkloadSet(source="cluster")
    budget = _Budget()
    for group, kind, path in CLUSTER_KINDS:
        assert (group, kind) in POD_SPEC_PATHS
        listed = _namespaced(path, namespace)
        token: str | None = None
        for _ in range(max_pages):
            try:
                items, token = list_objects(listed, page_size, token)
            except NotFoundError:
                found.skipped[f"{kind} (no such API)"] += 1
                break
            for position, item in enumerate(items):
                where = f"{listed}: items[{position}]"
                budget.take_object(where)
                if kind in _OWNED_SKIPPED and _owned_by_a_controller(item):
                    found.skipped[f"{kind} (owned by a controller)"] += 1
                    continue
                workload = _workload(item, group, kind, where)
                if workload is not None:
                    found.workloads.append(workload)
            if token is None:
                break
        else:
            raise InputError(f"the list did not end after {max_pages} pages", path=listed)
    found.workloads.sort(key=lambda w: w.key)
    return found
