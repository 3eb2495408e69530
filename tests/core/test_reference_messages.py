"""Every refusal of an image reference, with its exact message (found missing by mutation
testing: a reworded or misdirected diagnosis went unnoticed)."""

from __future__ import annotations

import pytest

from sigverify.core.reference import MAX_REFERENCE_LENGTH, ReferenceError, parse_reference

TAG_RULE = "(a tag is 1-128 characters of A-Z a-z 0-9 _ . - and does not start with . or -)"
LOWERCASE = "invalid reference format: repository name must be lowercase"

CASES = {
    "": "the reference is empty",
    "ab" * 32: "invalid repository name: a 64-character hexadecimal string is an image ID, "
    "not a repository name",
    "quay.io/Acme/app": LOWERCASE,
    # Not a host (no dot, colon, nor localhost): docker.io/Xfoo/app, which is not lowercase.
    "Xfoo/app": LOWERCASE,
    "a" * 256: "repository name must not be more than 255 characters "
    f"(docker.io/library/{'a' * 22}… is 274)",
    # At the length limit the reference is read (and refused for its name); above, not.
    "quay.io/" + "a" * (MAX_REFERENCE_LENGTH - 8): "repository name must not be more than 255 "
    f"characters (quay.io/{'a' * 32}… is {MAX_REFERENCE_LENGTH})",
    "quay.io/" + "a" * (MAX_REFERENCE_LENGTH - 7): f"the reference is {MAX_REFERENCE_LENGTH + 1} "
    f"characters long; no valid reference is longer than {MAX_REFERENCE_LENGTH}",
    "quay.io/a@sha256:" + "A" * 64: "invalid digest format: sha256 hex digits must be lower case",
    # An upper-case algorithm passes the reference grammar, not go-digest's.
    "quay.io/a:1@Foo:" + "a" * 32: f"invalid digest format: 'Foo:{'a' * 32}'",
    "quay.io/a@sha256:" + "a" * 63: "invalid digest length: a sha256 digest has 64 hex digits, "
    "not 63",
    "quay.io/a@foo+bar:" + "a" * 32: "unsupported digest algorithm 'foo+bar' (sha256, sha384 or "
    "sha512 expected)",
    "quay.io/a@md5:abc": "invalid reference format: invalid digest 'md5:abc'",
    "quay.io/app:": f"invalid reference format: invalid tag '' {TAG_RULE}",
    "quay.io/app:.bad": f"invalid reference format: invalid tag '.bad' {TAG_RULE}",
    # The tag is after the first colon of the last path component ...
    "quay.io/app:1:2": f"invalid reference format: invalid tag '1:2' {TAG_RULE}",
    # ... and a colon before the last slash is part of the name.
    "quay.io/b:c/d": "invalid reference format: invalid repository name 'quay.io/b:c/d'",
    "quay.io//app": "invalid reference format: empty path component",
    "quay.io/a/:1": "invalid reference format: empty path component",
    ":tag": "invalid reference format: the repository name is missing",
}


@pytest.mark.parametrize("text", sorted(CASES), ids=lambda text: text[:40] or "empty")
def test_refusal_message(text: str) -> None:
    with pytest.raises(ReferenceError) as caught:
        parse_reference(text)
    assert str(caught.value) == CASES[text]
