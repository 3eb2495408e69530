"""Deterministic mutations of signature blobs for the differential suite and the fuzzers.

Each generator takes a ``random.Random`` so a failing case is reproduced by its seed and
index alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from tests.support import packetcraft as pc

__all__ = ["Mutation", "mutations"]

Mutation = tuple[str, bytes]


def _bit_flip(rng: random.Random, blob: bytes) -> Mutation:
    data = bytearray(blob)
    position = rng.randrange(len(data))
    bit = rng.randrange(8)
    data[position] ^= 1 << bit
    return f"flip@{position}.{bit}", bytes(data)


def _byte_set(rng: random.Random, blob: bytes) -> Mutation:
    data = bytearray(blob)
    position = rng.randrange(len(data))
    value = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
    data[position] = value
    return f"set@{position}={value:02x}", bytes(data)


def _truncate(rng: random.Random, blob: bytes) -> Mutation:
    cut = rng.randrange(len(blob))
    return f"truncate@{cut}", blob[:cut]


def _append(rng: random.Random, blob: bytes) -> Mutation:
    tail = rng.choice([b"\n", b"\0", b"\xc0\x00", blob[: rng.randrange(1, len(blob))]])
    return f"append{len(tail)}", blob + tail


def _packets(blob: bytes) -> list[pc.RawPacket] | None:
    try:
        packets = pc.unwrap(blob)
    except (IndexError, ValueError, OSError, EOFError):
        return None
    return packets if packets else None


def _reorder(rng: random.Random, blob: bytes) -> Mutation:
    packets = _packets(blob)
    if packets is None or len(packets) < 2:
        return _bit_flip(rng, blob)
    order = list(range(len(packets)))
    while order == sorted(order):
        rng.shuffle(order)
    return f"reorder{order}", pc.join([packets[i] for i in order])


def _duplicate(rng: random.Random, blob: bytes) -> Mutation:
    packets = _packets(blob)
    if packets is None:
        return _truncate(rng, blob)
    index = rng.randrange(len(packets))
    packets.insert(rng.randrange(len(packets) + 1), packets[index])
    return f"duplicate{index}", pc.join(packets)


def _drop(rng: random.Random, blob: bytes) -> Mutation:
    packets = _packets(blob)
    if packets is None or len(packets) < 2:
        return _truncate(rng, blob)
    index = rng.randrange(len(packets))
    del packets[index]
    return f"drop{index}", pc.join(packets)


def _packet_body_flip(rng: random.Random, blob: bytes) -> Mutation:
    """Flip a bit inside one packet body, then re-frame (lengths stay consistent)."""
    packets = _packets(blob)
    if packets is None:
        return _bit_flip(rng, blob)
    index = rng.randrange(len(packets))
    body = bytearray(packets[index].body)
    if not body:
        return _bit_flip(rng, blob)
    position = rng.randrange(len(body))
    body[position] ^= 1 << rng.randrange(8)
    packets[index] = pc.RawPacket(packets[index].tag, bytes(body))
    return f"body{index}@{position}", pc.join(packets)


def _recompress(rng: random.Random, blob: bytes) -> Mutation:
    packets = _packets(blob)
    if packets is None:
        return _bit_flip(rng, blob)
    algorithm = rng.choice([0, 1, 2, 3])
    return f"recompress{algorithm}", pc.new_packet(8, pc.compressed(pc.join(packets), algorithm))


_STRATEGIES: tuple[Callable[[random.Random, bytes], Mutation], ...] = (
    _bit_flip,
    _bit_flip,
    _byte_set,
    _truncate,
    _append,
    _reorder,
    _duplicate,
    _drop,
    _packet_body_flip,
    _packet_body_flip,
    _packet_body_flip,
    _recompress,
)


def mutations(blob: bytes, count: int, *, seed: int) -> Iterator[Mutation]:
    """``count`` deterministic mutants of ``blob`` (name, bytes)."""
    rng = random.Random(seed)
    for _ in range(count):
        strategy = rng.choice(_STRATEGIES)
        yield strategy(rng, blob)
