"""ImageStreamImages and ImageStreamTags, resolved from a stream's status tags as the server does.

openshift-apiserver ``imagestreamimage/rest.go`` and ``imagestreamtag/rest.go``; both read
inside the caller's transaction, so the stream and its images are one consistent snapshot.
"""

from __future__ import annotations

import bisect
import copy
import json
import sqlite3
from dataclasses import dataclass

from sigverify.imageapi.errors import BadRequestError, NotFoundError
from sigverify.imageapi.protocol import JSONObject
from sigverify.imageapi.store._objects import (
    _IMAGE,
    _STREAM,
    GROUP,
    GROUP_VERSION,
    _meta,
    _not_found,
)
from sigverify.imageapi.store._sqlite import _load, _revision, _stored


def image_stream_image_name(name: str) -> tuple[str, str]:
    """library-go ``ParseImageStreamImageName``: ``<stream>@<id>``, both parts non-empty."""
    parts = name.split("@")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise BadRequestError("ImageStreamImages must be retrieved with <name>@<id>")
    return parts[0], parts[1]


def _digest_or_image_match(image: str, image_id: str) -> bool:
    """library-go ``DigestOrImageMatch``: the id is a prefix of the digest's hex or of the name."""
    algorithm, sep, hex_part = image.partition(":")
    if sep and algorithm and hex_part and hex_part.startswith(image_id):
        return True
    return image.startswith(image_id)


def image_stream_tag_name(name: str) -> tuple[str, str]:
    """``<stream>:<tag>``, both parts non-empty."""
    parts = name.split(":")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise BadRequestError("ImageStreamTags must be retrieved with <name>:<tag>")
    return parts[0], parts[1]


def _load_stream(db: sqlite3.Connection, namespace: str, stream_name: str) -> JSONObject:
    stream = _load(db, _STREAM, namespace, stream_name)
    if stream is None:
        raise _not_found("imagestreams", stream_name)
    return stream


@dataclass(frozen=True)
class StreamLayers:
    """A stream's "layers" at one store revision: every tagged image and the sub-manifests of
    tagged lists (openshift-apiserver ``imagestreamimage``), indexed for the id lookup."""

    revision: int
    annotations: JSONObject | None
    #: Every layer, sorted: those starting with an id are one run (bisect).
    layers: tuple[str, ...]
    #: (the part after "algorithm:", layer) for layers of that form, sorted by that part.
    hex_parts: tuple[tuple[str, str], ...]

    def greatest_match(self, image_id: str) -> str | None:
        """The greatest layer ``_digest_or_image_match`` matches with ``image_id``."""
        found: list[str] = []
        index = bisect.bisect_left(self.layers, image_id)
        while index < len(self.layers) and self.layers[index].startswith(image_id):
            found.append(self.layers[index])
            index += 1
        index = bisect.bisect_left(self.hex_parts, (image_id, ""))
        while index < len(self.hex_parts) and self.hex_parts[index][0].startswith(image_id):
            found.append(self.hex_parts[index][1])
            index += 1
        return max(found, default=None)


def stream_layers(
    db: sqlite3.Connection, namespace: str, stream_name: str, revision: int
) -> StreamLayers:
    """Read the stream and the sub-manifests of its tagged lists (one query for those)."""
    stream = _load_stream(db, namespace, stream_name)
    candidates: set[str] = set()
    for tag in (stream.get("status") or {}).get("tags") or []:
        for item in tag.get("items") or []:
            if isinstance(item.get("image"), str) and item["image"]:
                candidates.add(item["image"])
    # Only an Image whose stored text names the member can list sub-manifests (a key is
    # written as is), so the others are not read at all.
    rows = db.execute(
        "SELECT body FROM objects WHERE kind = ? AND namespace = '' AND name IN "
        "(SELECT value FROM json_each(?)) AND instr(body, '\"dockerImageManifests\"') > 0",
        (_IMAGE, json.dumps(sorted(candidates))),
    ).fetchall()
    for (body,) in rows:
        for manifest in _stored(body).get("dockerImageManifests") or []:
            if isinstance(manifest, dict) and isinstance(manifest.get("digest"), str):
                candidates.add(manifest["digest"])
    hex_parts = []
    for layer in candidates:
        algorithm, sep, hex_part = layer.partition(":")
        if sep and algorithm and hex_part:
            hex_parts.append((hex_part, layer))
    annotations = (stream.get("metadata") or {}).get("annotations")
    return StreamLayers(revision, annotations, tuple(sorted(candidates)), tuple(sorted(hex_parts)))


def read_image_stream_image(
    db: sqlite3.Connection,
    namespace: str,
    stream_name: str,
    image_id: str,
    layers: StreamLayers | None = None,
) -> JSONObject:
    """``<stream_name>@<image_id>`` as openshift-apiserver ``imagestreamimage.REST.Get``.

    ``layers``: the stream's layers read at this transaction's revision (a cache); read here
    when None.
    """
    name = f"{stream_name}@{image_id}"
    if layers is None:
        layers = stream_layers(db, namespace, stream_name, _revision(db))
    match = layers.greatest_match(image_id)
    if match is None:
        raise NotFoundError(f'imagestreamimage.{GROUP} "{name}" not found')
    image = _load(db, _IMAGE, "", match)
    if image is None:
        raise _not_found("images", match)
    image.pop("dockerImageManifest", None)
    image.pop("dockerImageConfig", None)
    meta: JSONObject = {"name": name, "namespace": namespace}
    created = (image.get("metadata") or {}).get("creationTimestamp")
    meta["creationTimestamp"] = created
    if layers.annotations:
        meta["annotations"] = copy.deepcopy(layers.annotations)
    return {
        "kind": "ImageStreamImage",
        "apiVersion": GROUP_VERSION,
        "metadata": meta,
        "image": image,
    }


def read_image_stream_tag(
    db: sqlite3.Connection, namespace: str, stream_name: str, tag: str
) -> JSONObject:
    """``<stream_name>:<tag>`` as openshift-apiserver ``imagestreamtag.REST.Get``."""
    name = f"{stream_name}:{tag}"
    stream = _load_stream(db, namespace, stream_name)
    status_tag = next(
        (
            t
            for t in (stream.get("status") or {}).get("tags") or []
            if isinstance(t, dict) and t.get("tag") == tag
        ),
        None,
    )
    items = (status_tag or {}).get("items") or []
    event = items[0] if items else None
    if not event or not event.get("image"):
        raise _not_found("imagestreamtags", name)
    image = _load(db, _IMAGE, "", event["image"])
    if image is None:
        raise _not_found("images", event["image"])
    spec = stream.get("spec") or {}
    spec_tag = next(
        (t for t in spec.get("tags") or [] if isinstance(t, dict) and t.get("name") == tag),
        None,
    )
    stream_meta = stream.get("metadata") or {}
    meta: JSONObject = {
        "name": name,
        "namespace": namespace,
        "uid": stream_meta.get("uid"),
        "resourceVersion": stream_meta.get("resourceVersion"),
        "creationTimestamp": event.get("created"),
    }
    if stream_meta.get("labels"):
        meta["labels"] = stream_meta["labels"]
    annotations = (spec_tag or {}).get("annotations") or {}
    if annotations:
        meta["annotations"] = dict(annotations)
        image_meta = _meta(image)
        image_meta["annotations"] = {**(image_meta.get("annotations") or {}), **annotations}
    image.pop("dockerImageManifest", None)
    image.pop("dockerImageConfig", None)
    # ResolveReferenceForTagEvent: the local registry's pull spec under the Local policy.
    reference = event.get("dockerImageReference")
    policy = ((spec_tag or {}).get("referencePolicy") or {}).get("type")
    local = (stream.get("status") or {}).get("dockerImageRepository")
    if policy == "Local" and local:
        reference = f"{local}@{event['image']}"
    image["dockerImageReference"] = reference
    body: JSONObject = {
        "kind": "ImageStreamTag",
        "apiVersion": GROUP_VERSION,
        "metadata": meta,
        "tag": spec_tag,
        "generation": event.get("generation", 0),
        "lookupPolicy": spec.get("lookupPolicy") or {"local": False},
    }
    if status_tag and status_tag.get("conditions"):
        body["conditions"] = status_tag["conditions"]
    body["image"] = image
    return body
