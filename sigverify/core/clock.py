"""The default clock of everything that stamps times: now, in UTC, to the whole second.

Whole seconds because that is what a ``metav1.Time`` keeps: a time read back from the
cluster equals the one written. Every user takes a ``clock`` parameter defaulting to
:func:`utcnow`, so tests pass a fixed clock instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """The current time in UTC, microseconds dropped."""
    return datetime.now(UTC).replace(microsecond=0)
