"""A pure, bounded reader for atomic-signature blobs (RFC 4880 signed messages).

It accepts exactly the shape of a binary OpenPGP signed message (RFC 4880 §11.3)::

    [Marker]* [Compressed ->]* [One-Pass Signature] Literal Data Signature
    [Marker]* [Compressed ->]* Signature Literal Data            (the old form, no OPS)

and nothing else. Every size, count and nesting depth is bounded by :mod:`sigverify.limits`;
decompression stops as soon as its output passes the bound (a compression bomb is refused
while it is being inflated, not after). Only :class:`~sigverify.errors.SignatureRejected`
ever escapes :func:`parse_signed_message`:

* no signature packet at all (a plain literal, an encrypted message) → ``NoSignature``;
* more than one signature packet → ``MultipleSignatures``;
* anything malformed, truncated, oversized, unknown or critical-but-not-understood →
  ``InvalidSignature`` with a message naming what was wrong.

Both backends run this reader first, so what it refuses is refused identically by both.
No I/O, no cryptography: the returned :class:`SignedMessage` is unauthenticated data.
"""

from __future__ import annotations

from sigverify.limits import MAX_SIGNATURE_BLOB_BYTES
from sigverify.openpgp._common_shape import _read_common_facts as _read_common_facts
from sigverify.openpgp._common_shape import _read_common_shape as _read_common_shape
from sigverify.openpgp._packet_bodies import (
    HASH_ALGORITHMS,
    PUBKEY_SIGNATURE_MPIS,
    LiteralData,
    OnePassSignature,
    SignaturePacket,
    SignedFacts,
    SignedMessage,
    Subpacket,
    _invalid,
    facts_of,
)
from sigverify.openpgp._packet_framing import _read_any_shape as _read_any_shape

__all__ = [
    "HASH_ALGORITHMS",
    "PUBKEY_SIGNATURE_MPIS",
    "LiteralData",
    "OnePassSignature",
    "SignaturePacket",
    "SignedFacts",
    "SignedMessage",
    "Subpacket",
    "parse_signed_message",
    "read_signed_facts",
]


def parse_signed_message(blob: bytes) -> SignedMessage:
    """Read ``blob`` as an atomic-signature signed message (see the module docstring)."""
    data = _binary_message(blob)
    message = _read_common_shape(data)
    if message is not None:
        return message
    return _read_any_shape(data)


def read_signed_facts(blob: bytes) -> SignedFacts:
    """What a verifier needs from ``blob``: :func:`parse_signed_message`'s outcome, reduced.

    The same refusals, from the same reader; a blob of the shape gpg and skopeo write is read
    in a single pass that builds none of the packet objects.
    """
    data = _binary_message(blob)
    facts = _read_common_facts(data)
    if facts is not None:
        return facts
    return facts_of(_read_any_shape(data))


def _binary_message(blob: bytes) -> bytes:
    """``blob`` as bytes, once it may be a binary OpenPGP message of a size we read."""
    if type(blob) is bytes:
        data = blob
    elif isinstance(blob, bytes | bytearray | memoryview):
        data = bytes(blob)
    else:
        raise _invalid("the signature blob is not bytes")
    if len(data) > MAX_SIGNATURE_BLOB_BYTES:
        raise _invalid(
            f"the signature blob is {len(data)} bytes, more than {MAX_SIGNATURE_BLOB_BYTES}"
        )
    if not data:
        raise _invalid("the signature blob is empty")
    if not data[0] & 0x80:
        hint = " (ASCII-armored?)" if data.lstrip().startswith(b"-----BEGIN PGP") else ""
        raise _invalid(f"the signature blob is not a binary OpenPGP message{hint}")
    return data
