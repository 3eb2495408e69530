"""The OpenShift ``image.openshift.io/v1`` objects: typed models, schemas and document I/O.

Reading and writing is lossless: ``dump_document(load_document(doc)) == doc`` for every
document that loads, unknown members included, so an Image update never drops data.
"""

from __future__ import annotations

from sigverify.objects.documents import (
    DocumentError,
    dump_document,
    load_document,
    parse_document_bytes,
    read_document_file,
)
from sigverify.objects.types import (
    Image,
    ImageLayer,
    ImageManifest,
    ImageSignature,
    ImageStreamImage,
    ObjectMeta,
    SignatureCondition,
    SignatureIssuer,
    SignatureSubject,
)

__all__ = [
    "DocumentError",
    "Image",
    "ImageLayer",
    "ImageManifest",
    "ImageSignature",
    "ImageStreamImage",
    "ObjectMeta",
    "SignatureCondition",
    "SignatureIssuer",
    "SignatureSubject",
    "dump_document",
    "load_document",
    "parse_document_bytes",
    "read_document_file",
]
