"""The ``sigverify`` group: each subcommand's module is imported only when that command runs.

A call pays for the command it runs and nothing else (``python -X importtime``): the names and
one-line helps ``sigverify --help`` lists are written here, so listing them imports nothing.
tests/cli/test_lazy_commands.py checks that each line matches its command's own help.
"""

from __future__ import annotations

import importlib
from typing import Final

import click

__all__ = ["COMMANDS", "LazyGroup", "register"]

#: name → (module exposing a click ``command``, the short help ``--help`` lists).
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "audit": (
        "sigverify.cli.audit",
        "Report what the images of a cluster or store are signed with, by whom, and which "
        "ones the policy would deny. Read-only.",
    ),
    "demo": (
        "sigverify.cli.demo",
        "Verify every sample image in examples/demo against policies/demo.yaml.",
    ),
    "reconcile": (
        "sigverify.cli.reconcile",
        "List every Image (paginated), verify it, and write the conditions back when they "
        "changed or their probe is stale; then again every --interval until interrupted.",
    ),
    "serve": (
        "sigverify.cli.serve",
        "Serve the verification API (gunicorn; SIGHUP reloads policy and keys).",
    ),
    "store": (
        "sigverify.cli.store",
        "Seed and inspect the embedded image store (used when no cluster is given).",
    ),
    "verify": ("sigverify.cli.verify", "Verify an image's signatures against a trust policy."),
}


class LazyGroup(click.Group):
    """A group whose subcommands come from :data:`COMMANDS`, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is not None:
            return command
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = importlib.import_module(entry[0]).command
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry[0]}.command is not a click command")
        self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click.Group would import every module for its short help; these lines are static.
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl(
                [
                    (name, click.Command(name, help=text).get_short_help_str(limit))
                    for name, text in rows
                ]
            )


def register(group: click.Group) -> None:
    """Resolve every subcommand on ``group`` now (for callers that list ``group.commands``)."""
    for name in COMMANDS:
        if isinstance(group, LazyGroup):
            group.get_command(click.Context(group), name)
        else:
            group.add_command(importlib.import_module(COMMANDS[name][0]).command, name)
