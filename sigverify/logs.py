"""Log lines: text for a terminal, JSON (one object a line) for a log collector.

Modules log an event as a short message plus fields (``extra={"fields": {...}}``); the
formatter chosen here (``--log-format``) renders the fields as ``key=value`` pairs after the
message or as members of the JSON object. Nothing here decides what is logged.
"""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "fields_of",
    "logging_config",
]

LOG_FORMATS = ("text", "json")
_TEXT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"


def fields_of(record: logging.LogRecord) -> Mapping[str, Any]:
    """The structured fields a record carries (``extra={"fields": …}``), else none."""
    found = getattr(record, "fields", None)
    return found if isinstance(found, Mapping) else {}


def _text_value(value: Any) -> str:
    if isinstance(value, str) and value and not any(c.isspace() or c in '"=' for c in value):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


class TextFormatter(logging.Formatter):
    """``time [pid] [LEVEL] logger: message key=value …``."""

    def __init__(self) -> None:
        super().__init__(_TEXT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = " ".join(f"{k}={_text_value(v)}" for k, v in fields_of(record).items())
        return f"{line} {pairs}" if pairs else line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, RFC 3339), level, logger, pid, message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in fields_of(record).items():
            body.setdefault(key, value)
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, separators=(",", ":"))


def logging_config(level: str, log_format: str, *, access_log: bool = False) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for sigverify's loggers and gunicorn's.

    gunicorn's error log goes through the same formatter; its access log only when
    ``access_log`` (one line per HTTP request is noise at any level below debug).
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": {"()": formatter}},
        "handlers": {"main": handler},
        "root": {"level": level.upper(), "handlers": ["main"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["main"], "propagate": False},
            "gunicorn.access": {
                "level": "INFO" if access_log else "CRITICAL",
                "handlers": ["main"],
                "propagate": False,
            },
        },
    }


def configure_logging(level: str, log_format: str) -> None:
    """Configure this process's logging (the CLI's commands).

    Like :func:`logging.basicConfig`, it leaves a logging that is already set up alone (a
    program embedding the command, a test runner) but for its level.
    """
    root = logging.getLogger()
    if root.handlers:
        root.setLevel(level.upper())
        return
    logging.config.dictConfig(logging_config(level, log_format))
