"""Times as metav1.Time reads and writes them, and reading from standard input."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigverify.objects.documents import DocumentError, parse_document_bytes, read_document_file
from sigverify.objects.types import format_time, parse_time
from tests.objects.samples import DIGEST


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-03-17T18:12:57Z", datetime(2016, 3, 17, 18, 12, 57, tzinfo=UTC)),
        ("2016-03-17T18:12:57+01:00", datetime(2016, 3, 17, 17, 12, 57, tzinfo=UTC)),
        ("2016-03-17T18:12:57-00:30", datetime(2016, 3, 17, 18, 42, 57, tzinfo=UTC)),
        ("2016-03-17T18:12:57.5Z", datetime(2016, 3, 17, 18, 12, 57, 500000, tzinfo=UTC)),
        ("2016-03-17T18:12:57.123456789Z", datetime(2016, 3, 17, 18, 12, 57, 123456, tzinfo=UTC)),
        ("0999-01-01T00:00:00Z", datetime(999, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


NOT_RFC3339 = "is not an RFC 3339 time"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2016-03-17", NOT_RFC3339),
        ("2016-03-17t18:12:57z", NOT_RFC3339),
        ("2016-03-17T18:12:57", NOT_RFC3339),
        ("2016-03-17T18:12Z", NOT_RFC3339),
        ("2016-03-17T18:12:57.Z", NOT_RFC3339),
        (" 2016-03-17T18:12:57Z", NOT_RFC3339),
        ("2016-03-17T24:00:00Z", f"{NOT_RFC3339}: hour must be in 0..23"),
        ("2016-03-17T18:12:57+24:00", "has an invalid UTC offset"),
        ("0001-01-01T00:00:00+01:00", "is out of range"),
    ],
)
def test_parse_time_refuses(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_time(text)
    assert str(caught.value) == f"{text!r} {problem}"


def test_format_time() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_time(datetime(2026, 11, 27, 9, 0, 0, 999999, tzinfo=plus_two)) == (
        "2026-11-27T07:00:00Z"
    )
    assert format_time(datetime(2026, 11, 27, 7, 0, 0)) == "2026-11-27T07:00:00Z"
    assert format_time(datetime(5, 1, 2, tzinfo=UTC)) == "0005-01-02T00:00:00Z"


@given(st.datetimes(timezones=st.just(UTC)))
def test_format_then_parse_gives_whole_seconds(value: datetime) -> None:
    assert parse_time(format_time(value)) == value.replace(microsecond=0)


def test_utf8_bom_is_skipped() -> None:
    data = b"\xef\xbb\xbf" + json.dumps({"metadata": {"name": DIGEST}}).encode()
    assert parse_document_bytes(data, source="bom.json").name == DIGEST


def test_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    data = f"metadata:\n  name: '{DIGEST}'\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert read_document_file("-").name == DIGEST


def test_dash_errors_name_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(DocumentError) as caught:
        read_document_file("-")
    assert str(caught.value) == "<stdin>: document is empty"
