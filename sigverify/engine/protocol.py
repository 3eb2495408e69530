"""What the faces and the write-back need of the engine, as a protocol.

:class:`sigverify.engine.verifier.Verifier` is the implementation; the admission controller,
the condition writer and the reconciler take any object of this shape, so a test can hand
them a faithful double and a policy reload can hand them the next verifier.
"""

from __future__ import annotations

from typing import Protocol

from sigverify.core.verdict import ImageVerdict
from sigverify.objects.types import Image

__all__ = ["ImageVerifier"]


class ImageVerifier(Protocol):
    """Verifies Images against one policy and keyring, named by :attr:`revision`."""

    @property
    def revision(self) -> str:
        """Changes whenever the policy, any of its keys or the backend changes."""
        ...

    def verify_image(
        self, image: Image, *, expected_identity: str | None = None
    ) -> ImageVerdict: ...
