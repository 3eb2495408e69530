"""Policy refusals word for word, and the scope length limit at the limit and one above
(mutation testing found messages checked only by fragment and the limit unpinned)."""

from __future__ import annotations

import pytest

from sigverify.core.policy import MAX_NAME_LENGTH, Policy, Reject, SignedBy, validate_scope
from sigverify.errors import PolicyError

NOT_VALID = (
    'is not valid: expected a host[:port] ("quay.io"), a repository or namespace '
    '("quay.io/acme"), an exact reference ("quay.io/acme/app:v1" or "…@sha256:…"), a '
    'wildcard ("*.example.com") or ""'
)
WILDCARD = 'write "*." followed by a DNS suffix without a port, e.g. "*.example.com"'


def wildcard_of(length: int) -> str:
    """``*.`` and a valid DNS suffix (labels of at most 63) of ``length`` characters in all."""
    labels = ["a" * 63, "b" * 63, "c" * 63]
    head = "*." + ".".join(labels) + "."
    return head + "d" * (length - len(head) - 4) + ".com"


def message(scope: object) -> str:
    with pytest.raises(PolicyError) as caught:
        validate_scope(scope)  # type: ignore[arg-type]
    return str(caught.value)


def test_scopes_up_to_the_name_length_limit() -> None:
    at_limit = "quay.io/" + "a" * (MAX_NAME_LENGTH - 8)
    validate_scope(at_limit)
    assert message(at_limit + "a") == f"scope {at_limit + 'a'!r} {NOT_VALID}"
    validate_scope(wildcard_of(MAX_NAME_LENGTH))
    too_long = wildcard_of(MAX_NAME_LENGTH + 1)
    assert message(too_long) == f"wildcard scope {too_long!r} is not valid: {WILDCARD}"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (5, "scope 5 is not a string"),
        ("*.ex:1", f"wildcard scope '*.ex:1' is not valid: {WILDCARD}"),
        # A colon in a middle component is no tag: the scope is simply not valid.
        ("quay.io/a:b/c", f"scope 'quay.io/a:b/c' {NOT_VALID}"),
        # An "@" makes it an exact reference, whatever follows.
        (
            "quay.io/app@foo",
            "scope 'quay.io/app@foo' is not a valid reference: invalid reference format: "
            "invalid digest 'foo'",
        ),
        (
            "busybox",
            "scope 'busybox' never matches: images are looked up by their normalized "
            "reference; did you mean 'docker.io/library/busybox'?",
        ),
    ],
)
def test_scope_refusals(scope: object, expected: str) -> None:
    assert message(scope) == expected


def test_signed_by_without_keys() -> None:
    with pytest.raises(PolicyError) as caught:
        SignedBy(frozenset())
    assert str(caught.value) == "signedBy needs at least one key"


def test_requirement_lists_become_tuples() -> None:
    policy = Policy(default=[Reject()], scopes={"quay.io": [Reject()]})  # type: ignore[arg-type]
    assert policy.default == (Reject(),)
    assert policy.scopes["quay.io"] == (Reject(),)
