"""Log output of ``skybatch serve``: human text (default) or one JSON object per line.

JSON lines carry ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, and
the context fields the code passes with ``extra=`` where it has them (see
:data:`CONTEXT_FIELDS`), so a log pipeline can follow one job or attempt::

    log.info("job %s launched", job.id, extra=log_fields(job_id=job.id, cloud="aws"))
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

#: The record attributes a JSON line carries when a log call set them.
CONTEXT_FIELDS = ("job_id", "attempt_id", "tenant", "cloud", "region", "node_id")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_fields(**fields: object) -> dict[str, object]:
    """``extra=`` for a log call: the context fields that are set (empty ones dropped)."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"not a log context field: {sorted(unknown)}")
    return {k: v for k, v in fields.items() if v not in (None, "")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure_logging(
    fmt: str = "text", *, verbose: bool = False, stream: TextIO | None = None
) -> None:
    """Set the root logger's one handler (replacing any): ``fmt`` is ``text`` or ``json``."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, not {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
