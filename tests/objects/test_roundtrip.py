"""Lossless round-trip: ``dump(load(doc)) == doc`` for every valid document.

An Image update (PUT) stores exactly what the client sends, so anything lost between reading
and writing is data destroyed on the cluster.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from sigverify.objects.documents import (
    dump_document,
    load_document,
    parse_document_bytes,
    read_document_file,
)
from sigverify.objects.schemas import dump_model, load_image
from sigverify.objects.types import (
    Image,
    ImageSignature,
    ImageStreamImage,
    ObjectMeta,
    SignatureCondition,
    SignatureSubject,
)
from tests.objects import strategies
from tests.objects.samples import DIGEST, full_image
from tests.support.budget import examples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLES = sorted(
    [*EXAMPLES.glob("*.json"), *EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("demo/*.json")]
)


def same_text(left: Any, right: Any) -> bool:
    """Equal values and equal member order everywhere (JSON text compared unsorted)."""
    return json.dumps(left) == json.dumps(right)


# --- samples --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_sample_files_round_trip(path: Path) -> None:
    raw = (
        yaml.safe_load(path.read_text()) if path.suffix == ".yaml" else json.loads(path.read_text())
    )
    loaded = read_document_file(str(path))
    assert same_text(dump_document(loaded), raw)


def test_samples_exist() -> None:
    names = {path.name for path in SAMPLES}
    assert {"fixture-image.json", "fixture-isimage.yaml"} <= names


def test_fixture_image_has_the_containers_image_blobs() -> None:
    image = read_document_file(str(EXAMPLES / "fixture-image.json"))
    assert isinstance(image, Image)
    assert image.name == "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"
    assert [signature.type for signature in image.signatures] == [
        "atomic",
        "AtomicImageV1",
        "atomic",
    ]
    # A binary OpenPGP message: the first packet tag byte has the high bit set.
    assert all(signature.content[0] & 0x80 for signature in image.signatures)
    assert image.resource_version == "48213"


def test_fixture_isimage_exposes_namespace_and_name() -> None:
    stream_image = read_document_file(str(EXAMPLES / "fixture-isimage.yaml"))
    assert isinstance(stream_image, ImageStreamImage)
    assert stream_image.namespace == "testing"
    assert stream_image.name.startswith("manifest@sha256:20bf21ed")
    assert stream_image.image.signatures[0].conditions[0].reason == "manually verified"


# --- every member, unknown members, nulls, absent members -----------------------------------


def test_every_member_and_unknown_members_at_every_level_are_kept() -> None:
    document = full_image()
    image = load_document(document)
    assert same_text(dump_document(image), document)


def test_typed_view_of_a_full_image() -> None:
    image = load_document(full_image())
    assert isinstance(image, Image)
    signature = image.signatures[0]
    assert signature.content == b"hello"
    assert signature.name == f"{DIGEST}@one"
    assert signature.signed_claims == {"docker-reference": "registry.example.com/a/b:latest"}
    assert signature.created == datetime(2016, 3, 17, 18, 35, 13, tzinfo=UTC)
    assert signature.issued_to is not None and signature.issued_to.public_key_id == "0x1"
    trusted = signature.conditions[0]
    assert trusted.last_probe_time == datetime(2016, 3, 17, 17, 12, 57, tzinfo=UTC)
    assert trusted.last_transition_time == datetime(2016, 3, 17, 18, 12, 57, 123456, tzinfo=UTC)
    assert image.docker_image_layers[0].size == 0
    assert image.docker_image_signatures == (b"\x00\x01\x02",)
    assert image.docker_image_manifests[0].os == "linux"
    assert image.docker_image_metadata == {"kind": "DockerImage", "Size": 10, "x": [None]}


def test_explicit_nulls_stay_null_and_absent_members_stay_absent() -> None:
    document = {
        "metadata": {"name": DIGEST, "namespace": None, "labels": None},
        "dockerImageReference": None,
        "dockerImageMetadata": None,
        "dockerImageLayers": None,
        "signatures": [
            {
                "metadata": {"name": f"{DIGEST}@s"},
                "type": "atomic",
                "content": "AA==",
                "conditions": None,
                "created": None,
                "issuedBy": None,
                "signedClaims": None,
            }
        ],
        "dockerImageSignatures": [],
        "dockerImageManifests": [],
    }
    image = load_document(document)
    assert isinstance(image, Image)
    assert image.docker_image_layers == ()
    assert image.signatures[0].conditions == ()
    assert same_text(dump_document(image), document)


def test_minimal_image_gains_nothing() -> None:
    document = {"metadata": {"name": DIGEST}}
    assert dump_document(load_document(document)) == document


def test_time_text_is_given_back_identical_while_unchanged() -> None:
    document = full_image()
    image = load_document(document)
    assert isinstance(image, Image)
    condition = image.signatures[0].conditions[0]
    out = dump_model(replace(condition, reason="other"))
    assert out["lastProbeTime"] == "2016-03-17T18:12:57+01:00"
    assert out["lastTransitionTime"] == "2016-03-17T18:12:57.123456789Z"


def test_a_changed_time_is_written_in_utc_whole_seconds() -> None:
    image = load_document(full_image())
    assert isinstance(image, Image)
    condition = image.signatures[0].conditions[0]
    changed = replace(condition, last_probe_time=datetime(2026, 11, 27, 7, 0, 0, 999, tzinfo=UTC))
    assert dump_model(changed)["lastProbeTime"] == "2026-11-27T07:00:00Z"


def test_changing_one_field_changes_only_that_member() -> None:
    document = full_image()
    image = load_document(document)
    assert isinstance(image, Image)
    signature = image.signatures[0]
    issued_to = replace(signature.issued_to or SignatureSubject(), public_key_id="0xABCDEF")
    updated = replace(image, signatures=(replace(signature, issued_to=issued_to),))
    expected = copy.deepcopy(document)
    expected["signatures"][0]["issuedTo"]["publicKeyID"] = "0xABCDEF"
    assert same_text(dump_document(updated), expected)


def test_new_members_are_added_in_schema_order_after_the_read_ones() -> None:
    image = load_document({"metadata": {"name": DIGEST}, "x": 1})
    assert isinstance(image, Image)
    signature = ImageSignature(ObjectMeta(name=f"{DIGEST}@new"), "atomic", b"\x01")
    condition = SignatureCondition("Trusted", "True", reason="Trusted")
    updated = replace(image, signatures=(replace(signature, conditions=(condition,)),))
    assert same_text(
        dump_document(updated),
        {
            "metadata": {"name": DIGEST},
            "x": 1,
            "signatures": [
                {
                    "metadata": {"name": f"{DIGEST}@new"},
                    "type": "atomic",
                    "content": "AQ==",
                    "conditions": [{"type": "Trusted", "status": "True", "reason": "Trusted"}],
                }
            ],
        },
    )


def test_models_do_not_share_state_with_inputs_or_outputs() -> None:
    document = full_image()
    image = load_document(document)
    document["x-top"]["nested"].append("changed")
    document["dockerImageMetadata"]["Size"] = 11
    first = dump_document(image)
    first["x-top"]["nested"].clear()
    first["dockerImageMetadata"]["Size"] = 12
    assert same_text(dump_document(image), full_image())


def test_yaml_and_json_of_the_same_document_load_equal() -> None:
    document = full_image()
    from_json = parse_document_bytes(json.dumps(document).encode(), source="a.json")
    text = yaml.safe_dump(document, sort_keys=False)
    from_yaml = parse_document_bytes(text.encode(), source="a.yaml")
    assert from_json == from_yaml
    assert dump_document(from_yaml) == document


def test_unquoted_yaml_timestamps_stay_strings() -> None:
    text = f"metadata:\n  name: '{DIGEST}'\n  creationTimestamp: 2016-03-17T18:12:57Z\n"
    image = parse_document_bytes(text.encode(), source="t.yaml")
    assert dump_document(image)["metadata"]["creationTimestamp"] == "2016-03-17T18:12:57Z"


def test_kind_is_inferred_by_shape_when_absent() -> None:
    stream_image = load_document({"metadata": {"name": f"app@{DIGEST}"}, "image": full_image()})
    assert isinstance(stream_image, ImageStreamImage)
    assert isinstance(load_document({"metadata": {"name": DIGEST}}), Image)


# --- generated documents --------------------------------------------------------------------

_SETTINGS = settings(
    max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.slow
@_SETTINGS
@given(strategies.images)
def test_generated_images_round_trip(document: dict[str, Any]) -> None:
    image = load_image(document)
    out = dump_model(image)
    assert same_text(out, document)
    assert load_image(out) == image


@pytest.mark.slow
@_SETTINGS
@given(strategies.stream_images)
def test_generated_stream_images_round_trip(document: dict[str, Any]) -> None:
    stream_image = load_document(document)
    assert isinstance(stream_image, ImageStreamImage)
    assert same_text(dump_document(stream_image), document)


@pytest.mark.slow
@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.images)
def test_generated_images_round_trip_through_json_and_yaml_bytes(document: dict[str, Any]) -> None:
    document = {**document, "kind": "Image"}
    for text in (json.dumps(document), yaml.safe_dump(document, sort_keys=False)):
        assert dump_document(parse_document_bytes(text.encode(), source="gen")) == document
