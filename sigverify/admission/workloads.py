"""Every image a workload asks for, with the JSON pointer (RFC 6901) of its ``image`` field.

Pods and every pod-template owner the cluster runs pods from (docs/domain.md §5): the template's
pod spec is found at a fixed path per kind. All three container lists are read —
``containers``, ``initContainers`` and ``ephemeralContainers`` — because each runs an image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigverify.errors import InputError

__all__ = [
    "CONTAINER_LISTS",
    "POD_SPEC_PATHS",
    "ImageUse",
    "changed_images",
    "extract_images",
    "pod_spec",
    "pod_spec_path",
]

#: (API group, kind) → path of the pod spec inside the object.
POD_SPEC_PATHS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): ("spec",),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps.openshift.io", "DeploymentConfig"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
#: Most containers read from one pod spec (the API server has no limit; we need one).
MAX_CONTAINERS = 1024


@dataclass(frozen=True)
class ImageUse:
    """One ``image`` field of one container."""

    pointer: str  # JSON pointer, e.g. /spec/template/spec/containers/0/image
    image: str
    container: str  # the container's name ("" when absent)

    @property
    def location(self) -> str:
        """A readable place for messages: ``spec.containers[0] (web)``."""
        parts = self.pointer.strip("/").split("/")[:-1]
        text = ""
        for part in parts:
            text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
        return f"{text} ({self.container})" if self.container else text


def pod_spec_path(group: str, kind: str) -> tuple[str, ...] | None:
    """Where the pod spec sits in objects of this kind; ``None`` for kinds without pods."""
    return POD_SPEC_PATHS.get((group, kind))


def pod_spec(group: str, kind: str, obj: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The pod spec of ``obj`` (a pod's, or its template's), or None when it has none."""
    path = pod_spec_path(group, kind)
    node: Any = obj
    for step in path or ():
        node = node.get(step) if isinstance(node, Mapping) else None
    return node if path is not None and isinstance(node, Mapping) else None


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"must be an object, not {type(value).__name__}", path=where)
    return value


def extract_images(group: str, kind: str, obj: Mapping[str, Any] | None) -> list[ImageUse]:
    """Every container image of ``obj``, in spec order (init, regular, ephemeral)."""
    path = pod_spec_path(group, kind)
    if path is None or obj is None:
        return []
    node: Any = _object(obj, "object")
    walked = ""
    for step in path:
        walked += "/" + step
        node = node.get(step)
        if node is None:
            return []  # no template (yet): nothing runs from it
        node = _object(node, walked)
    uses: list[ImageUse] = []
    for list_name in CONTAINER_LISTS:
        containers = node.get(list_name)
        if containers is None:
            continue
        where = f"{walked}/{list_name}"
        if not isinstance(containers, list):
            raise InputError("must be a list", path=where)
        if len(containers) > MAX_CONTAINERS:
            raise InputError(f"more than {MAX_CONTAINERS} containers", path=where)
        for index, raw in enumerate(containers):
            container = _object(raw, f"{where}/{index}")
            image = container.get("image")
            name = container.get("name", "")
            if not isinstance(name, str):
                raise InputError("must be a string", path=f"{where}/{index}/name")
            if image is None or image == "":
                continue  # a template may leave the image to be set later; nothing to pull
            if not isinstance(image, str):
                raise InputError("must be a string", path=f"{where}/{index}/image")
            uses.append(ImageUse(f"{where}/{index}/image", image, name))
    return uses


def changed_images(
    group: str, kind: str, obj: Mapping[str, Any] | None, old: Mapping[str, Any] | None
) -> list[ImageUse]:
    """The images of ``obj`` that ``old`` did not already run (UPDATE checks only these).

    An image string present anywhere in the old object was admitted (or pre-dates the
    webhook) already; moving it between containers does not pull anything new.
    """
    uses = extract_images(group, kind, obj)
    if old is None:
        return uses
    try:
        before = {use.image for use in extract_images(group, kind, old)}
    except InputError:
        before = set()  # a malformed old object proves nothing: check everything
    return [use for use in uses if use.image not in before]
