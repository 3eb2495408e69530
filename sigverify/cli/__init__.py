"""The ``sigverify`` command line. Each subcommand lives in its own module of this package."""

from __future__ import annotations

import click

from sigverify import __version__

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sigverify")
def cli() -> None:
    """Verify OpenShift image signatures against a trust policy."""


def main() -> None:
    from sigverify.cli import _commands

    _commands.register(cli)
    cli(prog_name="sigverify")
