"""The status middleware: drives each public job's state from Dramatiq's own hooks.

    before_enqueue          first send   -> PENDING (the record exists before the message is sent)
    after_enqueue           a retry sent -> PENDING again, with ``attempt``, ``retry_at`` and the
                                            error (written once the retry is safely queued)
    before_process_message               -> a run claims the job: STARTED under its own token and
                                            lease (``leases.py``); a job that already ended
                                            (cancelled while it waited) is skipped and never runs;
                                            a copy that finds another run's live lease is deferred;
                                            a job whose namespace has its fair share of this
                                            process's threads is parked (``fairness.py``)
    after_process_message   returned     -> SUCCESS with the return value as ``result``
                            raised, and Retries gave up (message failed) -> FAILURE with ``error``
                            cancelled (JobCancelled) -> CANCELLED, with the progress reached
                            over its time limit      -> FAILURE with error type ``timeout``
    after_skip_message                   -> FAILURE (skipped, e.g. too old), unless already ended
    after_nack                           -> FAILURE, if nothing above has finished the job yet

The middleware must sit *before* ``Retries`` in the broker's list: Dramatiq runs ``after_*`` hooks
in reverse order, so Retries decides (and re-enqueues or fails the message) before we look.

A job's ``JobRef`` is made when it is first sent, and again with the run's token when a run
claims it; ``RunLeases`` keeps a run's ref for its later writes. Every write a run makes is
fenced by its token, and rides out a Redis outage of up to ``outage_grace`` seconds (retried with
backoff); a run's terminal status is retried until Redis answers, with its lease renewed
meanwhile, so a finished run is recorded once Redis is back and never run again for want of its
record. Only a worker told to stop gives a terminal write up (``before_worker_shutdown`` sets
``stopping``): it says so, and the job is left as a crash leaves it, to the reaper once its lease
lapses, so that the worker exits within its shutdown timeout however long Redis stays away.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import dramatiq
from dramatiq.middleware import Middleware, SkipMessage, TimeLimitExceeded

from ..clock import utc_now
from ..dramatiq_adapter import quiet_worker_warnings, retry_error, stop_quieting
from ..errors import JobCancelled, LeaseLost, StoreUnavailable
from ..failures import bounded_traceback, error_of
from ..fairness import PARKED_OPTION, FairShare
from ..leases import REAPED_OPTION, RunLeases, lease_remaining
from ..ref import JobRef
from ..registry import CANCELLED_RUN, PUBLIC_JOB_OPTION, JobSpec, job_spec, namespace_of
from ..settings import JobSettings
from ..states import RETRY_OF_OPTION, TRACEBACK_FIELD, JobStatus
from ..store import HELD, MAX_OUTAGE_BACKOFF_S, JobStore, ride_out
from .heartbeat import WorkerHeartbeat
from .logs import job_logger

logger = logging.getLogger("jobs")
DEFAULTS = JobSettings.defaults()
#: Option carried by a copy of a message deferred while another run held the job's lease.
DEFERRED_OPTION = "deferred"
_T = TypeVar("_T")


class JobStatusMiddleware(Middleware):
    def __init__(
        self,
        *,
        store: JobStore,
        leases: RunLeases,
        heartbeat: WorkerHeartbeat | None = None,
        fair: FairShare | None = None,
        default_max_retries: int = DEFAULTS.max_retries,
        outage_grace: float = DEFAULTS.outage_grace,
        stopping: threading.Event | None = None,
    ) -> None:
        """``stopping`` is set when the worker is told to stop (here, or by whoever shares it)."""
        self.store = store
        self.leases = leases
        self.heartbeat = heartbeat  # whose worker id a STARTED job records
        self.fair = fair  # which namespace may take a thread of this process
        self.default_max_retries = default_max_retries
        self.outage_grace = outage_grace
        self.stopping = stopping if stopping is not None else threading.Event()
        self._started: dict[str, float] = {}  # message id -> monotonic start of a run admitted here
        # Message id -> copies of it skipped on purpose whose after_skip_message is still to come.
        # Copies of one message (a parked message sent back twice, a redelivery) may be skipped by
        # two threads at once: each skip is matched with its own, whatever their order.
        self._skipped: Counter[str] = Counter()
        self._skipped_lock = threading.Lock()
        self._taken_over: set[str] = set()  # message ids of runs stopped by LeaseLost, until nacked
        self._quiet: logging.Filter | None = None  # on Dramatiq's worker logger while a worker runs

    @property
    def actor_options(self) -> set[str]:
        return {PUBLIC_JOB_OPTION}

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._quiet = quiet_worker_warnings(self._skipped)  # this middleware says what they would, better
        if self.fair is not None:
            self.fair.threads = len(worker.workers)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stopping.set()  # wakes any terminal write waiting for Redis: see _end

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._quiet is not None:  # the process may start another worker (tests, --with-worker)
            stop_quieting(self._quiet)
            self._quiet = None

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int | None) -> None:
        spec = job_spec(broker, message.actor_name)
        if spec is None or message.options.get("retries", 0):
            return  # not a job, or a job sent again (a retry, a deferred or reaped copy)
        created = self.store.create(
            spec.ref(message),
            message.actor_name,
            message=message.encode(),
            retry_of=message.options.get(RETRY_OF_OPTION),
        )
        if created is not None:
            job_logger(message).info("Job %s queued type=%s", message.message_id, message.actor_name)

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int | None) -> None:
        spec = job_spec(broker, message.actor_name)
        retries = message.options.get("retries", 0)
        if spec is None or retries == 0 or delay is None:
            return  # not a job; its first send; or a delayed message moving to its queue
        if any(message.options.get(put_back) for put_back in (DEFERRED_OPTION, REAPED_OPTION, PARKED_OPTION)):
            return  # a copy put back for later, the reaper's, or parked: their senders wrote the record
        max_attempts = 1 + self.max_retries(broker, message)
        delay_s = (delay or 0) / 1000
        error = retry_error(message)
        attempt_text = f"attempt {retries + 1} of {max_attempts}"
        # Written once the retry is queued (a retry that could not be sent leaves the job STARTED,
        # its lease lapses and the reaper requeues it), and only as the failed run (the fence).
        run = self._ref(spec, message)
        self._ride_out(
            message,
            lambda: self.store.transition(
                run,
                JobStatus.PENDING,
                attempt=retries + 1,
                message=f"Retrying in {_seconds(delay_s)} ({attempt_text}): {error['message']}",
                error=error,
                retry_at=utc_now(delay_s),
                _run="",
            ),
        )
        job_logger(message).info(
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
        namespace = namespace_of(message)
        if not self._admitted(message, namespace):
            self._skipping(message)
            raise SkipMessage()
        try:
            self._claim(broker, spec.ref(message, run=uuid.uuid4().hex), message)
        except BaseException:
            self._leave(broker, namespace, send_back=True)  # skipped, deferred or failed: not running
            raise

    def _admitted(self, message: dramatiq.Message, namespace: str) -> bool:
        return self.fair is None or self.fair.admit_or_park(namespace, message)

    def _leave(self, broker: dramatiq.Broker, namespace: str, *, send_back: bool) -> None:
        if self.fair is not None:
            self.fair.leave(namespace, broker=broker if send_back else None)

    def _claim(self, broker: dramatiq.Broker, run: JobRef, message: dramatiq.Message) -> None:
        started = self._ride_out(
            message,
            lambda: self.store.claim(
                run, lease=self.leases.lease, started_at=utc_now(), retry_at=None, worker=self._worker_id()
            ),
        )
        if started == HELD:  # another run holds the job: look again when its lease would end
            wait = lease_remaining(self.store, message.message_id) + 1
            broker.enqueue(message.copy(options={DEFERRED_OPTION: True}), delay=int(wait * 1000))
            self._skip(message, f"deferred {wait:.0f}s", "another run holds it")
        if not isinstance(started, dict):  # finished already (cancelled while queued), or gone
            self._skip(message, "skipped", "it is finished or unknown")
        self.leases.hold(run)
        # This copy is the job's run now: if it fails, its retry is an ordinary one.
        message.options.pop(DEFERRED_OPTION, None)
        message.options.pop(REAPED_OPTION, None)
        message.options.pop(PARKED_OPTION, None)
        self._started[message.message_id] = time.monotonic()
        # At INFO: an operator looks for a job's start (which worker, which attempt) first; the
        # line costs a few percent of a worker's CPU on empty jobs only (docs/benchmarks.md).
        job_logger(message).info(
            "Job %s started type=%s attempt=%d", message.message_id, message.actor_name, started["attempt"]
        )

    def _skip(self, message: dramatiq.Message, done: str, because: str) -> NoReturn:
        """Skip ``message`` on purpose, saying so once (Dramatiq's own warning is dropped)."""
        job_logger(message).info(
            "Job %s %s type=%s: %s", message.message_id, done, message.actor_name, because
        )
        self._skipping(message)
        raise SkipMessage()

    def _skipping(self, message: dramatiq.Message) -> None:
        with self._skipped_lock:
            self._skipped[message.message_id] += 1

    def _skipped_here(self, message: dramatiq.Message) -> bool:
        """Whether a skip of ``message``'s id was ours (and so is now matched)."""
        with self._skipped_lock:
            if not self._skipped[message.message_id]:
                return False
            self._skipped[message.message_id] -= 1
            if not self._skipped[message.message_id]:
                del self._skipped[message.message_id]
            return True

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
        try:
            self._record_end(broker, spec, message, result, exception)
        finally:
            self.leases.release(message.message_id)  # from now on its lease may lapse
            if self._started.pop(message.message_id, None) is not None:
                self._leave(broker, namespace_of(message), send_back=True)

    def _record_end(
        self,
        broker: dramatiq.Broker,
        spec: JobSpec,
        message: dramatiq.Message,
        result: Any,
        exception: BaseException | None,
    ) -> None:
        if result is CANCELLED_RUN:  # the actor stopped for a cancellation (registry.job)
            result, exception = None, JobCancelled()
        if isinstance(exception, LeaseLost):
            # Retries fails the message (LeaseLost is thrown, never retried) and Dramatiq
            # dead-letters it; the job is another run's now, so after_nack leaves the record be.
            self._taken_over.add(message.message_id)
            job_logger(message).warning("Job %s run stopped: %s", message.message_id, exception)
        elif exception is None:
            self._succeed(spec, message, result)
        elif isinstance(exception, JobCancelled):
            if self._end(spec, message, JobStatus.CANCELLED):
                job_logger(message).info("Job %s cancelled type=%s", message.message_id, message.actor_name)
        elif isinstance(exception, TimeLimitExceeded):
            limit = broker.get_actor(message.actor_name).options.get("time_limit")
            text = (
                f"The job ran longer than its time limit of {limit / 1000:g} s"
                if limit
                else "Time limit exceeded"
            )
            self._fail(spec, message, {"type": "timeout", "message": text}, bounded_traceback(exception))
        elif getattr(message, "failed", False):
            self._fail(spec, message, error_of(exception), bounded_traceback(exception))

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        spec = job_spec(broker, message.actor_name)
        if self._skipped_here(message) or spec is None:
            # Skipped by us (the job is finished, another run holds it, or it is parked): this copy
            # never ran, and what _started and the leases hold under its id is another copy's run.
            return
        admitted = self._started.pop(message.message_id, None) is not None  # then skipped after us
        try:
            self._fail(spec, message, {"type": "skipped", "message": "The job was skipped before it ran"})
        finally:
            if admitted:
                self.leases.release(message.message_id)
                self._leave(broker, namespace_of(message), send_back=True)

    def after_nack(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        # A no-op when the job already ended: the store refuses changes to terminal jobs.
        if message.message_id in self._taken_over:
            self._taken_over.discard(message.message_id)
            return  # a run that lost its job: the FAILURE would end the run that took it over
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
        fields = {"result": result, "progress": 100, "error": None}
        if self._end(spec, message, JobStatus.SUCCESS, **fields):
            job_logger(message).info(
                "Job %s succeeded type=%s%s", message.message_id, message.actor_name, self._took(message)
            )

    def _fail(
        self, spec: JobSpec, message: dramatiq.Message, error: dict[str, str], trace: str | None = None
    ) -> None:
        """FAILURE with ``error``; the failure's traceback, if any, kept in the same change."""
        kept = {TRACEBACK_FIELD: trace} if trace is not None else {}
        if self._end(spec, message, JobStatus.FAILURE, error=error, **kept):
            job_logger(message).warning(
                "Job %s failed type=%s: %s: %s",
                message.message_id,
                message.actor_name,
                error["type"],
                error["message"],
            )

    def _end(self, spec: JobSpec, message: dramatiq.Message, status: JobStatus, /, **fields: Any) -> bool:
        """Record the job's terminal ``status``, as its run (fenced by its token, when it ran here):
        retried until Redis answers, however long that takes, so a finished run is never lost;
        unless the worker is stopping, which gives it up (False) rather than never exit.
        ``fields`` are the snapshot's, ``message`` among them (hence the positional-only ones)."""
        run = self._ref(spec, message)
        attempt = 0
        while True:
            try:
                return self.store.transition(run, status, **fields) is not None
            except StoreUnavailable:
                if self.stopping.is_set():
                    # The run's lease is no longer renewed (after_process_message releases it):
                    # it lapses and the reaper requeues or fails the job, as after a crash.
                    job_logger(message).warning(
                        "Job %s: its %s cannot be recorded (Redis unavailable) and the worker is "
                        "stopping; left to the reaper once its lease lapses",
                        message.message_id,
                        status.value,
                    )
                    return False
                attempt += 1
                if attempt == 1 or attempt % 10 == 0:
                    job_logger(message).warning(
                        "Job %s: its %s cannot be recorded yet (Redis unavailable); retrying",
                        message.message_id,
                        status.value,
                    )
                self.stopping.wait(min(MAX_OUTAGE_BACKOFF_S, 0.05 * 2**attempt))

    def _ref(self, spec: JobSpec, message: dramatiq.Message) -> JobRef:
        """The ref of this process's run of the job, if it runs it; else the job's (a job skipped,
        dead-lettered or failed to send before any run of ours)."""
        return self.leases.run_of(message.message_id) or spec.ref(message)

    def _ride_out(self, message: dramatiq.Message, write: Callable[[], _T]) -> _T:
        """``write()``, retried with backoff while Redis is unavailable, for up to ``outage_grace``
        seconds; then ``StoreUnavailable`` is raised as it came."""
        return ride_out(write, grace=self.outage_grace, what=f"job {message.message_id}")

    def _took(self, message: dramatiq.Message) -> str:
        """`` in <seconds>s`` for a run of this process (empty for a job that did not run here)."""
        started = self._started.get(message.message_id)
        return "" if started is None else f" in {time.monotonic() - started:.3f}s"

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
