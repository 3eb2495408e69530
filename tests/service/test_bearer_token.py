"""``bearer_token`` refuses a token with whitespace inside by one ``str.split`` (issue 12):
the same characters as ``str.isspace``, checked over every code point."""

from __future__ import annotations

import sys

import pytest

from sigverify.service.auth.gate import bearer_token


@pytest.mark.slow
def test_whitespace_inside_a_token_is_what_isspace_says() -> None:
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates never reach a header
        char = chr(code)
        expected = None if char.isspace() else f"a{char}b"
        assert bearer_token(f"Bearer a{char}b") == expected, hex(code)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc  ", "abc"),
        ("Bearer a b", None),
        ("Bearer a\u00a0b", None),
        ("Bearer a\u2028b", None),
        ("Bearer a\u200bb", "a\u200bb"),  # zero-width space is not whitespace to str.isspace
        ("Bearer ", None),
        ("Basic abc", None),
        (None, None),
    ],
)
def test_examples(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
