"""Signed messages of an exact size, to probe size limits one byte either side.

The payload is padded with trailing spaces (JSON allows them), so every message still
carries a valid atomic-signature payload.
"""

from __future__ import annotations

from tests.support.forge import Forger

__all__ = ["message_of_size", "padded"]


def padded(payload: bytes, size: int) -> bytes:
    """``payload`` followed by spaces up to exactly ``size`` bytes."""
    if len(payload) > size:
        raise ValueError(f"the payload is already {len(payload)} bytes, more than {size}")
    return payload + b" " * (size - len(payload))


def message_of_size(forger: Forger, payload: bytes, size: int, *, created: int) -> bytes:
    """An uncompressed signed message of exactly ``size`` bytes (payload padded to fit).

    Each padding byte adds one byte, but a packet's length header grows past 191 and 8383
    bytes, and a signature value is a byte shorter when its top byte is zero (one in 256):
    so the padding is corrected from each measured size. Should one padding give a short
    signature and the next a long message, another JSON whitespace changes the signature.
    """
    pad = max(0, size - len(forger.message(payload, created=created)))
    for filler in (b" ", b"\t", b"\n", b"\r"):
        for _ in range(8):
            blob = forger.message(payload + filler * pad, created=created)
            if len(blob) == size:
                return blob
            pad = max(0, pad + size - len(blob))
    raise ValueError(f"no message of exactly {size} bytes near padding {pad}")
