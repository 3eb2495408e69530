"""Every error of the ``sigverify`` command on one line: ``sigverify: error: …``, exit 2.

click prints a usage error as a usage line, a hint and the message (three or four lines);
:class:`OneLineErrors` prints the message alone, naming the help to read, as the errors of
the commands themselves are printed (:func:`sigverify.cli._common.handle_errors`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from sigverify.cli._commands import LazyGroup

__all__ = ["EXIT_USAGE", "OneLineErrors", "one_line"]

EXIT_USAGE = 2
# click ≥ 8.2 raises it (a UsageError) for a group called without a command.
_NO_ARGS_IS_HELP: type[click.UsageError] = getattr(
    click.exceptions, "NoArgsIsHelpError", type("_Never", (click.UsageError,), {})
)


def one_line(text: str) -> str:
    return " ".join(text.split())


def _fail(message: str) -> NoReturn:
    click.echo(f"sigverify: error: {one_line(message)}", err=True)
    sys.exit(EXIT_USAGE)


class OneLineErrors(LazyGroup):
    """The top-level group: click's standalone handling, with one-line errors."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.Exit as exc:  # --help, --version
            sys.exit(exc.exit_code)
        except _NO_ARGS_IS_HELP as exc:  # a group called alone: its help, as kubectl does
            if exc.ctx is not None:
                click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _fail(exc.format_message() + hint)
        except click.ClickException as exc:
            _fail(exc.format_message())
        except click.Abort:
            click.echo("sigverify: interrupted", err=True)
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)
