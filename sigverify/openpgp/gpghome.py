"""An isolated, throw-away GNUPGHOME and a safe way to run gpg in it.

sigverify never touches the user's keyring: every gpg call gets a private home created for
it, an argument list (no shell) and a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from sigverify.errors import BackendError
from sigverify.limits import GPG_TIMEOUT_SECONDS

__all__ = ["GpgHome", "GpgResult", "gpg_binary", "gpg_environment"]

_BASE_ARGS = ("--batch", "--no-tty", "--no-greeting", "--no-autostart", "--no-auto-key-locate")


def gpg_binary() -> str:
    """The gpg executable, from ``SIGVERIFY_GPG`` or ``PATH``."""
    configured = os.environ.get("SIGVERIFY_GPG")
    found = configured or shutil.which("gpg")
    if not found:
        raise BackendError("gpg was not found on PATH; install GnuPG (Debian package 'gnupg')")
    return found


@dataclass(frozen=True)
class GpgResult:
    returncode: int
    stdout: bytes
    stderr: bytes


class GpgHome:
    """A private GNUPGHOME that is removed on :meth:`close`."""

    def __init__(self, timeout: float = GPG_TIMEOUT_SECONDS) -> None:
        self.path = tempfile.mkdtemp(prefix="sigverify-gnupg-")
        os.chmod(self.path, 0o700)
        self.timeout = timeout
        self.binary = gpg_binary()

    def run(self, args: list[str], stdin: bytes = b"") -> GpgResult:
        """Run ``gpg ARGS`` in this home (argument list, no shell, with a timeout)."""
        command = [self.binary, "--homedir", self.path, *_BASE_ARGS, *args]
        try:
            done = subprocess.run(
                command,
                input=stdin,
                capture_output=True,
                env=gpg_environment(self.path),
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BackendError(f"gpg did not finish within {self.timeout:g} s") from exc
        except OSError as exc:
            raise BackendError(f"could not run gpg: {exc}") from exc
        return GpgResult(done.returncode, done.stdout, done.stderr)

    def close(self) -> None:
        # --no-autostart keeps gpg from starting an agent here; stop one if anything did.
        gpgconf = shutil.which("gpgconf")
        if gpgconf and any(name.startswith("S.") for name in os.listdir(self.path)):
            subprocess.run(
                [gpgconf, "--homedir", self.path, "--kill", "all"],
                capture_output=True,
                timeout=self.timeout,
                check=False,
                env=gpg_environment(self.path),
            )
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> GpgHome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def gpg_environment(home: str) -> dict[str, str]:
    """A minimal environment for gpg: no agent sockets or options of the caller leak in."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ")}
    env["GNUPGHOME"] = home
    env["LC_ALL"] = "C"
    return env
