"""The errors of the signature sources: a registry or lookaside that cannot answer."""

from __future__ import annotations

from sigverify.errors import ClusterError

__all__ = ["SourceError"]


class SourceError(ClusterError):
    """A registry (or its token service) could not be reached, refused us, or answered with
    something that cannot be used: never a trust. The CLI exits 2 with this one line; the
    HTTP faces map it as they map an image API that cannot answer."""
