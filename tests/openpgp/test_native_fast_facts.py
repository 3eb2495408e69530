"""The native backend's single-pass reader agrees with the general reader.

``read_signed_facts`` first tries ``_read_common_facts`` (one pass, no packet objects) and
falls back to ``facts_of(_read_any_shape(...))``. Whenever the single pass returns facts, the
general reader must accept the blob and yield the same facts (signature values compared as
numbers: the single pass keeps them as written); whenever the general reader refuses, the
single pass must not accept. And ``read_signed_facts`` refuses exactly what
``parse_signed_message`` refuses, with the same reason and message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigverify.core.verdict import SignatureRejected
from sigverify.openpgp import packets
from tests.support import packetcraft as pc
from tests.support.budget import examples, iterations
from tests.support.mutations import mutations

_SETTINGS = settings(
    max_examples=examples(1000),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _numbers(facts: packets.SignedFacts) -> tuple[object, ...]:
    return (*facts[:-1], tuple(int.from_bytes(value, "big") for value in facts.values))


def _outcome(read: object, blob: bytes) -> object:
    try:
        return read(blob)  # type: ignore[operator]
    except SignatureRejected as exc:
        return (exc.reason, str(exc))


def _agree(blob: bytes) -> bool:
    """Check both readers on ``blob``; whether the single pass took it."""
    general = _outcome(packets.parse_signed_message, blob)
    facts = _outcome(packets.read_signed_facts, blob)
    if isinstance(general, packets.SignedMessage):
        assert isinstance(facts, packets.SignedFacts)
        assert _numbers(facts) == _numbers(packets.facts_of(general))
    else:
        assert facts == general  # the same refusal, word for word
    if not blob or not blob[0] & 0x80:
        return False
    fast = packets._read_common_facts(blob)
    if fast is None:
        return False
    assert isinstance(general, packets.SignedMessage)
    assert _numbers(fast) == _numbers(packets.facts_of(packets._read_any_shape(blob)))
    return True


def _seeds(fixtures: Path) -> list[bytes]:
    names = ["image.signature", "no-optional-fields.signature", "expired.signature"]
    return [(fixtures / name).read_bytes() for name in names]


def test_fixtures_take_the_single_pass(containers_image_fixtures: Path) -> None:
    for blob in _seeds(containers_image_fixtures):
        assert _agree(blob)


def test_every_framing_variant(containers_image_fixtures: Path) -> None:
    ops, lit, sig = pc.unwrap((containers_image_fixtures / "image.signature").read_bytes())
    inner = pc.join([ops, lit, sig])
    taken = [_agree(inner)]
    for algorithm in (0, 1, 2, 3):
        taken.append(_agree(pc.new_packet(8, pc.compressed(inner, algorithm))))
        taken.append(_agree(pc.old_packet(8, pc.compressed(inner, algorithm), length_type=3)))
    # BZip2 (the last two) is left to the general reader.
    assert taken == [True] * 7 + [False, False]


def test_mutants_agree(containers_image_fixtures: Path) -> None:
    taken = 0
    for index, blob in enumerate(_seeds(containers_image_fixtures)):
        for _, mutant in mutations(blob, iterations(300, dev=60), seed=20261202 + index):
            taken += _agree(mutant)
    assert taken > 0


@_SETTINGS
@given(st.data())
def test_spliced_packet_bodies(containers_image_fixtures: Path, data: st.DataObject) -> None:
    """Random bytes over one packet body, framing kept intact."""
    parts = pc.unwrap((containers_image_fixtures / "image.signature").read_bytes())
    which = data.draw(st.integers(0, 2))
    body = parts[which].body
    start = data.draw(st.integers(0, len(body) - 1))
    patch = data.draw(st.binary(min_size=1, max_size=24))
    parts[which] = pc.RawPacket(parts[which].tag, body[:start] + patch + body[start + len(patch) :])
    inner = pc.join(parts)
    _agree(inner)
    _agree(pc.new_packet(8, pc.compressed(inner, data.draw(st.sampled_from([0, 1, 2])))))


@pytest.mark.parametrize("cut", [1, 2, 13, 100, 400])
def test_truncated_blobs_are_refused_alike(containers_image_fixtures: Path, cut: int) -> None:
    blob = (containers_image_fixtures / "image.signature").read_bytes()
    assert not _agree(blob[:-cut])
    with pytest.raises(SignatureRejected):
        packets.read_signed_facts(blob[:-cut])
