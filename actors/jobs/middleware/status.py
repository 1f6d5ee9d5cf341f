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
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware, SkipMessage, TimeLimitExceeded

from ..errors import JobCancelled, StoreUnavailable
from ..events import utc_now
from ..metrics import record_duration
from ..registry import PUBLIC_JOB_OPTION, JobSpec, job_spec, namespace_of
from ..settings import JobSettings
from ..states import JobStatus
from ..store import JobStore
from .heartbeat import WorkerHeartbeat

logger = logging.getLogger("jobs")
DEFAULTS = JobSettings.defaults()


class JobStatusMiddleware(Middleware):
    def __init__(
        self,
        *,
        store: JobStore,
        heartbeat: WorkerHeartbeat | None = None,
        default_max_retries: int = DEFAULTS.max_retries,
    ) -> None:
        self.store = store
        self.heartbeat = heartbeat  # whose worker id a STARTED job records
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
        spec = job_spec(broker, message.actor_name)
        if spec is None:
            return
        retries = message.options.get("retries", 0)
        if retries == 0:
            created = self.store.create(
                message.message_id,
                message.actor_name,
                namespace=namespace_of(message),
                group=spec.group_of(message.kwargs),
            )
            if created is not None:
                self.store.remember_message(message.message_id, message.encode())
                _job_logger(message).info("Job %s queued type=%s", message.message_id, message.actor_name)
            return
        if delay is None:
            return  # a delayed retry moving from the delay queue to its queue: no new state
        max_attempts = 1 + self.max_retries(broker, message)
        delay_s = (delay or 0) / 1000
        error = _error_from_traceback(message.options.get("traceback", ""))
        attempt_text = f"attempt {retries + 1} of {max_attempts}"
        self._transition(
            spec,
            message,
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
        spec = job_spec(broker, message.actor_name)
        if spec is None:
            return
        attempt = message.options.get("retries", 0) + 1
        started = self._transition(
            spec,
            message,
            JobStatus.STARTED,
            attempt=attempt,
            started_at=utc_now(),
            retry_at=None,
            worker=self._worker_id(),
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
        spec = job_spec(broker, message.actor_name)
        if spec is None:
            return
        started = self._started.pop(message.message_id, None)
        if started is not None:
            record_duration(self.store.client, message.actor_name, time.monotonic() - started)
        if exception is None:
            self._succeed(spec, message, result)
        elif isinstance(exception, JobCancelled):
            if self._transition(spec, message, JobStatus.CANCELLED):
                _job_logger(message).info("Job %s cancelled type=%s", message.message_id, message.actor_name)
        elif isinstance(exception, TimeLimitExceeded):
            limit = broker.get_actor(message.actor_name).options.get("time_limit")
            text = (
                f"The job ran longer than its time limit of {limit / 1000:g} s"
                if limit
                else "Time limit exceeded"
            )
            self._fail(spec, message, {"type": "timeout", "message": text})
        elif getattr(message, "failed", False):
            error = {"type": type(exception).__name__, "message": str(exception) or repr(exception)}
            self._fail(spec, message, error)

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        spec = job_spec(broker, message.actor_name)
        if spec is not None:
            self._fail(spec, message, {"type": "skipped", "message": "The job was skipped before it ran"})

    def after_nack(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        # A no-op when the job already ended: the store refuses changes to terminal jobs.
        spec = job_spec(broker, message.actor_name)
        if spec is not None:
            self._fail(spec, message, {"type": "rejected", "message": "The job's message was dead-lettered"})

    def _succeed(self, spec: JobSpec, message: dramatiq.Message, result: Any) -> None:
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            error = {"type": "unserializable_result", "message": f"Result is not JSON: {exc}"}
            self._fail(spec, message, error)
            return
        if self._transition(spec, message, JobStatus.SUCCESS, result=result, progress=100, error=None):
            _job_logger(message).info("Job %s succeeded type=%s", message.message_id, message.actor_name)

    def _fail(self, spec: JobSpec, message: dramatiq.Message, error: dict[str, str]) -> None:
        try:
            changed = self._transition(spec, message, JobStatus.FAILURE, error=error)
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

    def _transition(
        self, spec: JobSpec, message: dramatiq.Message, status: JobStatus, /, **fields: Any
    ) -> dict[str, Any] | None:
        """Move the message's job (in its namespace and the group its arguments name) to
        ``status``; ``fields`` are the snapshot's, ``message`` among them (hence the
        positional-only parameters)."""
        return self.store.transition(
            message.message_id,
            status,
            namespace=namespace_of(message),
            group=spec.group_of(message.kwargs),
            **fields,
        )

    def _worker_id(self) -> str | None:
        """The id under which this worker process beats, if it does."""
        return (self.heartbeat.worker_id or None) if self.heartbeat is not None else None

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


def _error_from_traceback(traceback_text: str) -> dict[str, str]:
    """The ``{type, message}`` of the exception a formatted traceback ends with."""
    last_line = next((line for line in reversed(traceback_text.splitlines()) if line.strip()), "")
    kind, _, text = last_line.partition(": ")
    return {"type": kind.rsplit(".", 1)[-1] or "Exception", "message": text or kind or "unknown error"}
