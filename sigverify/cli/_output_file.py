"""``--output-file PATH``: a report written whole to a file, or not at all.

Checked before the (possibly long) audit starts, written to a temporary file beside PATH and
renamed over it, so a failed run never leaves half a report where the last one was."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from sigverify.errors import InputError

__all__ = ["check_output_file", "write_output"]


def check_output_file(path: str | None) -> None:
    """Refuse, before any work, a PATH that cannot be written."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise InputError(f"--output-file {path}: is a directory")
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"--output-file {path}: no such directory {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"--output-file {path}: the directory {folder} is not writable")


def write_output(text: str, path: str | None) -> None:
    """``text`` to standard output (``path`` None) or, whole, to ``path``."""
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(path)
    temporary: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False
        ) as handle:
            temporary = Path(handle.name)
            handle.write(text)
        temporary.chmod(0o666 & ~_umask())  # as a file the shell would create
        os.replace(temporary, target)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise InputError(f"--output-file {path}: {exc.strerror or exc}") from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
