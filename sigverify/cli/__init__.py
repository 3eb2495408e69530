"""The ``sigverify`` command line. Each subcommand lives in its own module of this package,
imported only when that subcommand runs (:class:`~sigverify.cli._commands.LazyGroup`).

The common call, ``sigverify verify --policy P -f FILE``, runs without click
(:mod:`sigverify.cli._fast_verify`); every other call goes through the click group
:data:`cli`, which is built on first use.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from sigverify.cli._fast_verify import FileModeCall
    from sigverify.cli._group import cli

__all__ = ["cli", "main"]


def __getattr__(name: str) -> Any:
    if name == "cli":  # built on first use: importing click costs a third of a verify
        from sigverify.cli._group import cli

        globals()["cli"] = cli
        return cli
    raise AttributeError(f"module 'sigverify.cli' has no attribute {name!r}")


def main() -> None:
    # The start-up of a file-mode verify allocates some hundred thousand objects (modules,
    # classes, the policy, the keys, the document) that all live until the process ends:
    # the cyclic collector would walk them some 35 times while they load and once more at
    # exit, for nothing (7 % of the call's instructions). So it is off until they are
    # loaded, then they are frozen out of its reach (gc.freeze) and it is on again for the
    # verification itself. Any other command (serve, reconcile: long-running) gets the
    # collector as it was, before anything is imported.
    gc.disable()
    if sys.argv[1:2] == ["verify"]:  # the one command with a fast path: the others import none
        from sigverify.cli._fast_verify import parse_file_mode

        call = parse_file_mode(sys.argv[1:], os.environ)
        if call is not None:
            _verify_file(call)
    gc.enable()
    from sigverify.cli._group import cli

    cli(prog_name="sigverify")


def _verify_file(call: FileModeCall) -> NoReturn:
    """What the click command runs for this call, with the same error handling."""
    from sigverify.cli._failures import handle_errors
    from sigverify.cli._file_mode import finish, load_inputs

    @handle_errors
    def run() -> NoReturn:
        try:
            inputs = load_inputs(call.policy, call.keys, call.document, call.backend)
            gc.freeze()
        finally:
            gc.enable()
        finish(inputs, call.expected_identity, call.output, call.write_to)

    run()
