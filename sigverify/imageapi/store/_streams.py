"""ImageStreamImages and ImageStreamTags, resolved from a stream's status tags as the server does.

openshift-apiserver ``imagestreamimage/rest.go`` and ``imagestreamtag/rest.go``; both read
inside the caller's transaction, so the stream and its images are one consistent snapshot.
"""

from __future__ import annotations

import sqlite3

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
from sigverify.imageapi.store._sqlite import _load


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


def read_image_stream_image(
    db: sqlite3.Connection, namespace: str, stream_name: str, image_id: str
) -> JSONObject:
    """``<stream_name>@<image_id>`` as openshift-apiserver ``imagestreamimage.REST.Get``."""
    name = f"{stream_name}@{image_id}"
    stream = _load_stream(db, namespace, stream_name)
    # The stream's "layers": every tagged image and the sub-manifests of tagged lists.
    candidates: set[str] = set()
    for tag in (stream.get("status") or {}).get("tags") or []:
        for item in tag.get("items") or []:
            if isinstance(item.get("image"), str) and item["image"]:
                candidates.add(item["image"])
    for digest in list(candidates):
        tagged = _load(db, _IMAGE, "", digest)
        for manifest in (tagged or {}).get("dockerImageManifests") or []:
            if isinstance(manifest, dict) and isinstance(manifest.get("digest"), str):
                candidates.add(manifest["digest"])
    matches = sorted(c for c in candidates if _digest_or_image_match(c, image_id))
    if not matches:
        raise NotFoundError(f'imagestreamimage.{GROUP} "{name}" not found')
    image = _load(db, _IMAGE, "", matches[-1])
    if image is None:
        raise _not_found("images", matches[-1])
    image.pop("dockerImageManifest", None)
    image.pop("dockerImageConfig", None)
    meta: JSONObject = {"name": name, "namespace": namespace}
    created = (image.get("metadata") or {}).get("creationTimestamp")
    meta["creationTimestamp"] = created
    annotations = (stream.get("metadata") or {}).get("annotations")
    if annotations:
        meta["annotations"] = annotations
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
