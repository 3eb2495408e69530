"""OpenPGP packet headers (RFC 4880 §4.2): the one reader every packet walker uses.

The general signed-message reader (:mod:`sigverify.openpgp._packet_framing`), its fast path
(:mod:`sigverify.openpgp._common_shape`) and the key reader (:mod:`sigverify.openpgp.keys`)
all frame packets here, so old- and new-format lengths, partial body lengths and
indeterminate lengths follow one set of rules. Each caller turns a :class:`HeaderError` into
its own failure (a rejected signature, unreadable key material, or "not the common shape").
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFINITE",
    "INDETERMINATE",
    "PARTIAL",
    "TAG_AEAD",
    "TAG_COMPRESSED",
    "TAG_LITERAL",
    "TAG_MARKER",
    "TAG_ONE_PASS",
    "TAG_PKESK",
    "TAG_PUBLIC_KEY",
    "TAG_PUBLIC_SUBKEY",
    "TAG_SED",
    "TAG_SEIPD",
    "TAG_SIGNATURE",
    "TAG_SKESK",
    "HeaderError",
    "read_header",
]

# RFC 4880 §4.3 packet tags.
TAG_PKESK: Final = 1
TAG_SIGNATURE: Final = 2
TAG_SKESK: Final = 3
TAG_ONE_PASS: Final = 4
TAG_PUBLIC_KEY: Final = 6
TAG_COMPRESSED: Final = 8
TAG_SED: Final = 9
TAG_MARKER: Final = 10
TAG_LITERAL: Final = 11
TAG_PUBLIC_SUBKEY: Final = 14
TAG_SEIPD: Final = 18
TAG_AEAD: Final = 20

# RFC 4880 §4.2.2.4: only these packets may use partial body lengths.
_PARTIAL_OK: Final = frozenset({TAG_LITERAL, TAG_COMPRESSED, TAG_SED, TAG_SEIPD, TAG_AEAD})
# RFC 4880 §4.2.1 leaves indeterminate lengths to where "the end of the data will be clear
# from the context"; as GnuPG, only literal and compressed data may use them.
_INDETERMINATE_OK: Final = frozenset({TAG_LITERAL, TAG_COMPRESSED})

#: How a packet's body is framed (the last member of :func:`read_header`'s answer).
DEFINITE: Final = 0
#: The span is one chunk of the body; another length follows it.
PARTIAL: Final = 1
#: Old format, length type 3: the body runs to the end of the enclosing data.
INDETERMINATE: Final = 2


class HeaderError(ValueError):
    """A packet header or body length that cannot be read; the message says what is wrong."""


def read_header(
    data: bytes, offset: int, end: int, partial_of: int | None = None
) -> tuple[int, int, int, int]:
    """The packet at ``offset``: ``(tag, body start, body end, framing)``.

    ``framing`` is :data:`DEFINITE` (the body is ``data[start:stop]``), :data:`PARTIAL`
    (that span is a chunk and another length follows it: call again at ``stop`` with
    ``partial_of=tag``) or :data:`INDETERMINATE` (the body runs to ``end``). Raise
    :class:`HeaderError` for a header that is not one, is cut short, uses a length form its
    tag may not use, or announces a body that runs past ``end``.
    """
    if partial_of is None:
        if offset >= end:
            raise HeaderError("truncated packet header")
        ctb = data[offset]
        if ctb & 0xC0 != 0xC0:
            if not ctb & 0x80:
                raise HeaderError(f"invalid packet header byte 0x{ctb:02x} at offset {offset}")
            # Old format (RFC 4880 §4.2.1): the length type says 1, 2 or 4 length octets, or
            # none at all.
            tag = (ctb >> 2) & 0x0F
            length_type = ctb & 0x03
            if length_type == 3:
                if tag not in _INDETERMINATE_OK:
                    raise HeaderError(f"indeterminate length on a packet with tag {tag}")
                return tag, offset + 1, end, INDETERMINATE
            start = offset + 1 + (1 << length_type)
            if start > end:
                raise HeaderError("truncated packet header")
            # One or two length octets are read directly (a slice costs more than the read).
            if length_type == 0:
                length = data[offset + 1]
            elif length_type == 1:
                length = (data[offset + 1] << 8) | data[offset + 2]
            else:
                length = int.from_bytes(data[offset + 1 : start], "big")
            if start + length > end:
                raise HeaderError(f"truncated packet (tag {tag}): {length} bytes announced")
            return tag, start, start + length, DEFINITE
        tag = ctb & 0x3F
        offset += 1
    else:
        tag = partial_of
    # New format (RFC 4880 §4.2.2), also the length before each chunk after a partial one:
    # one octet below 192, two below 224, five after 255, else a partial body length.
    if offset >= end:
        raise HeaderError("truncated packet length")
    first = data[offset]
    if first < 192:
        start, length = offset + 1, first
    elif first < 224:
        start = offset + 2
        if start > end:
            raise HeaderError("truncated packet length")
        length = ((first - 192) << 8) + data[offset + 1] + 192
    elif first == 255:
        start = offset + 5
        if start > end:
            raise HeaderError("truncated packet length")
        length = int.from_bytes(data[offset + 1 : start], "big")
    else:
        if tag not in _PARTIAL_OK:
            raise HeaderError(f"partial body length on a packet with tag {tag}")
        start = offset + 1
        stop = start + (1 << (first & 0x1F))
        if stop > end:
            raise HeaderError(f"truncated partial body (tag {tag})")
        return tag, start, stop, PARTIAL
    if start + length > end:
        raise HeaderError(f"truncated packet (tag {tag}): {length} bytes announced")
    return tag, start, start + length, DEFINITE
