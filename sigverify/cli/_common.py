"""What every subcommand shares: error handling, exit codes, and building a Verifier."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from sigverify.engine.verifier import BACKENDS, Verifier
from sigverify.errors import SigverifyError
from sigverify.policyfile.holder import load_verifier

__all__ = [
    "EXIT_ERROR",
    "EXIT_TRUSTED",
    "EXIT_UNTRUSTED",
    "backend_option",
    "build_verifier",
    "handle_errors",
]

EXIT_TRUSTED = 0
EXIT_UNTRUSTED = 1
EXIT_ERROR = 2

F = TypeVar("F", bound=Callable[..., Any])


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
            click.echo(f"sigverify: error: {exc.diagnostics()}", err=True)
            sys.exit(EXIT_ERROR)
        except click.ClickException:
            # A usage error raised by the command's own checks: the group prints it on one
            # line (cli._usage.OneLineErrors), never as an internal error.
            raise
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, never report success.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except KeyboardInterrupt:
            click.echo("sigverify: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("SIGVERIFY_DEBUG"):
                raise
            click.echo(
                f"sigverify: internal error: {type(exc).__name__}: {exc} "
                "(set SIGVERIFY_DEBUG=1 for a traceback)",
                err=True,
            )
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def backend_option(function: F) -> F:
    return click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default="auto",
        show_default=True,
        envvar="SIGVERIFY_BACKEND",
        help="OpenPGP implementation: gnupg (reference), native (in-process), auto.",
    )(function)


def build_verifier(policy: str, keys: str | None, backend: str) -> Verifier:
    """Load the policy (and only the keys it names) and start the backend over them."""
    return load_verifier(policy, keys, backend)[1]
