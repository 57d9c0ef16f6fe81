"""The server's log format: readable text, or one JSON object per line for a log pipeline.

``configure_logging(level=..., log_format=...)`` sets the root handler once
(the CLI calls it; ``--log-format``, ``LEGATO_LOG_FORMAT`` or the config's
``log.format`` choose). A JSON line carries:

* ``time`` (RFC 3339, UTC, milliseconds), ``level``, ``logger``, ``message``;
* ``namespace`` (or ``namespace_id`` where only the id is known),
  ``workflow_id``, ``run_id`` when the line was written on behalf of a
  workflow (``log_context``: set where an RPC or a history task starts);
* ``trace_id`` and ``span_id`` when an OpenTelemetry span is current (the
  OpenTelemetry API is a base dependency; with tracing off no span is valid
  and the fields are left out);
* ``exception`` with the traceback text, when there is one.

Every line is a complete JSON object even when the message holds newlines or
quotes; fields a line does not have are left out rather than empty.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from opentelemetry import trace

from legato_server.common import log_context

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _rfc3339(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = log_context.current.get()
        if fields is not None:
            for key in ("namespace", "namespace_id", "workflow_id", "run_id"):
                value = getattr(fields, key)
                if value:
                    line[key] = value
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            line["trace_id"] = format(span_context.trace_id, "032x")
            line["span_id"] = format(span_context.span_id, "016x")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def _rfc3339(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def configure_logging(*, level: str, log_format: str) -> None:
    """Send the root logger's records to stderr in ``log_format`` ("text" or "json") at ``level``."""
    if log_format not in ("text", "json"):
        raise ValueError(f"log format: expected text or json, got {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler], force=True)
    log_context.enabled = log_format == "json"
