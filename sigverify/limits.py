"""Named limits on untrusted input, shared by every parser and both OpenPGP backends.

Each limit turns an oversized or hostile input into a clear rejection instead of memory or
CPU exhaustion. Real atomic signatures are a few hundred bytes; the limits leave wide room.
"""

from __future__ import annotations

#: Largest signature blob (ImageSignature.content) accepted, in bytes.
MAX_SIGNATURE_BLOB_BYTES = 64 * 1024
#: Largest signed payload after decompression, in bytes.
MAX_PAYLOAD_BYTES = 256 * 1024
#: Largest content of one compressed-data packet once inflated, in bytes: the payload plus
#: room for the packets around it. Inflating stops as soon as this is passed.
MAX_DECOMPRESSED_BYTES = MAX_PAYLOAD_BYTES + MAX_SIGNATURE_BLOB_BYTES
#: Most OpenPGP packets read from one blob, counting nested (compressed) ones.
MAX_PACKETS = 32
#: Deepest nesting of compressed-data packets.
MAX_NESTING = 2
#: Deepest nesting of JSON objects/arrays in a signed payload.
MAX_JSON_DEPTH = 32
#: Most signatures considered on one Image.
MAX_SIGNATURES_PER_IMAGE = 256
#: Largest Image/ImageStreamImage document accepted from a file or HTTP body, in bytes.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
#: Deepest nesting of objects/arrays accepted in an Image/ImageStreamImage document
#: (managedFields reach ~15).
MAX_DOCUMENT_DEPTH = 100
#: Deepest nesting accepted in a body that carries such documents two levels down (a List's
#: ``items[i]``, an AdmissionReview's ``request.object``): room for a whole document.
MAX_ENVELOPE_DEPTH = MAX_DOCUMENT_DEPTH + 2
#: Largest policy file, in bytes.
MAX_POLICY_BYTES = 1024 * 1024
#: Largest public key file, in bytes.
MAX_KEY_FILE_BYTES = 1024 * 1024
#: Seconds one gpg process may run before it is killed.
GPG_TIMEOUT_SECONDS = 10.0
