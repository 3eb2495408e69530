"""Server-side printing: ``meta.k8s.io`` ``Table`` and ``PartialObjectMetadata`` answers.

kubectl asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io, …,
application/json`` and prints the rows it gets; ``-o wide`` shows the columns of priority 1
too. The columns are those openshift-apiserver's image printers give ``oc get``
(``pkg/image/printers/internalversion/printer.go``): Images *Name, Image Reference*;
ImageStreams *Name, Image Repository, Tags, Updated*; ImageStreamTags *Name, Image
Reference, Updated* (wide: *Image Name*); ImageStreamImages *Name, Updated* (wide: *Image
Reference, Image Name*) — and, for every kind that holds an Image, sigverify's
**Verification** (what the signatures' recorded conditions say) and, wide, **Signatures**.

The server computes the cells, relative times included ("5 days ago", docker/go-units'
``HumanDuration``), as kube-apiserver does. Each row carries the object as
``includeObject`` asks: ``PartialObjectMetadata`` by default (kubectl's ``-A``
namespace column, ``--show-labels``), ``Object``, or ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sigverify.imageapi.errors import BadRequestError
from sigverify.imageapi.store._objects import GROUP_VERSION

__all__ = [
    "META_GROUP",
    "NotAcceptable",
    "Rendering",
    "negotiate",
    "partial_metadata",
    "partial_metadata_list",
    "table",
    "verification_state",
]

META_GROUP = "meta.k8s.io"
_META_VERSIONS = ("v1", "v1beta1")
_FORMS = {"Table": "table", "PartialObjectMetadata": "metadata"}
_LIST_FORMS = {"Table": "table", "PartialObjectMetadataList": "metadata"}
_INCLUDE = ("", "None", "Object", "PartialObjectMetadata")
_ACCEPTED = "application/json, application/json;as=Table;v=v1;g=meta.k8s.io"


class NotAcceptable(Exception):
    """406: no media type of ``Accept`` is served."""

    def __init__(self) -> None:
        super().__init__(f"only the following media types are accepted: {_ACCEPTED}")


@dataclass(frozen=True)
class Rendering:
    """How to answer: the object itself, a Table, or PartialObjectMetadata (``version`` of
    ``meta.k8s.io``)."""

    form: str = "object"
    version: str = "v1"


def negotiate(accept: str, *, listing: bool) -> Rendering:
    """The first media range of ``accept`` this server produces (kube-apiserver's order)."""
    if not accept.strip():
        return Rendering()
    forms = _LIST_FORMS if listing else _FORMS
    for part in accept.split(",")[:32]:
        kind, *raw = (p.strip() for p in part.split(";"))
        params = {}
        for param in raw:
            key, _, value = param.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        if kind.lower() not in ("application/json", "application/*", "*/*"):
            continue
        shape = params.get("as")
        if shape is None:
            return Rendering()
        if (
            shape in forms
            and params.get("g") == META_GROUP
            and params.get("v", "v1") in _META_VERSIONS
        ):
            return Rendering(forms[shape], params.get("v", "v1"))
    raise NotAcceptable


def include_object(value: str | None) -> str:
    """The ``includeObject`` query value ("" = the default, PartialObjectMetadata)."""
    value = value or ""
    if value not in _INCLUDE:
        raise BadRequestError(f'unrecognized includeObject value: "{value}"')
    return value or "PartialObjectMetadata"


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def partial_metadata(obj: Mapping[str, Any], version: str = "v1") -> dict[str, Any]:
    """``PartialObjectMetadata``: the object's ``metadata`` only."""
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"{META_GROUP}/{version}",
        "metadata": dict(_metadata(obj)),
    }


def partial_metadata_list(
    items: Sequence[Mapping[str, Any]], list_meta: Mapping[str, Any], version: str = "v1"
) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": f"{META_GROUP}/{version}",
        "metadata": dict(list_meta),
        "items": [partial_metadata(item, version) for item in items],
    }


# -- cells ----------------------------------------------------------------------------------


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """docker/go-units ``HumanDuration``, as the OpenShift printers word an age."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = whole // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = math.floor(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{whole // 3600 // 24 // 365} years"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    return f"{human_duration((now - moment).total_seconds())} ago"


def _first(conditions: Any, kind: str) -> str | None:
    """The ``status`` of the first condition of type ``kind`` (sigverify writes one each)."""
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, dict) and condition.get("type") == kind:
            status = condition.get("status")
            return status if isinstance(status, str) else None
    return None


def verification_state(image: Mapping[str, Any]) -> str:
    """What an Image's recorded signature conditions say, in one word.

    ``Trusted``: a signature is ``Trusted`` and ``ForImage`` (and not ``Expired`` or
    ``Revoked``); ``Unverified``: none is, and one has no ``Trusted``/``ForImage`` verdict
    recorded (or ``Unknown``); ``Untrusted``: every signature was judged and none passed;
    ``Unsigned``: no signatures.
    """
    signatures = image.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        return "Unsigned"
    unjudged = False
    for signature in signatures:
        conditions = signature.get("conditions") if isinstance(signature, dict) else None
        trusted, for_image = _first(conditions, "Trusted"), _first(conditions, "ForImage")
        spoiled = "True" in (_first(conditions, "Expired"), _first(conditions, "Revoked"))
        if trusted == "True" and for_image == "True" and not spoiled:
            return "Trusted"
        if trusted not in ("True", "False") or for_image not in ("True", "False"):
            unjudged = True
    return "Unverified" if unjudged else "Untrusted"


def _signature_count(image: Mapping[str, Any]) -> int:
    signatures = image.get("signatures")
    return len(signatures) if isinstance(signatures, list) else 0


def _sorted_tags(stream: Mapping[str, Any]) -> list[str]:
    """openshift-apiserver ``SortStatusTags``: newest first item first, then by name."""
    status = stream.get("status")
    tags = status.get("tags") if isinstance(status, dict) else None
    found: list[tuple[float, str]] = []
    for tag in tags if isinstance(tags, list) else []:
        if not isinstance(tag, dict) or not isinstance(tag.get("tag"), str):
            continue
        items = tag.get("items")
        first = items[0] if isinstance(items, list) and items else {}
        created = _time(first.get("created") if isinstance(first, dict) else None)
        found.append((-(created.timestamp() if created else float("-inf")), tag["tag"]))
    return [name for _, name in sorted(found)]


def tags_up_to_width(tags: list[str], preferred: int = 40) -> str:
    """openshift-apiserver ``printTagsUpToWidth``: as many tags as fit, then "+ N more..."."""
    shown = tags
    remaining = preferred
    for i, tag in enumerate(tags):
        remaining -= len(tag) + 1
        if remaining >= 0:
            continue
        if i == 0:
            shown = tags[:1]
            break
        margin = preferred // 4
        if margin < remaining + len(tag) and margin >= -remaining:
            continue
        shown = tags[:i]
        break
    hidden = len(tags) - len(shown)
    if hidden > 0:
        return f"{','.join(shown)} + {hidden} more..."
    return ",".join(shown)


def _latest_tag_time(stream: Mapping[str, Any]) -> datetime | None:
    status = stream.get("status")
    tags = status.get("tags") if isinstance(status, dict) else None
    latest = None
    for tag in tags if isinstance(tags, list) else []:
        items = tag.get("items") if isinstance(tag, dict) else None
        if isinstance(items, list) and items and isinstance(items[0], dict):
            created = _time(items[0].get("created"))
            if created is not None and (latest is None or created > latest):
                latest = created
    return latest


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _inner_image(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    image = obj.get("image")
    return image if isinstance(image, dict) else {}


# -- columns --------------------------------------------------------------------------------

_NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically."
)
_REFERENCE_DOC = "The string that can be used to pull this image."
_VERIFICATION_DOC = (
    "What the recorded signature conditions say: Trusted (a signature is Trusted and "
    "ForImage), Untrusted (all judged, none passed), Unverified (not all judged), Unsigned."
)
_SIGNATURES_DOC = "How many signatures the image holds."


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    priority: int = 0
    type: str = "string"
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


_Cells = Callable[[Mapping[str, Any], datetime], list[Any]]
_NAME = Column("Name", _NAME_DOC, format="name")
_VERIFICATION = Column("Verification", _VERIFICATION_DOC)
_SIGNATURES = Column("Signatures", _SIGNATURES_DOC, priority=1, type="integer")
_UPDATED = Column("Updated", "Last update time.")


def _image_cells(image: Mapping[str, Any], _: datetime) -> list[Any]:
    return [
        _string(_metadata(image).get("name")),
        _string(image.get("dockerImageReference")),
        verification_state(image),
        _signature_count(image),
    ]


def _stream_cells(stream: Mapping[str, Any], now: datetime) -> list[Any]:
    spec = stream.get("spec") if isinstance(stream.get("spec"), dict) else {}
    status = stream.get("status") if isinstance(stream.get("status"), dict) else {}
    assert isinstance(spec, dict) and isinstance(status, dict)
    repository = _string(spec.get("dockerImageRepository")) or _string(
        status.get("dockerImageRepository")
    )
    repository = _string(status.get("publicDockerImageRepository")) or repository
    return [
        _string(_metadata(stream).get("name")),
        repository,
        tags_up_to_width(_sorted_tags(stream)),
        _ago(_latest_tag_time(stream), now),
    ]


def _tag_cells(tag: Mapping[str, Any], now: datetime) -> list[Any]:
    image = _inner_image(tag)
    return [
        _string(_metadata(tag).get("name")),
        _string(image.get("dockerImageReference")),
        _ago(_time(_metadata(tag).get("creationTimestamp")), now),
        verification_state(image),
        _string(_metadata(image).get("name")),
        _signature_count(image),
    ]


def _stream_image_cells(isi: Mapping[str, Any], now: datetime) -> list[Any]:
    image = _inner_image(isi)
    return [
        _string(_metadata(isi).get("name")),
        _ago(_time(_metadata(isi).get("creationTimestamp")), now),
        verification_state(image),
        _string(image.get("dockerImageReference")),
        _string(_metadata(image).get("name")),
        _signature_count(image),
    ]


_PRINTERS: dict[str, tuple[tuple[Column, ...], _Cells]] = {
    "Image": (
        (_NAME, Column("Image Reference", _REFERENCE_DOC), _VERIFICATION, _SIGNATURES),
        _image_cells,
    ),
    "ImageStream": (
        (
            _NAME,
            Column("Image Repository", "The docker repository the images are pulled from."),
            Column("Tags", "Human readable list of tags."),
            _UPDATED,
        ),
        _stream_cells,
    ),
    "ImageStreamTag": (
        (
            _NAME,
            Column("Image Reference", _REFERENCE_DOC),
            _UPDATED,
            _VERIFICATION,
            Column("Image Name", "The image the tag points to.", priority=1),
            _SIGNATURES,
        ),
        _tag_cells,
    ),
    "ImageStreamImage": (
        (
            _NAME,
            _UPDATED,
            _VERIFICATION,
            Column("Image Reference", _REFERENCE_DOC, priority=1),
            Column("Image Name", "The image (digest) the name resolves to.", priority=1),
            _SIGNATURES,
        ),
        _stream_image_cells,
    ),
}


def table(
    kind: str,
    objects: Sequence[Mapping[str, Any]],
    list_meta: Mapping[str, Any],
    *,
    include: str,
    version: str = "v1",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A ``Table`` of ``objects`` (all of ``kind``) with the list's (or object's) metadata."""
    columns, cells = _PRINTERS[kind]
    moment = now or datetime.now(UTC)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": cells(obj, moment)}
        if include == "Object":
            # Typed, as the server sends a row's object: list items are stored without.
            rest = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
            row["object"] = {"kind": kind, "apiVersion": GROUP_VERSION, **rest}
        elif include == "PartialObjectMetadata":
            row["object"] = partial_metadata(obj, version)
        else:
            row["object"] = None
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": f"{META_GROUP}/{version}",
        "metadata": dict(list_meta),
        "columnDefinitions": [column.definition() for column in columns],
        "rows": rows,
    }
