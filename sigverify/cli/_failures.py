"""How every subcommand ends on an error: its diagnostics on stderr and an exit status.

Without a module-level click import, so that the file-mode fast path
(:mod:`sigverify.cli._fast_verify`) ends its errors exactly as the click commands do: click is
imported only when there is an error to print (``click.echo``, as ever, so the bytes written
are the same).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from sigverify.errors import SigverifyError

__all__ = ["EXIT_ERROR", "EXIT_TRUSTED", "EXIT_UNTRUSTED", "F", "handle_errors"]

EXIT_TRUSTED = 0
EXIT_UNTRUSTED = 1
EXIT_ERROR = 2

F = TypeVar("F", bound=Callable[..., Any])


def _echo_error(message: str) -> None:
    import click

    click.echo(message, err=True)


def _is_click_exception(exc: Exception) -> bool:
    # An exception can only be click's if click is loaded: never import it to find out.
    click = sys.modules.get("click")
    return click is not None and isinstance(exc, click.ClickException)


def handle_errors(function: F) -> F:
    """Turn every sigverify error into its diagnostics on stderr and exit status 2.

    No traceback. :meth:`SigverifyError.diagnostics` is the message unless a class says more,
    so every error today is one line.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except SigverifyError as exc:
            _echo_error(f"sigverify: error: {exc.diagnostics()}")
            sys.exit(EXIT_ERROR)
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, never report success.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except KeyboardInterrupt:
            _echo_error("sigverify: interrupted")
            sys.exit(130)
        except Exception as exc:
            if _is_click_exception(exc):
                # A usage error raised by the command's own checks: the group prints it on
                # one line (cli._usage.OneLineErrors), never as an internal error.
                raise
            if os.environ.get("SIGVERIFY_DEBUG"):
                raise
            _echo_error(
                f"sigverify: internal error: {type(exc).__name__}: {exc} "
                "(set SIGVERIFY_DEBUG=1 for a traceback)"
            )
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]
