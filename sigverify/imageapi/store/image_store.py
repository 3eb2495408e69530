"""The embedded image store: Images and ImageStreams in SQLite, served as OpenShift serves them.

Used when sigverify runs without a cluster, and (behind :mod:`sigverify.imageapi.store.rest`) as the
faithful stand-in for an OpenShift API server that the OpenShift client is tested against.

- Objects are stored as the JSON text given (lossless: unknown members and member order
  kept) with a ``resourceVersion`` drawn from one monotonic counter, as etcd revisions are.
- An Image update follows the server (docs/domain.md §1, openshift-apiserver image ``strategy.go``
  and ``validation.go``): the ``resourceVersion`` read is required and must be current (else
  a conflict); image metadata, layers and schema-1 signatures cannot change; every signature
  is validated; an update that changes nothing keeps the ``resourceVersion``.
- ImageStreamImages and ImageStreamTags are resolved from the stream's status tags as the
  server does (``imagestreamimage/rest.go``, ``imagestreamtag/rest.go``).
- Safe under several processes: SQLite in WAL mode, one connection per operation, and every
  read-modify-write inside ``BEGIN IMMEDIATE`` (one writer at a time, readers never blocked).

The SQLite file, its transactions and paged lists are :mod:`sigverify.imageapi.store._sqlite`;
ImageStreamImage and ImageStreamTag resolution is :mod:`sigverify.imageapi.store._streams`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sigverify.errors import InputError
from sigverify.imageapi.errors import (
    AlreadyExistsError,
    BadRequestError,
    Cause,
    ClusterServerError,
    ConflictError,
)
from sigverify.imageapi.protocol import JSONObject, Page
from sigverify.imageapi.store._objects import (
    _IMAGE,
    _STREAM,
    GROUP,
    GROUP_VERSION,
    _invalid,
    _meta,
    _not_found,
    _typed,
    _untyped,
)
from sigverify.imageapi.store._sqlite import SQLiteObjects, _load, _revision, _save
from sigverify.imageapi.store._streams import (
    StreamLayers,
    image_stream_image_name,
    image_stream_tag_name,
    read_image_stream_image,
    read_image_stream_tag,
    stream_layers,
)
from sigverify.imageapi.validation import (
    ConditionScanCrash,
    decode_image,
    split_signature_name,
    validate_image,
    validate_image_update,
    validate_signature,
)

__all__ = ["GROUP", "GROUP_VERSION", "ImageStore", "image_stream_image_name"]

#: Streams whose layers one store keeps (the oldest read is dropped first).
_MAX_CACHED_STREAMS = 256

# Kept from the stored Image on update: openshift-apiserver imageStrategy.PrepareForUpdate.
_IMMUTABLE_IMAGE_FIELDS = (
    "dockerImageMetadata",
    "dockerImageMetadataVersion",
    "dockerImageLayers",
    "dockerImageSignatures",
)
_MANAGED_SIGNATURE_ANNOTATION = "image.openshift.io/managed-signature"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ImageStore(SQLiteObjects):
    """An SQLite file holding Images and ImageStreams; implements ``ImageAPI``."""

    def __init__(
        self, path: str | Path, *, clock: Callable[[], str] = _now, history: int | None = None
    ) -> None:
        """``history``: how many changes the file's log keeps for watches (default: kept)."""
        self._clock = clock
        self._layers: dict[tuple[str, str], StreamLayers] = {}
        super().__init__(path, history=history)

    def __repr__(self) -> str:
        return f"ImageStore({str(self.path)!r})"

    # -- ImageAPI (ping and list_page: SQLiteObjects) -------------------------------------

    def get_image(self, name: str) -> JSONObject:
        with self._read() as db:
            image = _load(db, _IMAGE, "", name)
        if image is None:
            raise _not_found("images", name)
        return _typed(image, "Image")

    def list_images(self, limit: int | None = None, continue_token: str | None = None) -> Page:
        items, token, _ = self.list_page(_IMAGE, None, limit, continue_token)
        return items, token

    def list_imagestreams(
        self,
        namespace: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        items, token, _ = self.list_page(_STREAM, namespace, limit, continue_token)
        return items, token

    def get_imagestream(self, namespace: str, name: str) -> JSONObject:
        with self._read() as db:
            stream = _load(db, _STREAM, namespace, name)
        if stream is None:
            raise _not_found("imagestreams", name)
        return _typed(stream, "ImageStream")

    def get_imagestreamimage(self, namespace: str, name: str) -> JSONObject:
        """Resolve ``<stream>@<id>`` as openshift-apiserver ``imagestreamimage.REST.Get``."""
        stream_name, image_id = image_stream_image_name(name)
        with self._read() as db:
            # A stream's layers are read once per store revision (any write moves it): a
            # stream of a thousand tags is not re-read, nor its lists, on every GET.
            revision = _revision(db)
            key = (namespace, stream_name)
            layers = self._layers.get(key)
            if layers is None or layers.revision != revision:
                layers = stream_layers(db, namespace, stream_name, revision)
                if len(self._layers) >= _MAX_CACHED_STREAMS:
                    self._layers.pop(next(iter(self._layers)), None)
                self._layers[key] = layers
            return read_image_stream_image(db, namespace, stream_name, image_id, layers)

    def get_imagestreamtag(self, namespace: str, name: str) -> JSONObject:
        """Resolve ``<stream>:<tag>`` as openshift-apiserver ``imagestreamtag.REST.Get``."""
        stream_name, tag = image_stream_tag_name(name)
        with self._read() as db:
            return read_image_stream_tag(db, namespace, stream_name, tag)

    def update_image(
        self, image: JSONObject, name: str | None = None, *, dry_run: bool = False
    ) -> JSONObject:
        """PUT an Image as the server does; ``name`` is the URL's (defaults to the body's).

        ``dry_run``: every check made, nothing stored; the answer is the Image as it would
        be, with the current ``resourceVersion``.
        """
        decode_image(image)
        new = _untyped(copy.deepcopy(image))
        meta = _meta(new)
        target = name if name is not None else meta.get("name")
        if not isinstance(target, str) or not target:
            raise BadRequestError("the Image has no metadata.name")
        if meta.get("name") != target:
            raise BadRequestError(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({target})"
            )
        with self._write(dry_run=dry_run) as db:
            old = _load(db, _IMAGE, "", target)
            if old is None:
                raise _not_found("images", target)
            return self._replace_image(db, new, old, target, dry_run=dry_run)

    def patch_image(
        self,
        name: str,
        patch: Callable[[JSONObject], Any],
        *,
        dry_run: bool = False,
    ) -> JSONObject:
        """PATCH an Image: ``patch`` turns the stored Image (typed) into the new one, inside
        the write transaction; the result is then checked and stored as a PUT of it.

        A ``metadata.resourceVersion`` (or ``uid``) in the result is a precondition: 409 when
        it is not the stored one. Without one the patch applies to whatever is stored.
        """
        with self._write(dry_run=dry_run) as db:
            old = _load(db, _IMAGE, "", name)
            if old is None:
                raise _not_found("images", name)
            current = _meta(old).get("resourceVersion")
            patched = patch(_typed(copy.deepcopy(old), "Image"))
            if not isinstance(patched, dict):
                raise BadRequestError("the patched Image is not a JSON object")
            if patched.get("kind") != "Image" or patched.get("apiVersion") != GROUP_VERSION:
                raise BadRequestError(
                    f"a patch cannot change kind or apiVersion (to {patched.get('kind')!r}, "
                    f"{patched.get('apiVersion')!r})"
                )
            decode_image(patched)
            new = _untyped(patched)
            meta = new.get("metadata")
            if not isinstance(meta, dict):
                raise BadRequestError("the patched Image has no metadata")
            uid = meta.get("uid")
            if uid and uid != _meta(old).get("uid"):
                raise ConflictError(
                    f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                    f"{_meta(old).get('uid')}"
                )
            if not meta.get("resourceVersion"):
                meta["resourceVersion"] = current
            for key in ("labels", "annotations"):
                if meta.get(key) == {}:
                    del meta[key]  # ObjectMeta's omitempty: removing the last one removes all
            return self._replace_image(db, new, old, name, dry_run=dry_run)

    def _replace_image(
        self,
        db: sqlite3.Connection,
        new: JSONObject,
        old: JSONObject,
        target: str,
        *,
        dry_run: bool,
    ) -> JSONObject:
        """The checks and the write of an Image update (PUT and PATCH), in ``db``'s transaction."""
        meta = _meta(new)
        if meta.get("name") != target:
            raise BadRequestError(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({target})"
            )
        sent_version = meta.get("resourceVersion")
        if not sent_version:
            raise _invalid(
                "Image",
                target,
                [
                    Cause(
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                        "metadata.resourceVersion",
                    )
                ],
            )
        current = _meta(old).get("resourceVersion")
        if sent_version != current:
            raise ConflictError(
                f'Operation cannot be fulfilled on images.{GROUP} "{target}": the object '
                "has been modified; please apply your changes to the latest version and "
                "try again"
            )
        self._prepare_for_update(new, old)
        try:
            causes = validate_image_update(new, old)
        except ConditionScanCrash as exc:
            raise ClusterServerError(
                "Internal error occurred: runtime error: invalid memory address or nil "
                f"pointer dereference ({exc})"
            ) from exc
        if causes:
            raise _invalid("Image", target, causes)
        if new == old:
            return _typed(old, "Image")  # etcd3 GuaranteedUpdate: a no-op keeps the version
        stored = _save(db, _IMAGE, "", new)
        if dry_run:
            _meta(stored)["resourceVersion"] = current  # nothing was written
        return _typed(stored, "Image")

    @staticmethod
    def _prepare_for_update(new: JSONObject, old: JSONObject) -> None:
        """openshift-apiserver ``imageStrategy.PrepareForUpdate`` and ``rest.BeforeUpdate``."""
        for key in _IMMUTABLE_IMAGE_FIELDS:
            if key in old:
                new[key] = copy.deepcopy(old[key])
            else:
                new.pop(key, None)
        # A manifest may change only to one that matches the digest (the name), and the
        # config only to one the manifest names; but an empty one is taken as sent, which
        # clears it: a writer that PUTs an ImageStreamImage's image (manifest and config
        # blanked) destroys both, exactly as on a cluster.
        manifest = new.get("dockerImageManifest")
        if manifest and manifest != old.get("dockerImageManifest"):
            name = _meta(old).get("name", "")
            if not isinstance(manifest, str) or (
                name != "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
            ):
                _restore(new, old, "dockerImageManifest")
        config = new.get("dockerImageConfig")
        if config and config != old.get("dockerImageConfig"):
            _restore(new, old, "dockerImageConfig")
        new_meta, old_meta = _meta(new), _meta(old)
        for key in ("creationTimestamp", "uid"):
            if key in old_meta and (key == "creationTimestamp" or not new_meta.get(key)):
                new_meta[key] = old_meta[key]
        for signature in new.get("signatures") or []:
            annotations = (signature.get("metadata") or {}).get("annotations")
            if isinstance(annotations, dict):
                annotations.pop(_MANAGED_SIGNATURE_ANNOTATION, None)

    # -- imagesignatures -------------------------------------------------------------------

    def add_signature(self, signature: JSONObject, *, dry_run: bool = False) -> JSONObject:
        """``POST /apis/image.openshift.io/v1/imagesignatures`` (openshift-apiserver REST);
        ``dry_run``: checked, answered, not stored."""
        if not isinstance(signature, dict):
            raise BadRequestError("the body must be a JSON object")
        decode_image({"signatures": [signature]})
        sig = _untyped(copy.deepcopy(signature))
        # imagesignature strategy.PrepareForCreate: the server decides conditions and claims.
        for key in ("conditions", "imageIdentity", "signedClaims", "created"):
            sig.pop(key, None)
        sig.pop("issuedBy", None)
        sig.pop("issuedTo", None)
        meta = _meta(sig)
        meta.setdefault("creationTimestamp", self._clock())
        meta.setdefault("uid", str(uuid.uuid4()))
        name = meta.get("name") or ""
        causes = validate_signature(sig, "")
        if causes:
            causes = [Cause(c.reason, c.message, c.field.lstrip(".")) for c in causes]
            raise _invalid("ImageSignature", name, causes)
        split = split_signature_name(name)
        if split is None:  # unreachable after validation; kept as the server has it
            raise BadRequestError(f"expected exactly one @ in the image signature name {name!r}")
        image_name = split[0]
        with self._write(dry_run=dry_run) as db:
            image = _load(db, _IMAGE, "", image_name)
            if image is None:
                raise _not_found("images", image_name)
            signatures = image.setdefault("signatures", [])
            content = sig.get("content")
            for existing in signatures:
                same_name = (existing.get("metadata") or {}).get("name") == name
                same_blob = existing.get("type") == sig.get("type") and _blob(
                    existing.get("content")
                ) == _blob(content)
                if same_name or same_blob:
                    raise AlreadyExistsError(f'imageSignatures.{GROUP} "{name}" already exists')
            signatures.append(sig)
            _save(db, _IMAGE, "", image)
        return _typed(sig, "ImageSignature")

    def delete_signature(self, name: str, *, dry_run: bool = False) -> None:
        """``DELETE /apis/image.openshift.io/v1/imagesignatures/{image}@{signature}``;
        ``dry_run``: checked, not deleted."""
        split = split_signature_name(name)
        if split is None:
            raise BadRequestError(
                "ImageSignatures must be accessed with <imageName>@<signatureName>"
            )
        with self._write(dry_run=dry_run) as db:
            image = _load(db, _IMAGE, "", split[0])
            if image is None:
                raise _not_found("images", split[0])
            signatures = image.get("signatures") or []
            kept = [s for s in signatures if (s.get("metadata") or {}).get("name") != name]
            if len(kept) == len(signatures):
                raise _not_found("imageSignatures", name)
            image["signatures"] = kept
            _save(db, _IMAGE, "", image)

    # -- seeding --------------------------------------------------------------------------

    def put_object(self, obj: JSONObject) -> JSONObject:
        """Create or replace an Image or ImageStream as given (seeding; not a server verb).

        An ImageStreamImage stores its ``image``. The object is validated like a create;
        system fields (``uid``, ``creationTimestamp``) are filled in when absent.
        """
        kind, namespace, body = self._prepare(obj)
        with self._write() as db:
            stored = self._store(db, kind, namespace, body)
        return _typed(stored, kind)

    def _prepare(self, obj: JSONObject) -> tuple[str, str, JSONObject]:
        """Validate one object for :meth:`put_object`: (kind, namespace, body to store)."""
        if not isinstance(obj, dict):
            raise InputError("an object must be a JSON/YAML mapping")
        kind = obj.get("kind")
        if kind == "ImageStreamImage":
            image = obj.get("image")
            if not isinstance(image, dict):
                raise InputError("the ImageStreamImage has no image", path="image")
            return self._prepare({"kind": "Image", "apiVersion": GROUP_VERSION, **image})
        if kind not in (_IMAGE, _STREAM):
            raise InputError(f"kind {kind!r} cannot be stored; expected Image or ImageStream")
        body = _untyped(copy.deepcopy(obj))
        meta = _meta(body)
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise InputError("metadata.name is required", path="metadata.name")
        namespace = ""
        if kind == _STREAM:
            namespace = meta.get("namespace") or ""
            if not isinstance(namespace, str) or not namespace:
                raise InputError(
                    f"ImageStream {name!r} has no metadata.namespace", path="metadata.namespace"
                )
        else:
            try:
                decode_image(body)
            except BadRequestError as exc:
                raise InputError(str(exc), path=name) from exc
            causes = validate_image(body)
            if causes:
                raise InputError(str(_invalid("Image", name, causes)), path=name)
        meta.pop("resourceVersion", None)
        return kind, namespace, body

    def _store(
        self, db: sqlite3.Connection, kind: str, namespace: str, body: JSONObject
    ) -> JSONObject:
        meta = _meta(body)
        old = _load(db, kind, namespace, meta["name"])
        old_meta = _meta(old) if old is not None else {}
        meta.setdefault("uid", old_meta.get("uid") or str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", old_meta.get("creationTimestamp") or self._clock())
        return _save(db, kind, namespace, body)

    def put_objects(self, objects: Iterable[JSONObject], *, batch: int = 1000) -> int:
        """Store each object (see :meth:`put_object`) in order; returns how many were stored.

        Objects are written ``batch`` to a transaction (one commit, not one per object). An
        object that cannot be stored raises, as :meth:`put_object` does, after every object
        before it was stored; it and those after it are not.
        """
        count = 0
        pending: list[tuple[str, str, JSONObject]] = []

        def flush() -> None:
            if pending:
                with self._write() as db:
                    for kind, namespace, body in pending:
                        self._store(db, kind, namespace, body)
                pending.clear()

        try:
            for obj in _flattened(objects):
                pending.append(self._prepare(obj))
                count += 1
                if len(pending) >= batch:
                    flush()
        finally:
            flush()
        return count

    def counts(self) -> dict[str, int]:
        """How many Images and ImageStreams the store holds."""
        with self._read() as db:
            rows = db.execute("SELECT kind, COUNT(*) FROM objects GROUP BY kind").fetchall()
        found = {kind: n for kind, n in rows}
        return {"images": found.get(_IMAGE, 0), "imagestreams": found.get(_STREAM, 0)}


def _flattened(objects: Iterable[JSONObject]) -> Iterator[JSONObject]:
    for obj in objects:
        if isinstance(obj, dict) and obj.get("kind") == "List":
            yield from _flattened(obj.get("items") or [])
        else:
            yield obj


def _restore(new: JSONObject, old: JSONObject, key: str) -> None:
    if key in old:
        new[key] = old[key]
    else:
        new.pop(key, None)


def _blob(content: Any) -> bytes:
    if not isinstance(content, str):
        return b""
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return b""
