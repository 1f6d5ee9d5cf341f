"""Log output: the seed's plain lines, or one JSON object per line (``LOG_FORMAT=json``), and in
either format one record is one line that no input can break or forge; and the filters that drop
Dramatiq's warnings about what the status middleware does on purpose.

Job lines carry ``job_id`` and ``job_type`` as fields (the status middleware logs through an
adapter that adds them), so a log pipeline can follow one job across web and worker processes.
The web process configures logging at start-up (``configure_logging``); worker processes, whose
logging ``dramatiq`` sets up, switch format in the ``LogFormat`` middleware's boot hook.

A request's path, an upload's file name or an exception's message may hold a newline: written as
it came, ``GET /healthz%0A[2030-…] … Job FORGED succeeded`` would start a line of its own that
reads like ours. ``TextFormatter`` escapes every control character of a record (``\\n``,
``\\x1b``, ``\\u2028``) and indents the lines of a traceback, so that only a record's first line
starts at column 0. JSON lines are escaped by ``json.dumps`` itself. ``server_logger`` gives
Hypercorn loggers that write through the same handlers (``python -m service.serve``), and
``configure_logging`` escapes what Hypercorn's own handlers write under plain ``hypercorn``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import dramatiq
from dramatiq.middleware import Middleware

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JOB_FIELDS = ("job_id", "job_type")
#: Hypercorn's loggers: its error log (start-up, failures) and its access log.
SERVER_LOGGERS = ("hypercorn.error", "hypercorn.access")
#: What a traceback's lines start with: never column 0, where a record starts.
CONTINUATION = "  "

#: Every character that ends a line somewhere (C0, DEL, C1 with NEL, U+2028/U+2029) or moves what a
#: terminal shows (ESC sequences, the bidirectional overrides), as an escape of plain ASCII.
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), 0x2028, 0x2029, *range(0x2066, 0x206A)]
_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _CONTROLS}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``, ``\\u2028``)."""
    return text.translate(_ESCAPES)


def continuation(block: str) -> str:
    """A multi-line block (a traceback) as indented lines, each escaped, after a record's first."""
    return "".join(f"\n{CONTINUATION}{escape_controls(line)}" for line in block.splitlines())


class TextFormatter(logging.Formatter):
    """Plain lines (``fmt``, ``%``-style), one per record: every field escaped, a traceback and a
    stack indented under the line they belong to."""

    @classmethod
    def like(cls, formatter: logging.Formatter | None) -> TextFormatter:
        """A formatter writing the lines ``formatter`` writes (dramatiq's, in a worker), escaped."""
        if isinstance(formatter, cls):
            return formatter
        if formatter is not None and type(formatter) is logging.Formatter:
            return cls(formatter._fmt, formatter.datefmt)
        return cls(PLAIN_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        # The whole line, not only the message: a thread or logger name may come from input too.
        line = escape_controls(self.formatMessage(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += continuation(record.exc_text)
        if record.stack_info:
            line += continuation(self.formatStack(record.stack_info))
        return line


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
        # ensure_ascii (the default) writes every control character, DEL, C1 and U+2028 as \uXXXX.
        return json.dumps(entry)


class _EscapeRecord(logging.Filter):
    """Escapes a record's message and traceback in place, for whatever formatter then writes it:
    under plain ``hypercorn`` its loggers write through handlers and formatters of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not logging.getLogger(record.name).handlers:
            return True  # it goes to the root's handlers, whose formatter escapes (JSON, once)
        record.msg, record.args = escape_controls(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            # logging.Formatter appends exc_text after a newline: the block's lines come indented.
            record.exc_text = continuation(logging.Formatter().formatException(record.exc_info))[1:]
        return True


_ESCAPE_RECORD = _EscapeRecord()


def configure_logging(log_format: str) -> None:
    """Give the root logger a handler in ``log_format`` ("text" or "json") if it has none, and
    switch the format of the handlers it has (dramatiq's, in a worker) to the escaping one."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=PLAIN_FORMAT)
    for handler in root.handlers:
        handler.setFormatter(
            JsonFormatter() if log_format == "json" else TextFormatter.like(handler.formatter)
        )
    for name in SERVER_LOGGERS:
        logging.getLogger(name).addFilter(_ESCAPE_RECORD)  # the same filter is added once


def job_logger(message: dramatiq.Message) -> logging.LoggerAdapter[logging.Logger]:
    """The ``jobs`` logger with the job's id and type on every record (for structured logs)."""
    return logging.LoggerAdapter(
        logging.getLogger("jobs"), {"job_id": message.message_id, "job_type": message.actor_name}
    )


def server_logger(name: str) -> logging.Logger:
    """Hypercorn's logger ``name``, writing through the root's handlers (one format, escaped),
    for ``Config.accesslog`` and ``Config.errorlog``: Hypercorn adds no handler to a logger given."""
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.propagate = True
    logger.setLevel(logging.INFO)  # the access log writes at INFO, whatever the root's level
    return logger


class LogFormat(Middleware):
    """Applies ``LOG_FORMAT`` in each worker process once ``dramatiq`` has set up its logging."""

    def __init__(self, *, log_format: str) -> None:
        self.log_format = log_format

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        configure_logging(self.log_format)
