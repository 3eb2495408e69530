"""The ``sigverify`` command line. Each subcommand lives in its own module of this package,
imported only when that subcommand runs (:class:`~sigverify.cli._commands.LazyGroup`)."""

from __future__ import annotations

import click

from sigverify import __version__
from sigverify.cli._usage import OneLineErrors

__all__ = ["cli", "main"]


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sigverify")
def cli() -> None:
    """Verify OpenShift image signatures against a trust policy."""


def main() -> None:
    cli(prog_name="sigverify")
