"""The contract every OpenPGP verification backend meets.

A backend is built from a :class:`~sigverify.openpgp.keyring.Keyring` (the policy's keys and no
others) and turns a signature blob into a :class:`VerifiedMessage` or raises
:class:`~sigverify.errors.SignatureRejected` with a stable reason. Backends never look at
the payload's meaning: that is the engine's job, after the crypto has succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from sigverify.core.verdict import Signer

__all__ = ["SignatureBackend", "VerifiedMessage"]


@dataclass(frozen=True)
class VerifiedMessage:
    """A signed message whose signature verified with a valid key of the keyring."""

    payload: bytes
    signer: Signer
    signature_created: datetime
    signature_expires: datetime | None = None


@runtime_checkable
class SignatureBackend(Protocol):
    """Verifies one atomic-signature blob (a binary OpenPGP signed message)."""

    name: str

    def verify(self, blob: bytes, *, now: datetime) -> VerifiedMessage:
        """Verify ``blob`` as of ``now``.

        Raises ``SignatureRejected`` (reason: UnknownKey, InvalidSignature, NoSignature,
        MultipleSignatures, KeyExpired, KeyRevoked or SignatureExpired) when it is not a
        good signature by a currently valid key of the keyring; ``BackendError`` when the
        backend itself failed.
        """
        ...

    def close(self) -> None:
        """Release resources (temporary GNUPGHOME, processes)."""
        ...
