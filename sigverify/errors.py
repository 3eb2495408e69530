"""The one family of errors sigverify raises.

Faces map each class to an outcome exactly once: the CLI to an exit code, the HTTP API to a
status. Low-level exceptions are wrapped at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

from sigverify.core.verdict import Reason

__all__ = [
    "BackendError",
    "ClusterError",
    "ConflictError",
    "InputError",
    "NotFoundError",
    "PolicyError",
    "SignatureRejected",
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


class SignatureRejected(SigverifyError):
    """One signature blob was not accepted. ``reason`` is the stable reason code.

    ``key_id`` (UnknownKey only) is the 64-bit key ID, 16 upper-case hex, that the blob names
    as its issuer: an unauthenticated claim, for reports ("signed by unknown 0x…").
    """

    def __init__(self, reason: Reason, message: str, *, key_id: str | None = None) -> None:
        self.reason = reason
        self.key_id = key_id.upper()[-16:] if key_id else None
        super().__init__(message)


class UntrustedImage(SigverifyError):
    """Raised by the gate API when an image does not satisfy the policy."""


class ClusterError(SigverifyError):
    """The image API (an OpenShift cluster or the embedded store) could not answer."""


class NotFoundError(ClusterError):
    """The object asked for does not exist."""


class ConflictError(ClusterError):
    """A write lost an optimistic-concurrency race (stale resourceVersion)."""
