"""The embedded image store: Images and ImageStreams in SQLite, served as OpenShift serves them.

Used when sigverify runs without a cluster, and (behind :mod:`sigverify.cluster.rest`) as the
faithful stand-in for an OpenShift API server that the OpenShift client is tested against.

- Objects are stored as the JSON text given (lossless: unknown members and member order
  kept) with a ``resourceVersion`` drawn from one monotonic counter, as etcd revisions are.
- An Image update follows the server (domain.md §1, openshift-apiserver image ``strategy.go``
  and ``validation.go``): the ``resourceVersion`` read is required and must be current (else
  a conflict); image metadata, layers and schema-1 signatures cannot change; every signature
  is validated; an update that changes nothing keeps the ``resourceVersion``.
- ImageStreamImages and ImageStreamTags are resolved from the stream's status tags as the
  server does (``imagestreamimage/rest.go``, ``imagestreamtag/rest.go``).
- Safe under several processes: SQLite in WAL mode, one connection per operation, and every
  read-modify-write inside ``BEGIN IMMEDIATE`` (one writer at a time, readers never blocked).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sigverify.cluster.api import JSONObject, Page
from sigverify.cluster.errors import (
    AlreadyExistsError,
    BadRequestError,
    Cause,
    ClusterServerError,
    ClusterUnreachable,
    ConflictError,
    InvalidObjectError,
    NotFoundError,
)
from sigverify.cluster.validation import (
    ConditionScanCrash,
    decode_image,
    split_signature_name,
    validate_image,
    validate_image_update,
    validate_signature,
)
from sigverify.errors import InputError

__all__ = ["GROUP_VERSION", "ImageStore", "image_stream_image_name"]

GROUP = "image.openshift.io"
GROUP_VERSION = f"{GROUP}/v1"
#: Seconds a writer waits for another process's write lock before failing.
LOCK_TIMEOUT_SECONDS = 30.0
# Kept from the stored Image on update: openshift-apiserver imageStrategy.PrepareForUpdate.
_IMMUTABLE_IMAGE_FIELDS = (
    "dockerImageMetadata",
    "dockerImageMetadataVersion",
    "dockerImageLayers",
    "dockerImageSignatures",
)
_MANAGED_SIGNATURE_ANNOTATION = "image.openshift.io/managed-signature"
_IMAGE = "Image"
_STREAM = "ImageStream"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    resource_version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO revision (id, value) VALUES (1, 1000);
"""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(obj: JSONObject) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _not_found(resource: str, name: str) -> NotFoundError:
    return NotFoundError(f'{resource}.{GROUP} "{name}" not found')


def _meta(obj: JSONObject) -> JSONObject:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
        obj["metadata"] = meta
    return meta


def _typed(obj: JSONObject, kind: str) -> JSONObject:
    """``obj`` with ``kind``/``apiVersion`` first, as a top-level API response carries them."""
    body = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
    return {"kind": kind, "apiVersion": GROUP_VERSION, **body}


def _untyped(obj: JSONObject) -> JSONObject:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


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


def _invalid(kind: str, name: str, causes: list[Cause]) -> InvalidObjectError:
    details = ", ".join(f"{c.field}: {c.message}" for c in causes)
    if len(causes) > 1:
        details = f"[{details}]"
    return InvalidObjectError(f'{kind}.{GROUP} "{name}" is invalid: {details}', causes)


def _encode_token(key: str, revision: int) -> str:
    raw = json.dumps({"v": 1, "rv": revision, "start": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        start = data["start"]
        if data.get("v") != 1 or not isinstance(start, str):
            raise ValueError("unknown continue token version")
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadRequestError(f"continue key is not valid: {exc}") from exc
    return start


class ImageStore:
    """An SQLite file holding Images and ImageStreams; implements ``ImageAPI``."""

    def __init__(self, path: str | Path, *, clock: Callable[[], str] = _now) -> None:
        self.path = Path(path)
        self._clock = clock
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ClusterUnreachable(f"cannot open the store {self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"ImageStore({str(self.path)!r})"

    # -- connections ----------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One connection per operation: safe across threads and forked workers alike.
        db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT_SECONDS * 1000)}")
            yield db
        finally:
            db.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._connect() as db:
                db.execute("BEGIN")
                try:
                    yield db
                finally:
                    db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise ClusterUnreachable(f"the store {self.path} failed: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A read-modify-write transaction: ``BEGIN IMMEDIATE`` takes the write lock first."""
        try:
            with self._connect() as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise ClusterUnreachable(f"the store {self.path} failed: {exc}") from exc

    @staticmethod
    def _load(db: sqlite3.Connection, kind: str, namespace: str, name: str) -> JSONObject | None:
        row = db.execute(
            "SELECT body FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
            (kind, namespace, name),
        ).fetchone()
        if row is None:
            return None
        body: JSONObject = json.loads(row[0])
        return body

    @staticmethod
    def _next_revision(db: sqlite3.Connection) -> int:
        db.execute("UPDATE revision SET value = value + 1 WHERE id = 1")
        value: int = db.execute("SELECT value FROM revision WHERE id = 1").fetchone()[0]
        return value

    @staticmethod
    def _revision(db: sqlite3.Connection) -> int:
        value: int = db.execute("SELECT value FROM revision WHERE id = 1").fetchone()[0]
        return value

    def _save(
        self, db: sqlite3.Connection, kind: str, namespace: str, obj: JSONObject
    ) -> JSONObject:
        revision = self._next_revision(db)
        meta = _meta(obj)
        meta["resourceVersion"] = str(revision)
        stored = _untyped(obj)
        db.execute(
            "INSERT OR REPLACE INTO objects (kind, namespace, name, resource_version, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (kind, namespace, meta["name"], revision, _dumps(stored)),
        )
        return stored

    # -- ImageAPI -------------------------------------------------------------------------

    def ping(self) -> None:
        with self._read() as db:
            self._revision(db)

    def get_image(self, name: str) -> JSONObject:
        with self._read() as db:
            image = self._load(db, _IMAGE, "", name)
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

    def list_page(
        self,
        kind: str,
        namespace: str | None,
        limit: int | None,
        continue_token: str | None,
    ) -> tuple[list[JSONObject], str | None, JSONObject]:
        """One page of a list, its ``continue`` token, and the list's ``metadata``."""
        start = _decode_token(continue_token) if continue_token else ""
        where = "kind = ? AND (namespace || '/' || name) > ?"
        args: list[Any] = [kind, start]
        if namespace is not None:
            where += " AND namespace = ?"
            args.append(namespace)
        with self._read() as db:
            revision = self._revision(db)
            if limit is not None and limit > 0:
                rows = db.execute(
                    f"SELECT namespace || '/' || name, body FROM objects WHERE {where} "  # noqa: S608
                    "ORDER BY namespace || '/' || name LIMIT ?",
                    [*args, limit + 1],
                ).fetchall()
            else:
                rows = db.execute(
                    f"SELECT namespace || '/' || name, body FROM objects WHERE {where} "  # noqa: S608
                    "ORDER BY namespace || '/' || name",
                    args,
                ).fetchall()
            remaining = 0
            token = None
            if limit is not None and limit > 0 and len(rows) > limit:
                rows = rows[:limit]
                token = _encode_token(rows[-1][0], revision)
                remaining = db.execute(
                    f"SELECT COUNT(*) FROM objects WHERE {where}",  # noqa: S608
                    [kind, rows[-1][0], *args[2:]],
                ).fetchone()[0]
        items = [json.loads(body) for _, body in rows]
        meta: JSONObject = {"resourceVersion": str(revision)}
        if token is not None:
            meta["continue"] = token
            meta["remainingItemCount"] = remaining
        return items, token, meta

    def get_imagestream(self, namespace: str, name: str) -> JSONObject:
        with self._read() as db:
            stream = self._load(db, _STREAM, namespace, name)
        if stream is None:
            raise _not_found("imagestreams", name)
        return _typed(stream, "ImageStream")

    def get_imagestreamimage(self, namespace: str, name: str) -> JSONObject:
        """Resolve ``<stream>@<id>`` as openshift-apiserver ``imagestreamimage.REST.Get``."""
        stream_name, image_id = image_stream_image_name(name)
        with self._read() as db:
            stream = self._load(db, _STREAM, namespace, stream_name)
            if stream is None:
                raise _not_found("imagestreams", stream_name)
            # The stream's "layers": every tagged image and the sub-manifests of tagged lists.
            candidates: set[str] = set()
            for tag in (stream.get("status") or {}).get("tags") or []:
                for item in tag.get("items") or []:
                    if isinstance(item.get("image"), str) and item["image"]:
                        candidates.add(item["image"])
            for digest in list(candidates):
                tagged = self._load(db, _IMAGE, "", digest)
                for manifest in (tagged or {}).get("dockerImageManifests") or []:
                    if isinstance(manifest, dict) and isinstance(manifest.get("digest"), str):
                        candidates.add(manifest["digest"])
            matches = sorted(c for c in candidates if _digest_or_image_match(c, image_id))
            if not matches:
                raise NotFoundError(f'imagestreamimage.{GROUP} "{name}" not found')
            image = self._load(db, _IMAGE, "", matches[-1])
        if image is None:
            raise _not_found("images", matches[-1])
        image.pop("dockerImageManifest", None)
        image.pop("dockerImageConfig", None)
        meta: JSONObject = {"name": f"{stream_name}@{image_id}", "namespace": namespace}
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

    def get_imagestreamtag(self, namespace: str, name: str) -> JSONObject:
        """Resolve ``<stream>:<tag>`` as openshift-apiserver ``imagestreamtag.REST.Get``."""
        parts = name.split(":")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise BadRequestError("ImageStreamTags must be retrieved with <name>:<tag>")
        stream_name, tag = parts
        with self._read() as db:
            stream = self._load(db, _STREAM, namespace, stream_name)
            if stream is None:
                raise _not_found("imagestreams", stream_name)
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
            image = self._load(db, _IMAGE, "", event["image"])
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

    def update_image(self, image: JSONObject, name: str | None = None) -> JSONObject:
        """PUT an Image as the server does; ``name`` is the URL's (defaults to the body's)."""
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
        with self._write() as db:
            old = self._load(db, _IMAGE, "", target)
            if old is None:
                raise _not_found("images", target)
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
            if sent_version != _meta(old).get("resourceVersion"):
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
            stored = self._save(db, _IMAGE, "", new)
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

    def add_signature(self, signature: JSONObject) -> JSONObject:
        """``POST /apis/image.openshift.io/v1/imagesignatures`` (openshift-apiserver REST)."""
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
        with self._write() as db:
            image = self._load(db, _IMAGE, "", image_name)
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
            self._save(db, _IMAGE, "", image)
        return _typed(sig, "ImageSignature")

    def delete_signature(self, name: str) -> None:
        """``DELETE /apis/image.openshift.io/v1/imagesignatures/{image}@{signature}``."""
        split = split_signature_name(name)
        if split is None:
            raise BadRequestError(
                "ImageSignatures must be accessed with <imageName>@<signatureName>"
            )
        with self._write() as db:
            image = self._load(db, _IMAGE, "", split[0])
            if image is None:
                raise _not_found("images", split[0])
            signatures = image.get("signatures") or []
            kept = [s for s in signatures if (s.get("metadata") or {}).get("name") != name]
            if len(kept) == len(signatures):
                raise _not_found("imageSignatures", name)
            image["signatures"] = kept
            self._save(db, _IMAGE, "", image)

    # -- seeding --------------------------------------------------------------------------

    def put_object(self, obj: JSONObject) -> JSONObject:
        """Create or replace an Image or ImageStream as given (seeding; not a server verb).

        An ImageStreamImage stores its ``image``. The object is validated like a create;
        system fields (``uid``, ``creationTimestamp``) are filled in when absent.
        """
        if not isinstance(obj, dict):
            raise InputError("an object must be a JSON/YAML mapping")
        kind = obj.get("kind")
        if kind == "ImageStreamImage":
            image = obj.get("image")
            if not isinstance(image, dict):
                raise InputError("the ImageStreamImage has no image", path="image")
            return self.put_object({"kind": "Image", "apiVersion": GROUP_VERSION, **image})
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
        with self._write() as db:
            old = self._load(db, kind, namespace, name)
            old_meta = _meta(old) if old is not None else {}
            meta.setdefault("uid", old_meta.get("uid") or str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", old_meta.get("creationTimestamp") or self._clock())
            stored = self._save(db, kind, namespace, body)
        return _typed(stored, kind)

    def put_objects(self, objects: Iterable[JSONObject]) -> int:
        """Store each object (see :meth:`put_object`); returns how many were stored."""
        count = 0
        for obj in objects:
            if isinstance(obj, dict) and obj.get("kind") == "List":
                count += self.put_objects(obj.get("items") or [])
                continue
            self.put_object(obj)
            count += 1
        return count

    def counts(self) -> dict[str, int]:
        """How many Images and ImageStreams the store holds."""
        with self._read() as db:
            rows = db.execute("SELECT kind, COUNT(*) FROM objects GROUP BY kind").fetchall()
        found = {kind: n for kind, n in rows}
        return {"images": found.get(_IMAGE, 0), "imagestreams": found.get(_STREAM, 0)}


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
