"""``-o/--output text|json|yaml``: the formats and how plain data is printed in them.

Without click, so that the file-mode fast path (:mod:`sigverify.cli._fast_verify`) can print.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["OUTPUT_FORMATS", "dump_output"]

OUTPUT_FORMATS = ("text", "json", "yaml")


def dump_output(body: Any, output: str) -> str:
    """``body`` (plain data) as ``-o json`` or ``-o yaml`` prints it."""
    if output == "yaml":
        import yaml

        text: str = yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
        return text
    return json.dumps(body, indent=2) + "\n"
