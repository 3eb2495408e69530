"""Hypothesis strategies for valid ``image.openshift.io/v1`` documents.

Every generated document is one sigverify must load and give back unchanged: any subset of
the optional members, explicit nulls, empty lists, unknown members with arbitrary JSON
values at every level, times in every RFC 3339 spelling, and members in any order.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

INT64_MAX = 2**63 - 1

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), INT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
digests = st.binary(min_size=32, max_size=32).map(lambda raw: "sha256:" + raw.hex())
base64_blobs = st.binary(min_size=1, max_size=120).map(lambda raw: base64.b64encode(raw).decode())
string_maps = st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4)
int64s = st.integers(0, INT64_MAX)


@st.composite
def rfc3339_times(draw: st.DrawFn) -> str:
    """An RFC 3339 time as Go parses it: Z or ±hh:mm, with or without a fraction."""
    instant = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
    offset_minutes = draw(st.sampled_from([None, 0]) | st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    fraction = draw(st.sampled_from(["", ".0", ".5", ".123456", ".123456789"]))
    if offset_minutes is None:
        suffix = "Z"
    else:
        sign = "-" if offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(offset_minutes), 60)
        suffix = f"{sign}{hours:02d}:{minutes:02d}"
        instant = instant.replace(tzinfo=UTC) + timedelta(minutes=offset_minutes)
    return instant.strftime("%Y-%m-%dT%H:%M:%S") + fraction + suffix


def _optional(strategy: st.SearchStrategy[Any], nullable: bool = True) -> st.SearchStrategy[Any]:
    return (st.none() | strategy) if nullable else strategy


@st.composite
def json_objects(
    draw: st.DrawFn,
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]],
) -> dict[str, Any]:
    """A JSON object: the required members, some optional ones (maybe null), unknown
    members with any JSON value, in any order."""
    members = {key: draw(strategy) for key, strategy in required.items()}
    for key, strategy in optional.items():
        if draw(st.booleans()):
            members[key] = draw(_optional(strategy))
    known = set(required) | set(optional)
    unknown = draw(
        st.dictionaries(
            st.text(min_size=1, max_size=10).filter(lambda key: key not in known),
            json_values,
            max_size=2,
        )
    )
    members.update(unknown)
    order = draw(st.permutations(list(members)))
    return {key: members[key] for key in order}


def lists_of(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, max_size=3)


def metadata(name: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    return json_objects(
        {"name": name},
        {
            "namespace": st.text(max_size=8),
            "resourceVersion": st.text(max_size=8),
            "uid": st.text(max_size=8),
            "creationTimestamp": rfc3339_times(),
            "labels": string_maps,
            "annotations": string_maps,
            "managedFields": lists_of(json_values),
        },
    )


conditions = json_objects(
    {
        "type": st.sampled_from(["Trusted", "ForImage", "Expired", "Revoked"])
        | st.text(min_size=1, max_size=8),
        "status": st.sampled_from(["True", "False", "Unknown"]),
    },
    {
        "lastProbeTime": rfc3339_times(),
        "lastTransitionTime": rfc3339_times(),
        "reason": st.text(max_size=10),
        "message": st.text(max_size=20),
    },
)
issuers = json_objects({}, {"organization": st.text(max_size=8), "commonName": st.text(max_size=8)})
subjects = json_objects(
    {},
    {
        "organization": st.text(max_size=8),
        "commonName": st.text(max_size=8),
        "publicKeyID": st.text(max_size=18),
    },
)


@st.composite
def signature_names(draw: st.DrawFn) -> str:
    image = draw(digests)
    suffix = draw(st.text(min_size=1, max_size=32).filter(lambda text: "@" not in text))
    return f"{image}@{suffix}"


signatures = json_objects(
    {
        "metadata": metadata(signature_names()),
        "type": st.sampled_from(["atomic", "AtomicImageV1"]) | st.text(min_size=1, max_size=8),
        "content": base64_blobs,
    },
    {
        "conditions": lists_of(conditions),
        "imageIdentity": st.text(max_size=20),
        "signedClaims": string_maps,
        "created": rfc3339_times(),
        "issuedBy": issuers,
        "issuedTo": subjects,
    },
)
layers = json_objects(
    {},
    {"name": digests, "size": int64s, "mediaType": st.text(max_size=10)},
)
manifests = json_objects(
    {},
    {
        "digest": digests,
        "mediaType": st.text(max_size=10),
        "manifestSize": int64s,
        "architecture": st.text(max_size=6),
        "os": st.text(max_size=6),
        "variant": st.text(max_size=4),
    },
)
images = json_objects(
    {"metadata": metadata(digests)},
    {
        "kind": st.just("Image"),
        "apiVersion": st.just("image.openshift.io/v1"),
        "dockerImageReference": st.text(max_size=20),
        "dockerImageMetadata": json_values,
        "dockerImageMetadataVersion": st.text(max_size=4),
        "dockerImageManifest": st.text(max_size=20),
        "dockerImageManifestMediaType": st.text(max_size=10),
        "dockerImageConfig": st.text(max_size=20),
        "dockerImageLayers": lists_of(layers),
        "dockerImageSignatures": lists_of(base64_blobs),
        "dockerImageManifests": lists_of(manifests),
        "signatures": lists_of(signatures),
    },
)


@st.composite
def stream_image_names(draw: st.DrawFn) -> str:
    stream = draw(st.text(min_size=1, max_size=10).filter(lambda text: "@" not in text))
    return f"{stream}@{draw(digests)}"


stream_images = json_objects(
    {
        "kind": st.just("ImageStreamImage"),
        "metadata": metadata(stream_image_names()),
        "image": images,
    },
    {"apiVersion": st.just("image.openshift.io/v1")},
)
