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

    Each padding byte adds one byte to the message; only the signature's own size moves a
    little (an MPI loses a byte when its top byte is zero), so a few neighbours are tried.
    """
    base = len(forger.message(payload, created=created))
    guess = size - base
    for delta in (0, 1, -1, 2, -2, 3, -3):
        pad = guess + delta
        if pad < 0:
            continue
        blob = forger.message(payload + b" " * pad, created=created)
        if len(blob) == size:
            return blob
    raise ValueError(f"no message of exactly {size} bytes near padding {guess}")
