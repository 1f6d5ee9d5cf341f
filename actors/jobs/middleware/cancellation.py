"""Stopping running jobs that were asked to cancel, in whichever worker process runs them.

A cancel request (``JobStore.request_cancel``) sets a flag in Redis. A job that has not started is
cancelled at once and skipped when a worker picks it up (``JobStatusMiddleware``). A running job
stops cooperatively at its next ``report_progress`` (which raises ``JobCancelled``); if it makes
none within the grace period, this middleware's watcher thread raises ``JobCancelled`` in the job's
thread, the way Dramatiq's ``TimeLimit`` interrupts it. The status middleware then records
CANCELLED, with the progress the job had reached.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import dramatiq
from dramatiq.middleware import Middleware
from dramatiq.middleware.threading import raise_thread_exception

from ..errors import JobCancelled, StoreUnavailable
from ..registry import job_spec
from ..settings import JobSettings
from ..store import JobStore

logger = logging.getLogger("jobs")

DEFAULTS = JobSettings.defaults()
#: Seconds between two looks at the cancel flags of the jobs this process runs.
DEFAULT_POLL_INTERVAL = 0.5


@dataclass
class _Running:
    thread_id: int
    flagged_at: float | None = None
    interrupted: bool = False


class Cancellation(Middleware):
    def __init__(
        self,
        *,
        store: JobStore,
        grace: float = DEFAULTS.cancel_grace,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        self.store = store
        self.grace = grace
        self.poll_interval = poll_interval
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        threading.Thread(target=self._watch, name="cancel-watcher", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if job_spec(broker, message.actor_name) is not None:
            with self._lock:
                self._running[message.message_id] = _Running(threading.get_ident())

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, **_: object) -> None:
        with self._lock:
            self._running.pop(message.message_id, None)

    after_skip_message = after_process_message

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval):
            with self._lock:
                job_ids = list(self._running)
            try:
                flagged = self.store.cancel_requested(job_ids)
            except StoreUnavailable:
                continue
            now = time.monotonic()
            with self._lock:
                for job_id in flagged:
                    running = self._running.get(job_id)
                    if running is None or running.interrupted:
                        continue
                    running.flagged_at = running.flagged_at or now
                    if now - running.flagged_at >= self.grace:
                        logger.warning(
                            "Job %s did not stop within %g s of its cancellation; interrupting it",
                            job_id,
                            self.grace,
                        )
                        running.interrupted = True
                        raise_thread_exception(running.thread_id, JobCancelled)
