"""Payload refusals word for word (the case table in test_claims.py matches fragments, which
let reworded messages through), a byte order mark, and digests of unknown algorithms."""

from __future__ import annotations

import pytest

from sigverify.core.claims import SIGNATURE_TYPE, ClaimsError, parse_claims, parse_digest

DIGEST = "sha256:" + "ab" * 32
CRITICAL = (
    f'{{"type": "{SIGNATURE_TYPE}", "image": {{"docker-manifest-digest": "{DIGEST}"}}, '
    '"identity": {"docker-reference": "quay.io/acme/app:1"}}'
)


def payload(optional: str) -> bytes:
    return f'{{"critical": {CRITICAL}, "optional": {optional}}}'.encode()


@pytest.mark.parametrize(
    ("optional", "expected"),
    [
        ("[]", "optional is not a JSON object"),
        ('{"timestamp": "1"}', "optional.timestamp is not a number"),
        ('{"timestamp": 1.5}', "optional.timestamp is not an integer"),
        ('{"timestamp": 1e19}', "optional.timestamp is out of range"),
        ('{"creator": 7}', "optional.creator is not a string"),
    ],
)
def test_optional_refusals(optional: str, expected: str) -> None:
    with pytest.raises(ClaimsError) as caught:
        parse_claims(payload(optional))
    assert str(caught.value) == expected


def test_a_byte_order_mark_is_refused() -> None:
    # containers/image (Go's encoding/json) does not skip a byte order mark.
    with pytest.raises(ClaimsError):
        parse_claims(b"\xef\xbb\xbf" + payload("{}"))
    assert parse_claims(payload("{}")).manifest_digest == DIGEST


@pytest.mark.parametrize("value", ["md5:" + "a" * 32, "sha1:" + "a" * 40, "sha256", ":" + "a" * 64])
def test_digests_of_unknown_algorithms_or_without_one(value: str) -> None:
    with pytest.raises(ClaimsError) as caught:
        parse_digest(value)
    assert str(caught.value) == f"docker-manifest-digest {value!r} is not a valid digest"
