"""Log output: the seed's plain lines, or one JSON object per line (``LOG_FORMAT=json``).

Job lines carry ``job_id`` and ``job_type`` as fields (the status middleware logs through an
adapter that adds them), so a log pipeline can follow one job across web and worker processes.
The web process configures logging at start-up (``configure_logging``); worker processes, whose
logging ``dramatiq`` sets up, switch format in the ``LogFormat`` middleware's boot hook.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import dramatiq
from dramatiq.middleware import Middleware

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JOB_FIELDS = ("job_id", "job_type")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        entry.update({name: getattr(record, name) for name in _JOB_FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(log_format: str) -> None:
    """Give the root logger a handler in ``log_format`` ("text" or "json") if it has none, and
    switch the format of the handlers it has."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=PLAIN_FORMAT)
        # Hypercorn's loggers have handlers of their own: without this, each line shows twice.
        for name in ("hypercorn.error", "hypercorn.access"):
            logging.getLogger(name).propagate = False
    if log_format == "json":
        for handler in root.handlers:
            handler.setFormatter(JsonFormatter())


class LogFormat(Middleware):
    """Applies ``LOG_FORMAT`` in each worker process once ``dramatiq`` has set up its logging."""

    def __init__(self, *, log_format: str) -> None:
        self.log_format = log_format

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        configure_logging(self.log_format)
