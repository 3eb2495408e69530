"""Fuzz targets: nothing but SignatureRejected may escape the reader or the native backend."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigverify.core.verdict import SignatureRejected
from sigverify.openpgp.keyring import Keyring
from sigverify.openpgp.native import NativeBackend
from sigverify.openpgp.packets import parse_signed_message
from tests.support import packetcraft as pc
from tests.support.budget import examples
from tests.support.mutations import mutations

pytestmark = pytest.mark.slow

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_SETTINGS = settings(
    max_examples=examples(1500),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _seeds(fixtures: Path) -> list[bytes]:
    names = ["image.signature", "invalid-blob.signature-v3", "double.signature"]
    blobs = [(fixtures / name).read_bytes() for name in names]
    return blobs + [pc.join(pc.unwrap(blob)) for blob in blobs[:2]]


def _accepts_or_rejects(backend: NativeBackend, blob: bytes) -> None:
    with contextlib.suppress(SignatureRejected):
        parse_signed_message(blob)
    with contextlib.suppress(SignatureRejected):
        backend.verify(blob, now=NOW)


@pytest.fixture(scope="module")
def native(skopeo_testing_keyring: Keyring) -> NativeBackend:
    return NativeBackend(skopeo_testing_keyring)


@_SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes(native: NativeBackend, blob: bytes) -> None:
    _accepts_or_rejects(native, blob)


# Packet-shaped input: random tags and bodies in valid framing reach deeper code paths.
_packet = st.tuples(st.integers(0, 63), st.binary(max_size=300)).map(
    lambda item: pc.new_packet(item[0], item[1])
)


@_SETTINGS
@given(st.lists(_packet, max_size=6), st.sampled_from([None, 0, 1, 2, 3]))
def test_random_packets(native: NativeBackend, packets: list[bytes], algorithm: int | None) -> None:
    data = b"".join(packets)
    if algorithm is not None:
        data = pc.new_packet(8, pc.compressed(data, algorithm))
    _accepts_or_rejects(native, data)


@_SETTINGS
@given(st.data())
def test_mutated_real_signatures(
    native: NativeBackend, containers_image_fixtures: Path, data: st.DataObject
) -> None:
    seeds = _seeds(containers_image_fixtures)
    blob = data.draw(st.sampled_from(seeds))
    seed = data.draw(st.integers(0, 2**32))
    for _, mutant in mutations(blob, 3, seed=seed):
        _accepts_or_rejects(native, mutant)


@_SETTINGS
@given(st.data())
def test_spliced_signature_fields(
    native: NativeBackend, containers_image_fixtures: Path, data: st.DataObject
) -> None:
    """Random bytes written over the signature packet, framing kept intact."""
    ops, lit, sig = pc.unwrap((containers_image_fixtures / "image.signature").read_bytes())
    start = data.draw(st.integers(0, len(sig.body) - 1))
    patch = data.draw(st.binary(min_size=1, max_size=24))
    body = sig.body[:start] + patch + sig.body[start + len(patch) :]
    _accepts_or_rejects(native, pc.join([ops, lit, pc.RawPacket(2, body)]))
