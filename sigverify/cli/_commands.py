"""Registers every subcommand on the ``sigverify`` group (one import per subcommand module)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the subcommands; each module exposes a click ``command``."""
    from sigverify.cli import demo, verify

    group.add_command(verify.command)
    group.add_command(demo.command)

    from sigverify.cli import reconcile, serve, store

    group.add_command(serve.command)
    group.add_command(store.command)
    group.add_command(reconcile.command)

    from sigverify.cli import audit

    group.add_command(audit.command)
