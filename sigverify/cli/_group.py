"""The ``sigverify`` click group (:data:`sigverify.cli.cli`)."""

from __future__ import annotations

import click

from sigverify import __version__
from sigverify.cli._usage import OneLineErrors

__all__ = ["cli"]


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sigverify")
def cli() -> None:
    """Verify OpenShift image signatures against a trust policy."""
