"""What every subcommand shares: error handling, exit codes, and building a Verifier."""

from __future__ import annotations

import click

from sigverify.cli._failures import EXIT_ERROR, EXIT_TRUSTED, EXIT_UNTRUSTED, F, handle_errors
from sigverify.engine.verifier import BACKENDS, Verifier
from sigverify.policyfile.holder import load_verifier

__all__ = [
    "EXIT_ERROR",
    "EXIT_TRUSTED",
    "EXIT_UNTRUSTED",
    "F",
    "backend_option",
    "build_verifier",
    "handle_errors",
]


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
