"""marshmallow fields that refuse what the stock ones coerce (``"yes"`` → True, ``"1"`` → 1.0)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields

__all__ = ["StrictBoolean", "StrictNumber"]


class StrictBoolean(fields.Field[bool]):
    """Only JSON ``true``/``false``."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


class StrictNumber(fields.Field[float]):
    """Only JSON numbers (booleans are not numbers), returned as float."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Not a valid number.")
        return float(value)
