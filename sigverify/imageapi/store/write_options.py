"""The query options of a write, as kube-apiserver reads them: ``dryRun`` and ``fieldValidation``.

- ``dryRun=All`` (repeatable): check and answer, store nothing. Any other value is a 400.
- ``fieldValidation``: what a field the type does not declare does — ``Ignore`` (nothing),
  ``Warn`` (the default: a ``Warning: 299`` header per field, which kubectl prints),
  ``Strict`` (a 400 "strict decoding error: unknown field …"). Any other value is a 400.
  **Ours**: the store is lossless, so an Image may already hold members its type does not
  declare; only fields the write *adds* count (a PUT that sends back what it read, or a
  patch of an Image that has such members, is not refused for them). Duplicate fields are
  always a 400 (the strict reader), whatever ``fieldValidation`` says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from sigverify.imageapi.errors import BadRequestError
from sigverify.imageapi.store.kube_openapi import unknown_fields

__all__ = ["FieldValidation", "dry_run", "field_validation"]

_DIRECTIVES = ("Ignore", "Warn", "Strict")


def dry_run(args: MultiDict[str, str]) -> bool:
    """``?dryRun=All``; BadRequestError for any other value."""
    values = args.getlist("dryRun")
    for value in values:
        if value != "All":
            raise BadRequestError(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


class FieldValidation:
    """One write's ``fieldValidation``, and the warnings it gathered."""

    def __init__(self, directive: str) -> None:
        self.directive = directive
        self.warnings: list[str] = []

    def check(
        self,
        obj: Any,
        kind: str,
        before: Callable[[], Mapping[str, Any] | None] = lambda: None,
    ) -> None:
        """Refuse (Strict) or note (Warn) the fields of ``obj`` its type does not declare and
        ``before()`` (the stored object, read only when needed) did not hold."""
        if self.directive == "Ignore":
            return
        found = unknown_fields(obj, kind)
        if not found:
            return
        stored = before()
        if stored is not None:
            known = set(unknown_fields(stored, kind, limit=10_000))
            found = [field for field in found if field not in known]
        if not found:
            return
        words = [f'unknown field "{field}"' for field in found]
        if self.directive == "Strict":
            raise BadRequestError("strict decoding error: " + ", ".join(words))
        self.warnings.extend(words)

    def headers(self) -> list[tuple[str, str]]:
        """``Warning`` headers (RFC 7234 §5.5, code 299), as kube-apiserver sends them."""
        return [("Warning", '299 - "' + w.replace('"', '\\"') + '"') for w in self.warnings]


def field_validation(args: MultiDict[str, str]) -> FieldValidation:
    """``?fieldValidation=``; BadRequestError for a value that is not one of the three."""
    value = args.get("fieldValidation", "") or "Warn"
    if value not in _DIRECTIVES:
        raise BadRequestError(
            f'fieldValidation: Unsupported value: "{value}": supported values: '
            '"Ignore", "Strict", "Warn"'
        )
    return FieldValidation(value)
