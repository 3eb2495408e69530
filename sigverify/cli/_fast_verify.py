"""``sigverify verify --policy P -f FILE``, the common call, without importing click.

click costs a third of such a call's start-up (issue 12: the call against skopeo's). This
module reads the arguments of that call only, in the plainest spellings click accepts:
``--policy``, ``--keys``, ``-f/--file``, ``--expected-identity``, ``-o/--output``,
``--write`` and ``--backend``, each at most once, as ``--name VALUE``, ``--name=VALUE`` or
``-f VALUE`` / ``-o VALUE``. Anything else (a reference, another option, ``--help``, a value
click would refuse or read differently, an environment variable click reads) makes
:func:`parse_file_mode` answer None, and the click command decides as ever. What it accepts,
click parses to the same values (tests/cli/test_fast_verify.py compares the two on generated
arguments), and both run :func:`sigverify.cli._file_mode.verify_file`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from typing import NamedTuple

__all__ = ["CLICK_ENVIRONMENT", "OPTIONS", "FileModeCall", "parse_file_mode"]

#: Each accepted spelling → the parameter of ``verify`` it sets.
OPTIONS: dict[str, str] = {
    "--policy": "policy",
    "--keys": "keys",
    "-f": "document",
    "--file": "document",
    "--expected-identity": "expected_identity",
    "-o": "output",
    "--output": "output",
    "--write": "write_to",
    "--backend": "backend",
}
#: Where '-' is a value (stdin, stdout), not the start of an option.
_DASH_MEANS_STREAM = frozenset({"document", "write_to"})
#: The environment click reads for ``verify`` (``--backend``'s default) and for the group (a
#: shell-completion request): when one is set, click handles the call.
CLICK_ENVIRONMENT = ("SIGVERIFY_BACKEND", "_SIGVERIFY_COMPLETE")


class FileModeCall(NamedTuple):
    """The parameters of a file-mode ``verify``, as the click command receives them.

    (A named tuple, not a dataclass: ``dataclasses`` would cost every other command, such
    as ``--help``, its import of ``inspect``.)"""

    policy: str
    keys: str | None = None
    document: str | None = None
    backend: str = "auto"
    expected_identity: str | None = None
    output: str = "text"
    write_to: str | None = None


def parse_file_mode(args: Sequence[str], environ: Mapping[str, str]) -> FileModeCall | None:
    """The file-mode call ``args`` (``sys.argv[1:]``) asks for, or None to leave it to click."""
    if not args or args[0] != "verify" or any(name in environ for name in CLICK_ENVIRONMENT):
        return None
    values = _option_values(args[1:])
    if values is None or "policy" not in values:
        return None
    call = FileModeCall(**values)
    return call if _click_accepts(call) else None


def _option_values(tokens: Sequence[str]) -> dict[str, str] | None:
    values: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.startswith("--") and "=" in token:
            name, value = token.split("=", 1)
            index += 1
        elif index + 1 < len(tokens):
            name, value = token, tokens[index + 1]
            index += 2
        else:
            return None
        field = OPTIONS.get(name)
        if field is None or field in values or not _plain_value(value, field):
            return None
        values[field] = value
    return values


def _plain_value(value: str, field: str) -> bool:
    """Not empty, and not what click might read as an option (the dash of stdin aside)."""
    if value == "-":
        return field in _DASH_MEANS_STREAM
    return bool(value) and not value.startswith("-")


def _click_accepts(call: FileModeCall) -> bool:
    """The checks of click's types on these options (``Choice``, ``Path``): when one fails,
    click prints its own error."""
    from sigverify.cli._output import OUTPUT_FORMATS
    from sigverify.engine.verifier import BACKENDS

    return (
        call.output in OUTPUT_FORMATS
        and call.backend in BACKENDS
        and _path_accepted(call.policy, dir_okay=False)
        and (call.keys is None or _path_accepted(call.keys, file_okay=False))
    )


def _path_accepted(path: str, *, file_okay: bool = True, dir_okay: bool = True) -> bool:
    """As ``click.Path(file_okay=…, dir_okay=…)`` (readable, need not exist) decides."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return True
    if (not file_okay and stat.S_ISREG(mode)) or (not dir_okay and stat.S_ISDIR(mode)):
        return False
    return os.access(path, os.R_OK)
