"""Structured JSON logs, one object per line, carrying the current request or job id.

:func:`bind` sets the id in a context variable for the duration of a request
or job (the API middleware and the worker call it); :class:`JsonFormatter`
puts it, the level, the logger, the message and any ``extra`` fields into
each line. :func:`configure` installs the formatter on the root logger.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

#: LogRecord attributes that are not ``extra`` fields.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime", "taskName"}
)


@contextmanager
def bind(identifier: str | None = None, *, prefix: str = "req") -> Iterator[str]:
    """Set the request/job id for the enclosed block (a new one when not given)."""
    value = identifier or f"{prefix}-{uuid.uuid4().hex[:16]}"
    token = correlation_id.set(value)
    try:
        yield value
    finally:
        correlation_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = correlation_id.get()
        if current is not None:
            doc["id"] = current
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def configure(level: int | str = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """Log JSON lines to ``stream`` (stderr) from the root logger; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
