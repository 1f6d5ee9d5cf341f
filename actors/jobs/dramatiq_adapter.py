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
``sending``               how the Redis broker enqueues a first send (its queue's list and hash,
                          a ``redis_message_id`` per send), for the web's submit, which writes the
                          job's record and its message in one script (``create.lua``)
``stoppable_consumer``    the Redis broker's consumer, made as ``RedisBroker.consume`` makes it,
                          that gives up an ack or nack Redis cannot take once the worker is
                          stopping (Dramatiq's worker threads retry one every 5 s for as long as
                          the connection is down, so a stopping worker would wait out its whole
                          shutdown timeout), and that reports a requeue Redis cannot take as the
                          connection error ``Worker.stop`` expects (redis-py's own escapes it and
                          ends the process before its shutdown hooks run)
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Container, Iterable
from typing import NamedTuple

import dramatiq
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.message import generate_unique_id

from . import keys
from .errors import REDIS_UNAVAILABLE_ERRORS
from .failures import error_from_traceback

logger = logging.getLogger("jobs.workers")

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


def stop_quieting(quiet: logging.Filter) -> None:
    """Remove a filter ``quiet_worker_warnings`` installed."""
    logging.getLogger(WORKER_LOGGER).removeFilter(quiet)


class Sending(NamedTuple):
    """Where a message goes when the job store sends it itself (``JobStore.create_and_send``)."""

    #: The queue's list and its messages' hash, as Dramatiq's Redis broker keeps them.
    queue_keys: tuple[str, str]
    #: The message's id in Redis (Dramatiq's ``redis_message_id`` option: one per send).
    redis_message_id: str


def sending(broker: RedisBroker, message: dramatiq.Message) -> tuple[dramatiq.Message, Sending]:
    """``message`` as Dramatiq's Redis broker would enqueue it (with its ``redis_message_id``), and
    where: for a first send with no delay, written by our create script as the broker's dispatch
    script writes it (``lua/change/create.lua``)."""
    redis_message_id = str(uuid.uuid4())
    queued = message.copy(options={"redis_message_id": redis_message_id})
    queue_keys = (
        keys.queue(message.queue_name, broker.namespace),
        keys.queue_messages(message.queue_name, broker.namespace),
    )
    return queued, Sending(queue_keys, redis_message_id)


def new_message_id() -> str:
    """An id as Dramatiq makes a message's."""
    return generate_unique_id()


class _StoppableConsumer(_RedisConsumer):  # type: ignore[misc]  # Dramatiq's is untyped
    def __init__(
        self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int, stopping: threading.Event
    ) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self.stopping = stopping

    def ack(self, message: MessageProxy) -> None:
        self._settle(super().ack, message, "acknowledged")

    def nack(self, message: MessageProxy) -> None:
        self._settle(super().nack, message, "rejected")

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        try:
            super().requeue(messages)
        except REDIS_UNAVAILABLE_ERRORS as exc:
            raise ConnectionClosed(exc) from None

    def _settle(self, settle: Callable[[MessageProxy], None], message: MessageProxy, done: str) -> None:
        try:
            settle(message)
        except ConnectionClosed:
            if not self.stopping.is_set():
                raise  # the worker thread tries again until Redis answers
            # Left as a crash leaves it: Dramatiq redelivers it once this worker's beats stop.
            logger.warning(
                "Message %s not %s (Redis unavailable) and the worker is stopping; redelivered "
                "once this worker's broker heartbeat lapses",
                message.message_id,
                done,
            )


def stoppable_consumer(
    broker: RedisBroker, queue_name: str, prefetch: int, timeout: int, *, stopping: threading.Event
) -> Consumer:
    """The consumer ``broker.consume`` would make, except that once ``stopping`` is set an ack or
    nack that meets an unavailable Redis is given up (the message stays unacknowledged, as after
    a crash) instead of being retried for as long as Redis is down; and a requeue that meets one
    raises Dramatiq's ``ConnectionClosed``, which ``Worker.stop`` logs and goes past."""
    return _StoppableConsumer(broker, queue_name, prefetch, timeout, stopping)
