"""The OpenShift ``image.openshift.io/v1`` objects: typed models, schemas and document I/O.

Reading and writing is lossless: ``dump_document(load_document(doc)) == doc`` for every
document that loads, unknown members included, so an Image update never drops data.

Import from the modules: :mod:`~sigverify.objects.types` holds the plain dataclasses (no
framework; the core uses them), :mod:`~sigverify.objects.documents` reads and writes
documents (marshmallow, at the edges only).
"""
