"""The one family of errors sigverify raises.

Faces map each class to an outcome exactly once: the CLI to an exit code, the HTTP API to a
status. Low-level exceptions are wrapped at the boundary with ``raise ... from exc``.

A leaf: this module imports nothing of the project. The refusal of one signature blob, which
carries a reason code, is :class:`sigverify.core.verdict.SignatureRejected`, beside the codes.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ClusterError",
    "ConflictError",
    "InputError",
    "NotFoundError",
    "PolicyError",
    "SigverifyError",
    "UntrustedImage",
]


class SigverifyError(Exception):
    """Root of every error sigverify raises on purpose."""

    def diagnostics(self) -> str:
        """A longer, human explanation; defaults to the message."""
        return str(self)


class InputError(SigverifyError):
    """A document, flag, file or HTTP body that is malformed. ``path`` names where."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class PolicyError(SigverifyError):
    """A trust policy (or a key it names) that cannot be used. Never a silent pass."""


class BackendError(SigverifyError):
    """The verification machinery itself failed (gpg missing, timed out, crashed)."""


class UntrustedImage(SigverifyError):
    """Raised by the gate API when an image does not satisfy the policy."""


class ClusterError(SigverifyError):
    """The image API (an OpenShift cluster or the embedded store) could not answer."""


class NotFoundError(ClusterError):
    """The object asked for does not exist."""


class ConflictError(ClusterError):
    """A write lost an optimistic-concurrency race (stale resourceVersion)."""
