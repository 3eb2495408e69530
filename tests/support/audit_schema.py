"""The published JSON Schema of ``sigverify audit -o json`` (docs/audit-report.schema.json),
and a strict check that a report matches it with every member documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "audit-report.schema.json"


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return loaded


def strict(node: Any) -> Any:
    """The schema with no undocumented member allowed anywhere (the published one lets a
    reader ignore members added later; the tests make sure every member is documented)."""
    if isinstance(node, dict):
        out = {key: strict(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            out.setdefault("unevaluatedProperties", False)
        return out
    if isinstance(node, list):
        return [strict(value) for value in node]
    return node


def validate_report(body: dict[str, Any]) -> None:
    """``body`` is a v2 report, every member of it documented in the schema."""
    jsonschema.validate(body, strict(schema()), cls=jsonschema.Draft202012Validator)
