"""containers-signature(5) payload strictness, case by case."""

from __future__ import annotations

import json

import pytest

from sigverify.core.claims import SIGNATURE_TYPE, ClaimsError, SignedClaims, parse_claims

DIGEST = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"


def payload(**overrides: object) -> bytes:
    document: dict[str, object] = {
        "critical": {
            "type": SIGNATURE_TYPE,
            "image": {"docker-manifest-digest": DIGEST},
            "identity": {"docker-reference": "quay.io/acme/app:1"},
        },
        "optional": {"creator": "atomic 1.0", "timestamp": 1458239713},
    }
    document.update(overrides)
    return json.dumps(document).encode()


def test_canonical_payload() -> None:
    assert parse_claims(payload()) == SignedClaims(
        DIGEST, "quay.io/acme/app:1", "atomic 1.0", 1458239713
    )


def test_real_signer_variations_are_accepted() -> None:
    # Keys in any order, whitespace, no timestamp, creator with a trailing space.
    text = (
        '{ "optional" : {"creator": "atomic "},\n "critical": {"identity": '
        '{"docker-reference": "testing/manifest"}, "type": "atomic container signature", '
        f'"image": {{"docker-manifest-digest": "{DIGEST}"}}}}}}\n'
    )
    claims = parse_claims(text.encode())
    assert claims == SignedClaims(DIGEST, "testing/manifest", "atomic ", None)


def test_signed_claims_map_is_flat_strings() -> None:
    assert parse_claims(payload()).as_signed_claims() == {
        "type": SIGNATURE_TYPE,
        "docker-manifest-digest": DIGEST,
        "docker-reference": "quay.io/acme/app:1",
        "creator": "atomic 1.0",
        "timestamp": "1458239713",
    }


def test_optional_may_hold_anything_else() -> None:
    claims = parse_claims(payload(optional={"x": [1, {"y": None}], "timestamp": 5}))
    assert (claims.creator, claims.timestamp) == (None, 5)


def test_integral_float_timestamp_is_accepted_like_containers_image() -> None:
    assert parse_claims(payload(optional={"timestamp": 1e3})).timestamp == 1000


BAD_CASES = {
    "not json": (b"This is not JSON", "payload is not JSON"),
    "trailing data": (payload() + b"{}", "payload is not JSON"),
    "not utf-8": (b"\xff\xfe{}", "payload is not UTF-8"),
    "array": (b"[]", "the payload is not a JSON object"),
    "missing optional": (json.dumps({"critical": {}}).encode(), "missing member 'optional'"),
    "extra top-level": (payload(extra=1), "the payload has unknown member 'extra'"),
    "optional not object": (payload(optional=[]), "optional is not a JSON object"),
    "wrong type": (
        payload(
            critical={
                "type": "foo",
                "image": {"docker-manifest-digest": DIGEST},
                "identity": {"docker-reference": "a/b"},
            }
        ),
        "unrecognized signature type 'foo'",
    ),
    "type not string": (
        payload(
            critical={
                "type": 1,
                "image": {"docker-manifest-digest": DIGEST},
                "identity": {"docker-reference": "a/b"},
            }
        ),
        "critical.type is not a string",
    ),
    "critical extra": (
        payload(
            critical={
                "type": SIGNATURE_TYPE,
                "image": {"docker-manifest-digest": DIGEST},
                "identity": {"docker-reference": "a/b"},
                "x": 1,
            }
        ),
        "critical has unknown member 'x'",
    ),
    "critical missing identity": (
        payload(critical={"type": SIGNATURE_TYPE, "image": {"docker-manifest-digest": DIGEST}}),
        "critical is missing member 'identity'",
    ),
    "image extra": (
        payload(
            critical={
                "type": SIGNATURE_TYPE,
                "image": {"docker-manifest-digest": DIGEST, "size": 1},
                "identity": {"docker-reference": "a/b"},
            }
        ),
        "critical.image has unknown member 'size'",
    ),
    "identity extra": (
        payload(
            critical={
                "type": SIGNATURE_TYPE,
                "image": {"docker-manifest-digest": DIGEST},
                "identity": {"docker-reference": "a/b", "tag": "x"},
            }
        ),
        "critical.identity has unknown member 'tag'",
    ),
    "digest not string": (
        payload(
            critical={
                "type": SIGNATURE_TYPE,
                "image": {"docker-manifest-digest": 5},
                "identity": {"docker-reference": "a/b"},
            }
        ),
        "critical.image.docker-manifest-digest is not a string",
    ),
    "digest malformed": (
        payload(
            critical={
                "type": SIGNATURE_TYPE,
                "image": {"docker-manifest-digest": "sha256:ABC"},
                "identity": {"docker-reference": "a/b"},
            }
        ),
        "is not a valid digest",
    ),
    "digest uppercase hex": (
        payload(
            critical={
                "type": SIGNATURE_TYPE,
                "image": {"docker-manifest-digest": DIGEST.upper().replace("SHA256", "sha256")},
                "identity": {"docker-reference": "a/b"},
            }
        ),
        "is not a valid digest",
    ),
    "reference null": (
        payload(
            critical={
                "type": SIGNATURE_TYPE,
                "image": {"docker-manifest-digest": DIGEST},
                "identity": {"docker-reference": None},
            }
        ),
        "critical.identity.docker-reference is not a string",
    ),
    "creator not string": (payload(optional={"creator": 7}), "optional.creator is not a string"),
    "timestamp string": (
        payload(optional={"timestamp": "1"}),
        "optional.timestamp is not a number",
    ),
    "timestamp bool": (payload(optional={"timestamp": True}), "optional.timestamp is not a number"),
    "timestamp fraction": (
        payload(optional={"timestamp": 1.5}),
        "optional.timestamp is not an integer",
    ),
    "timestamp huge": (
        payload().replace(b"1458239713", b"1e400"),
        "optional.timestamp is not an integer",
    ),
    "timestamp beyond int64": (payload().replace(b"1458239713", b"1e19"), "out of range"),
    "NaN": (b'{"critical":{},"optional":{"timestamp":NaN}}', "NaN is not valid JSON"),
    "deep nesting": (
        b'{"critical":{},"optional":{"x":' + b"[" * 100 + b"]" * 100 + b"}}",
        "nested deeper than",
    ),
    "oversized": (b" " * (300 * 1024), "larger than"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_malformed_payloads_are_rejected_with_the_reason(case: str) -> None:
    data, fragment = BAD_CASES[case]
    with pytest.raises(ClaimsError) as caught:
        parse_claims(data)
    assert fragment in str(caught.value)


def test_duplicate_keys_are_rejected_at_every_level() -> None:
    base = payload().decode()
    top = base[:-1] + ', "optional": {}}'
    inner = base.replace('"identity": {', '"identity": {"docker-reference": "x/y", ', 1)
    for text in (top, inner):
        with pytest.raises(ClaimsError, match="duplicate key"):
            parse_claims(text.encode())


def test_other_digest_algorithms_parse() -> None:
    digest = "sha512:" + "a" * 128
    claims = parse_claims(
        payload(
            critical={
                "type": SIGNATURE_TYPE,
                "image": {"docker-manifest-digest": digest},
                "identity": {"docker-reference": "a/b"},
            }
        )
    )
    assert claims.manifest_digest == digest
