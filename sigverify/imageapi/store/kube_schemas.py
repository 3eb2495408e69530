"""OpenAPI v3 schemas of ``image.openshift.io/v1`` and the ``meta/v1`` types they use.

Field names, types and nesting follow openshift/api ``image/v1/types.go`` (and
k8s.io/apimachinery for metadata); the descriptions are sigverify's own short ones. Names
are kube-openapi's (``com.github.openshift.api.image.v1.Image``,
``io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta``) and every top-level kind carries
``x-kubernetes-group-version-kind``: ``kubectl explain`` finds a kind's schema by it.
Objects are referenced as kube-openapi writes them (``allOf: [{$ref}]`` with ``default``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["IMAGE_PREFIX", "META_PREFIX", "SCHEMAS", "schema_name"]

Schema = dict[str, Any]

IMAGE_PREFIX = "com.github.openshift.api.image.v1."
META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta.v1."
_CORE_PREFIX = "io.k8s.api.core.v1."
_RUNTIME_PREFIX = "io.k8s.apimachinery.pkg.runtime."


def schema_name(kind: str) -> str:
    """The component name of an ``image.openshift.io/v1`` kind."""
    return IMAGE_PREFIX + kind


def _ref(name: str, description: str, *, default: Any = None) -> Schema:
    ref = {"$ref": f"#/components/schemas/{name}"}
    return {"description": description, "default": {} if default is None else default} | {
        "allOf": [ref]
    }


def _string(description: str, **extra: Any) -> Schema:
    return {"description": description, "type": "string", "default": ""} | extra


def _integer(description: str) -> Schema:
    return {"description": description, "type": "integer", "format": "int64", "default": 0}


def _boolean(description: str) -> Schema:
    return {"description": description, "type": "boolean", "default": False}


def _array(items: Schema, description: str) -> Schema:
    return {"description": description, "type": "array", "items": items}


def _item(name: str) -> Schema:
    return {"default": {}, "allOf": [{"$ref": f"#/components/schemas/{name}"}]}


def _map(description: str) -> Schema:
    return {
        "description": description,
        "type": "object",
        "additionalProperties": {"type": "string", "default": ""},
    }


def _time(description: str) -> Schema:
    return {
        "description": description,
        "allOf": [{"$ref": f"#/components/schemas/{META_PREFIX}Time"}],
    }


def _object(
    description: str,
    properties: dict[str, Schema],
    *,
    required: tuple[str, ...] = (),
    kind: str | None = None,
    group: str = "image.openshift.io",
) -> Schema:
    schema: Schema = {"description": description, "type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if kind is not None:
        schema["x-kubernetes-group-version-kind"] = [
            {"group": group, "kind": kind, "version": "v1"}
        ]
    return schema


_API_VERSION = _string("The versioned schema of this representation of an object.")
_KIND = _string("The REST resource this object represents.")
_METADATA = _ref(f"{META_PREFIX}ObjectMeta", "Standard object metadata.")
_LIST_METADATA = _ref(f"{META_PREFIX}ListMeta", "Standard list metadata.")
_CONDITION_STATUS = "True, False or Unknown."


def _top(kind: str, description: str, properties: dict[str, Schema], **extra: Any) -> Schema:
    fields = {"apiVersion": _API_VERSION, "kind": _KIND, "metadata": _METADATA, **properties}
    return _object(description, fields, kind=kind, **extra)


def _list(kind: str, item: str) -> Schema:
    return _object(
        f"A list of {item} objects.",
        {
            "apiVersion": _API_VERSION,
            "items": _array(_item(schema_name(item)), f"The {item} objects."),
            "kind": _KIND,
            "metadata": _LIST_METADATA,
        },
        required=("items",),
        kind=kind,
    )


_META: dict[str, Schema] = {
    "Time": {
        "description": "An RFC 3339 date and time (UTC).",
        "type": "string",
        "format": "date-time",
    },
    "ObjectMeta": _object(
        "Metadata every persisted object has.",
        {
            "annotations": _map("Unstructured key-value data kept with the object."),
            "creationTimestamp": _time("When the object was created."),
            "deletionGracePeriodSeconds": {
                "description": "Seconds allowed for a graceful deletion.",
                "type": "integer",
                "format": "int64",
            },
            "deletionTimestamp": _time("When the object will be deleted."),
            "finalizers": _array(
                {"type": "string", "default": ""}, "Must be empty before the object is deleted."
            ),
            "generateName": _string("Prefix of a name the server generates."),
            "generation": _integer("The generation of the desired state."),
            "labels": _map("Key-value pairs for organising and selecting objects (-l)."),
            "managedFields": _array(
                {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "Which field managers own which fields.",
            ),
            "name": _string("Unique within a namespace (an Image: its manifest digest)."),
            "namespace": _string(
                "The namespace of a namespaced object; empty for cluster-scoped ones."
            ),
            "ownerReferences": _array(
                {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "Objects this one depends on.",
            ),
            "resourceVersion": _string(
                "The version the server holds; send it back on update (409 when stale)."
            ),
            "selfLink": _string("Deprecated; not set."),
            "uid": _string("Unique in time and space; set by the server."),
        },
    ),
    "ListMeta": _object(
        "Metadata of a list.",
        {
            "continue": _string("Token for the next page (limit/continue)."),
            "remainingItemCount": {
                "description": "Items after this page, when known.",
                "type": "integer",
                "format": "int64",
            },
            "resourceVersion": _string("The version of the list."),
            "selfLink": _string("Deprecated; not set."),
        },
    ),
    "Status": _object(
        "The outcome of an operation that returns no object, and every failure.",
        {
            "apiVersion": _API_VERSION,
            "code": {"description": "HTTP status code.", "type": "integer", "format": "int32"},
            "details": {
                "description": "Data about the failure.",
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
            },
            "kind": _KIND,
            "message": _string("What happened, for a human."),
            "metadata": _LIST_METADATA,
            "reason": _string("Why, for a machine (NotFound, Conflict, Invalid, ...)."),
            "status": _string("Success or Failure."),
        },
        kind="Status",
        group="",
    ),
}

_SIGNATURE_ENTITY = {
    "commonName": _string("Common name (e.g. openshift-signing-service)."),
    "organization": _string("Organization name."),
}

_IMAGE: dict[str, Schema] = {
    "Image": _top(
        "Image",
        "An immutable container image (named by its manifest digest) and the signatures "
        "kept with it. Cluster-scoped.",
        {
            "dockerImageConfig": _string("The image configuration JSON (manifest schema 2)."),
            "dockerImageLayers": _array(
                _item(schema_name("ImageLayer")), "The layers of the image."
            ),
            "dockerImageManifest": _string("The raw JSON of the manifest."),
            "dockerImageManifestMediaType": _string("The media type of the manifest."),
            "dockerImageManifests": _array(
                _item(schema_name("ImageManifest")), "Sub-manifests of a manifest list."
            ),
            "dockerImageMetadata": _ref(
                f"{_RUNTIME_PREFIX}RawExtension", "Metadata about the image."
            ),
            "dockerImageMetadataVersion": _string("Version of dockerImageMetadata (default 1.0)."),
            "dockerImageReference": _string("The reference to pull this image by."),
            "dockerImageSignatures": _array(
                {"type": "string", "format": "byte"}, "Schema 1 signatures (opaque blobs)."
            ),
            "signatures": {
                **_array(
                    _item(schema_name("ImageSignature")),
                    "The image's signatures, with the verification recorded on each (conditions).",
                ),
                "x-kubernetes-patch-merge-key": "name",
                "x-kubernetes-patch-strategy": "merge",
            },
        },
    ),
    "ImageList": _list("ImageList", "Image"),
    "ImageLayer": _object(
        "One layer of an image.",
        {
            "mediaType": _string("The media type of the layer."),
            "name": _string("The layer's digest."),
            "size": _integer("The layer's size in bytes."),
        },
        required=("name", "size", "mediaType"),
    ),
    "ImageManifest": _object(
        "One sub-manifest of a manifest list.",
        {
            "architecture": _string("CPU architecture."),
            "digest": _string("Digest of the sub-manifest."),
            "manifestSize": _integer("Size of the sub-manifest in bytes."),
            "mediaType": _string("Media type of the sub-manifest."),
            "os": _string("Operating system."),
            "variant": _string("CPU variant."),
        },
        required=("digest", "mediaType", "manifestSize", "architecture", "os"),
    ),
    "ImageSignature": _top(
        "ImageSignature",
        "A signature of an image (atomic container signature) and its verification: "
        "conditions, the signed claims, who signed it.",
        {
            "conditions": {
                **_array(
                    _item(schema_name("SignatureCondition")),
                    "Trusted, ForImage, Expired, Revoked: what verification found.",
                ),
                "x-kubernetes-patch-merge-key": "type",
                "x-kubernetes-patch-strategy": "merge",
            },
            "content": _string("The signature blob (base64).", format="byte"),
            "created": _time("When the signature was made (from the signed payload)."),
            "imageIdentity": _string("The image reference the signature names."),
            "issuedBy": _ref(schema_name("SignatureIssuer"), "Who issued the signing key."),
            "issuedTo": _ref(schema_name("SignatureSubject"), "Who holds the signing key."),
            "signedClaims": _map("Claims of the signature, verified."),
            "type": _string("The signature type: atomic or AtomicImageV1."),
        },
        required=("type", "content"),
    ),
    "SignatureCondition": _object(
        "A verification outcome recorded on a signature.",
        {
            "lastProbeTime": _time("When the condition was last checked."),
            "lastTransitionTime": _time("When the status last changed."),
            "message": _string("What was found, for a human."),
            "reason": _string("Why, for a machine (a sigverify reason code)."),
            "status": _string(_CONDITION_STATUS),
            "type": _string("Trusted, ForImage, Expired or Revoked."),
        },
        required=("type", "status"),
    ),
    "SignatureIssuer": _object("The issuer of a signing key.", dict(_SIGNATURE_ENTITY)),
    "SignatureSubject": _object(
        "The holder of a signing key.",
        {**_SIGNATURE_ENTITY, "publicKeyID": _string("The key ID of the signing key.")},
        required=("publicKeyID",),
    ),
    "ImageStream": _top(
        "ImageStream",
        "A stream of tags, each pointing at images over time.",
        {
            "spec": _ref(schema_name("ImageStreamSpec"), "The desired tags."),
            "status": _ref(schema_name("ImageStreamStatus"), "The images the tags point at."),
        },
    ),
    "ImageStreamList": _list("ImageStreamList", "ImageStream"),
    "ImageStreamSpec": _object(
        "The desired state of an image stream.",
        {
            "dockerImageRepository": _string("Optional repository the stream tracks."),
            "lookupPolicy": _ref(
                schema_name("ImageLookupPolicy"), "How other resources may use the stream."
            ),
            "tags": _array(_item(schema_name("TagReference")), "Tags and what they point at."),
        },
    ),
    "ImageLookupPolicy": _object(
        "Whether other objects may refer to the stream by short name.",
        {"local": _boolean("Resolve references in this namespace to the stream's images.")},
        required=("local",),
    ),
    "TagReference": _object(
        "A tag of an image stream's spec.",
        {
            "annotations": _map("Annotations of the tag."),
            "from": {
                "description": "What the tag points at.",
                "allOf": [{"$ref": f"#/components/schemas/{_CORE_PREFIX}ObjectReference"}],
            },
            "generation": {
                "description": "The spec generation this tag was set at.",
                "type": "integer",
                "format": "int64",
            },
            "importPolicy": _ref(schema_name("TagImportPolicy"), "How the image is imported."),
            "name": _string("The tag name."),
            "reference": _boolean("Whether the tag is only a reference (not imported)."),
            "referencePolicy": _ref(schema_name("TagReferencePolicy"), "How the image is pulled."),
        },
        required=("name",),
    ),
    "TagImportPolicy": _object(
        "How an image is imported.",
        {
            "importMode": _string("Legacy or PreserveOriginal."),
            "insecure": _boolean("Allow an insecure registry."),
            "scheduled": _boolean("Re-import periodically."),
        },
    ),
    "TagReferencePolicy": _object(
        "How a tag's image is pulled.", {"type": _string("Source or Local.")}, required=("type",)
    ),
    "ImageStreamStatus": _object(
        "The observed state of an image stream.",
        {
            "dockerImageRepository": _string("The stream's repository in the integrated registry."),
            "publicDockerImageRepository": _string(
                "The repository as reachable from outside the cluster."
            ),
            "tags": _array(
                _item(schema_name("NamedTagEventList")), "Each tag's history, newest first."
            ),
        },
    ),
    "NamedTagEventList": _object(
        "A tag's history.",
        {
            "conditions": _array(_item(schema_name("TagEventCondition")), "Import problems."),
            "items": _array(_item(schema_name("TagEvent")), "The images, newest first."),
            "tag": _string("The tag."),
        },
        required=("tag", "items"),
    ),
    "TagEvent": _object(
        "An image a tag pointed at.",
        {
            "created": _time("When the tag pointed at it."),
            "dockerImageReference": _string("The reference to pull it by."),
            "generation": _integer("The spec generation this came from."),
            "image": _string("The image name (digest)."),
        },
        required=("created", "dockerImageReference", "image", "generation"),
    ),
    "TagEventCondition": _object(
        "A problem importing a tag.",
        {
            "generation": _integer("The spec generation this is about."),
            "lastTransitionTime": _time("When the status last changed."),
            "message": _string("For a human."),
            "reason": _string("For a machine."),
            "status": _string(_CONDITION_STATUS),
            "type": _string("ImportSuccess."),
        },
        required=("type", "status", "generation"),
    ),
    "ImageStreamImage": _top(
        "ImageStreamImage",
        "An image of a stream, fetched by STREAM@DIGEST (read-only; manifest and config "
        "left out, signatures included).",
        {"image": _ref(schema_name("Image"), "The image.")},
        required=("image",),
    ),
    "ImageStreamTag": _top(
        "ImageStreamTag",
        "A tag of a stream and the image it points at, fetched by STREAM:TAG (read-only).",
        {
            "conditions": _array(_item(schema_name("TagEventCondition")), "Import problems."),
            "generation": _integer("The generation of the tag."),
            "image": _ref(schema_name("Image"), "The image the tag points at."),
            "lookupPolicy": _ref(schema_name("ImageLookupPolicy"), "The stream's lookup policy."),
            "tag": _ref(schema_name("TagReference"), "The spec tag, if any.", default={}),
        },
        required=("tag", "generation", "lookupPolicy", "image"),
    ),
}

#: Every component schema, by name.
SCHEMAS: dict[str, Schema] = {
    **{META_PREFIX + name: schema for name, schema in _META.items()},
    _RUNTIME_PREFIX + "RawExtension": {
        "description": "Any JSON object, kept as given.",
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    _CORE_PREFIX + "ObjectReference": _object(
        "A reference to an object.",
        {
            name: _string(f"The {name} of the object referred to.")
            for name in (
                "apiVersion",
                "fieldPath",
                "kind",
                "name",
                "namespace",
                "resourceVersion",
                "uid",
            )
        },
    ),
    **{schema_name(name): schema for name, schema in _IMAGE.items()},
}
