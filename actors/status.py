"""The status middleware: drives each public job's state from Dramatiq's own hooks.

    before_enqueue          first send   -> PENDING (the record exists before the message is sent)
                            a retry      -> PENDING again, with ``attempt``, ``retry_at`` and the error
    before_process_message               -> STARTED; a job that already ended (cancelled while it
                                            waited) is skipped and never runs
    after_process_message   returned     -> SUCCESS with the return value as ``result``
                            raised, and Retries gave up (message failed) -> FAILURE with ``error``
                            cancelled (JobCancelled) -> CANCELLED, with the progress reached
                            over its time limit      -> FAILURE with error type ``timeout``
    after_skip_message                   -> FAILURE (skipped, e.g. too old), unless already ended
    after_nack                           -> FAILURE, if nothing above has finished the job yet

The middleware must sit *before* ``Retries`` in the broker's list: Dramatiq runs ``after_*`` hooks
in reverse order, so Retries decides (and re-enqueues or fails the message) before we look.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, TypeVar

import dramatiq
from dramatiq.middleware import Middleware, SkipMessage, TimeLimitExceeded

from .errors import JobCancelled, StoreUnavailable
from .heartbeat import WorkerHeartbeat
from .metrics import record_duration
from .records import utc_now
from .registry import PUBLIC_JOB_OPTION
from .settings import DEFAULT_MAX_RETRIES
from .states import JobStatus
from .store import JobStore

logger = logging.getLogger("jobs")
_M = TypeVar("_M", bound=Middleware)

#: The job argument that places a job in a workspace (the seed's name for it).
WORKSPACE_ARGUMENT = "workspace_name"


class JobStatusMiddleware(Middleware):
    def __init__(self, *, store: JobStore, default_max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        self.store = store
        self.default_max_retries = default_max_retries
        self._started: dict[str, float] = {}  # message id -> monotonic start, for run-time metrics

    @property
    def actor_options(self) -> set[str]:
        return {PUBLIC_JOB_OPTION}

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Dramatiq warns that a return value is discarded without its Results middleware; here
        # the value is the job's ``result``, stored by this middleware.
        logging.getLogger("dramatiq.worker.WorkerThread").addFilter(_ResultsStoredHere())

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int | None) -> None:
        if not _is_public_job(broker, message):
            return
        retries = message.options.get("retries", 0)
        if retries == 0:
            workspace = message.kwargs.get(WORKSPACE_ARGUMENT)
            workspace = workspace if isinstance(workspace, str) and workspace else None
            if self.store.create(message.message_id, message.actor_name, workspace) is not None:
                self.store.remember_message(message.message_id, message.encode())
                _job_logger(message).info("Job %s queued type=%s", message.message_id, message.actor_name)
            return
        if delay is None:
            return  # a delayed retry moving from the delay queue to its queue: no new state
        max_attempts = 1 + self.max_retries(broker, message)
        delay_s = (delay or 0) / 1000
        error = _error_from_traceback(message.options.get("traceback", ""))
        attempt_text = f"attempt {retries + 1} of {max_attempts}"
        self.store.transition(
            message.message_id,
            JobStatus.PENDING,
            attempt=retries + 1,
            message=f"Retrying in {_seconds(delay_s)} ({attempt_text}): {error['message']}",
            error=error,
            retry_at=utc_now(delay_s),
        )
        _job_logger(message).info(
            "Job %s retrying type=%s attempt=%d/%d in %.1fs: %s",
            message.message_id,
            message.actor_name,
            retries + 1,
            max_attempts,
            delay_s,
            error["message"],
        )

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if not _is_public_job(broker, message):
            return
        attempt = message.options.get("retries", 0) + 1
        started = self.store.transition(
            message.message_id,
            JobStatus.STARTED,
            attempt=attempt,
            started_at=utc_now(),
            retry_at=None,
            worker=_worker_id(broker),
        )
        if started is None:  # finished already (cancelled while queued), or its record is gone
            _job_logger(message).info(
                "Job %s skipped type=%s: it is finished or unknown", message.message_id, message.actor_name
            )
            raise SkipMessage()
        self._started[message.message_id] = time.monotonic()
        _job_logger(message).info(
            "Job %s started type=%s attempt=%d", message.message_id, message.actor_name, attempt
        )

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.Message,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if not _is_public_job(broker, message):
            return
        started = self._started.pop(message.message_id, None)
        if started is not None:
            record_duration(self.store.client, message.actor_name, time.monotonic() - started)
        if exception is None:
            self._succeed(message, result)
        elif isinstance(exception, JobCancelled):
            if self.store.transition(message.message_id, JobStatus.CANCELLED):
                _job_logger(message).info("Job %s cancelled type=%s", message.message_id, message.actor_name)
        elif isinstance(exception, TimeLimitExceeded):
            limit = broker.get_actor(message.actor_name).options.get("time_limit")
            text = (
                f"The job ran longer than its time limit of {limit / 1000:g} s"
                if limit
                else "Time limit exceeded"
            )
            self._fail(message, {"type": "timeout", "message": text})
        elif getattr(message, "failed", False):
            self._fail(
                message, {"type": type(exception).__name__, "message": str(exception) or repr(exception)}
            )

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if _is_public_job(broker, message):
            self._fail(message, {"type": "skipped", "message": "The job was skipped before it ran"})

    def after_nack(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        # A no-op when the job already ended: the store refuses changes to terminal jobs.
        if _is_public_job(broker, message):
            self._fail(message, {"type": "rejected", "message": "The job's message was dead-lettered"})

    def _succeed(self, message: dramatiq.Message, result: Any) -> None:
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            self._fail(message, {"type": "unserializable_result", "message": f"Result is not JSON: {exc}"})
            return
        if self.store.transition(
            message.message_id, JobStatus.SUCCESS, result=result, progress=100, error=None
        ):
            _job_logger(message).info("Job %s succeeded type=%s", message.message_id, message.actor_name)

    def _fail(self, message: dramatiq.Message, error: dict[str, str]) -> None:
        try:
            changed = self.store.transition(message.message_id, JobStatus.FAILURE, error=error)
        except StoreUnavailable:
            _job_logger(message).exception("Job %s could not be marked failed", message.message_id)
            return
        if changed:
            _job_logger(message).warning(
                "Job %s failed type=%s: %s: %s",
                message.message_id,
                message.actor_name,
                error["type"],
                error["message"],
            )

    def max_retries(self, broker: dramatiq.Broker, message: dramatiq.Message) -> int:
        """Retries allowed for ``message``: its own option, else its actor's, else the default."""
        actor_options = broker.get_actor(message.actor_name).options
        return message.options.get("max_retries", actor_options.get("max_retries", self.default_max_retries))


def _seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


class _ResultsStoredHere(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "haven't added the Results middleware" not in record.getMessage()


def _job_logger(message: dramatiq.Message) -> logging.LoggerAdapter[logging.Logger]:
    """The ``jobs`` logger with the job's id and type on every record (for structured logs)."""
    return logging.LoggerAdapter(logger, {"job_id": message.message_id, "job_type": message.actor_name})


def status_middleware(broker: dramatiq.Broker) -> JobStatusMiddleware:
    """The broker's status middleware, which holds the job store."""
    found = _middleware(broker, JobStatusMiddleware)
    if found is None:
        raise RuntimeError("the broker has no JobStatusMiddleware")
    return found


def _worker_id(broker: dramatiq.Broker) -> str | None:
    """The id under which this worker process beats (``WorkerHeartbeat``), if it does."""
    beat = _middleware(broker, WorkerHeartbeat)
    return beat.worker_id or None if beat is not None else None


def _middleware(broker: dramatiq.Broker, kind: type[_M]) -> _M | None:
    """The broker's middleware of ``kind`` (as Dramatiq's own code finds its Results middleware)."""
    return next((m for m in broker.middleware if isinstance(m, kind)), None)


def _is_public_job(broker: dramatiq.Broker, message: dramatiq.Message) -> bool:
    actor = broker.actors.get(message.actor_name)
    return actor is not None and bool(actor.options.get(PUBLIC_JOB_OPTION))


def _error_from_traceback(traceback_text: str) -> dict[str, str]:
    """The ``{type, message}`` of the exception a formatted traceback ends with."""
    last_line = next((line for line in reversed(traceback_text.splitlines()) if line.strip()), "")
    kind, _, text = last_line.partition(": ")
    return {"type": kind.rsplit(".", 1)[-1] or "Exception", "message": text or kind or "unknown error"}
