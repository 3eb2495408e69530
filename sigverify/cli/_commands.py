"""Registers every subcommand on the ``sigverify`` group (one import per subcommand module)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the subcommands; each module exposes a ``command`` (or ``commands``)."""
