"""Every use the engine makes of Dramatiq beyond its public API, in one place.

Each is pinned by a test (``tests/test_dramatiq_adapter.py``) that fails when a Dramatiq release
changes what it relies on, and ``pyproject.toml`` bounds Dramatiq to the releases tested:

``dispatch_qsize``        the Redis broker's dispatch script, called as its own commands call it
                          (the order of its arguments), to report a busy worker alive and to run
                          the broker's maintenance on the reaper's round (``engine.JobsBroker``)
``retry_error``           the traceback text ``Retries`` keeps in a retried message's options:
                          the retry's error (the exception itself is gone by then)
``quiet_worker_warnings`` the text of two warnings Dramatiq's worker threads log, dropped where
                          the engine says better itself: a return value "discarded" (the status
                          middleware stores it as the job's result) and a message "skipped" on
                          purpose (a job already ended, held by another run, or parked)
``new_message_id``        how Dramatiq makes a message id, for a job named before it is sent
"""

from __future__ import annotations

import logging
from collections.abc import Container

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
from dramatiq.message import generate_unique_id

from .failures import error_from_traceback

#: The option under which ``Retries`` keeps the formatted traceback of a retried run's failure.
RETRIES_TRACEBACK_OPTION = "traceback"
#: The logger of Dramatiq's worker threads, whose warnings ``quiet_worker_warnings`` filters.
WORKER_LOGGER = "dramatiq.worker.WorkerThread"
_RESULT_DISCARDED = "haven't added the Results middleware"
_SKIPPED = "Message %s was skipped."


def dispatch_qsize(broker: RedisBroker, queue_name: str, *, maintenance: bool) -> None:
    """Run the broker's dispatch script's ``qsize`` command on ``queue_name``: like any of its
    commands, it records this worker's heartbeat; with ``maintenance``, it also sends a dead
    worker's messages back to their queue. It changes nothing else."""
    broker.scripts["dispatch"](
        keys=[broker.namespace],
        args=[
            "qsize",
            current_millis(),
            queue_name,
            broker.broker_id,
            broker.heartbeat_timeout,
            broker.dead_message_ttl,
            int(maintenance),
            broker._max_unpack_size(),
        ],
    )


def retry_error(message: dramatiq.Message) -> dict[str, str]:
    """The ``{type, message}`` of the failure a retried message is retried for."""
    return error_from_traceback(message.options.get(RETRIES_TRACEBACK_OPTION, ""))


class _QuietWorkerWarnings(logging.Filter):
    def __init__(self, skipped_on_purpose: Container[str]) -> None:
        super().__init__()
        self.skipped_on_purpose = skipped_on_purpose

    def filter(self, record: logging.LogRecord) -> bool:
        if _RESULT_DISCARDED in record.getMessage():
            return False
        if record.msg == _SKIPPED and isinstance(record.args, tuple) and record.args:
            return getattr(record.args[0], "message_id", None) not in self.skipped_on_purpose
        return True


def quiet_worker_warnings(skipped_on_purpose: Container[str]) -> logging.Filter:
    """Drop the worker threads' "discarded" warnings, and their "skipped" warnings for the message
    ids in ``skipped_on_purpose`` (read when a warning is logged); returns the filter installed."""
    quiet = _QuietWorkerWarnings(skipped_on_purpose)
    logging.getLogger(WORKER_LOGGER).addFilter(quiet)
    return quiet


def new_message_id() -> str:
    """An id as Dramatiq makes a message's."""
    return generate_unique_id()
