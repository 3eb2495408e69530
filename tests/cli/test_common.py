"""What every subcommand shares: the error handler prints an error's diagnostics."""

from __future__ import annotations

import pytest

from sigverify.cli._common import EXIT_ERROR, handle_errors
from sigverify.errors import InputError


def _exit_of(error: Exception) -> int | str | None:
    @handle_errors
    def fail() -> None:
        raise error

    with pytest.raises(SystemExit) as caught:
        fail()
    return caught.value.code


def test_an_error_is_one_line_of_its_diagnostics(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_of(InputError("must be a string", path="kind")) == EXIT_ERROR
    assert capsys.readouterr().err == "sigverify: error: kind: must be a string\n"


def test_a_class_that_explains_more_is_printed_with_its_explanation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Explained(InputError):
        def diagnostics(self) -> str:
            return f"{self}; see docs/cli.md"

    assert _exit_of(Explained("no policy")) == EXIT_ERROR
    assert capsys.readouterr().err == "sigverify: error: no policy; see docs/cli.md\n"
