"""A process's job metrics, a middleware of its own: counted in memory, written to Redis once a
second.

The status-change counters and the run-time histogram (``metrics.py``) are the fleet's, kept in
Redis. Counting each change there would cost six commands of every job's path (a counter at its
creation and at its start; counter, bucket, sum and recent runs at its end). So a long-lived
process (a worker, from its boot; a web process, from its start) is the job store's
``ChangeCounter``: the store tells it each status change it made, and it writes them all in one
transaction every ``flush_interval`` seconds, and when it stops. Other changes (a cancel, any
change made before ``start`` or in a short script) are counted by the store's script in the same
step as the change.

Run times are Dramatiq's hooks': a run is timed from ``before_process_message`` to the change
that ends its job. This middleware sits before the status middleware in the broker's list, so its
``after_*`` hooks run after the status middleware has recorded the run's end.

A process killed without warning loses at most its last interval's counts. Job records, events
and wake-ups are never batched: only these figures are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict

import dramatiq
import redis
from dramatiq.middleware import Middleware

from .. import keys
from ..errors import REDIS_UNAVAILABLE_ERRORS
from ..metrics import FIELD_SEPARATOR, RECENT_RUNS, bucket_of
from ..states import JobStatus

logger = logging.getLogger("jobs.metrics")

#: Seconds between two writes of a worker's counts.
DEFAULT_FLUSH_INTERVAL = 1.0
#: How long the per-minute counts of ended jobs are kept (the console charts the last hour).
ENDED_PER_MINUTE_TTL = 2 * 3600


class RunMetrics(Middleware):
    """Counts a process's status changes and run times; ``running`` once its flusher has started
    (before that, the store's script counts instead)."""

    def __init__(self, *, client: redis.Redis, flush_interval: float = DEFAULT_FLUSH_INTERVAL) -> None:
        self.client = client
        self.flush_interval = flush_interval
        self.running = False
        self._lock = threading.Lock()
        self._changes: Counter[str] = Counter()  # "<type>\t<status>" -> changes
        self._buckets: Counter[str] = Counter()  # "<type>\t<bucket label>" -> runs
        self._sums: Counter[str] = Counter()  # job type -> seconds
        self._runs: Counter[str] = Counter()  # job type -> runs
        self._ended: Counter[tuple[str, int, str]] = Counter()  # (namespace, minute, status) -> jobs
        self._recent: defaultdict[str, list[float]] = defaultdict(list)  # job type -> run times, oldest first
        self._run_started: dict[str, float] = {}  # message id -> monotonic start of its run here
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, job_type: str, status: JobStatus, *, namespace: str, job_id: str) -> None:
        """A status change of the job ``job_id``; one that ends it also counts in its namespace's
        minute, and, for a run of this process, the run's time."""
        with self._lock:
            self._changes[f"{job_type}{FIELD_SEPARATOR}{status.value}"] += 1
            started = self._run_started.get(job_id) if status.is_terminal else None
            if status.is_terminal:
                self._ended[namespace, int(time.time() // 60), status.value] += 1
        if started is not None:
            self.observe(job_type, time.monotonic() - started)

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._run_started[message.message_id] = time.monotonic()

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, **_: object) -> None:
        self._run_started.pop(message.message_id, None)

    after_skip_message = after_process_message

    def observe(self, job_type: str, seconds: float) -> None:
        """A run of ``job_type`` that took ``seconds`` (counted once, with the change that ends it)."""
        with self._lock:
            self._buckets[f"{job_type}{FIELD_SEPARATOR}{bucket_of(seconds)}"] += 1
            self._sums[job_type] += seconds
            self._runs[job_type] += 1
            recent = self._recent[job_type]
            recent.append(round(seconds, 3))
            del recent[:-RECENT_RUNS]

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.start()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stop()

    def start(self) -> None:
        """Count here from now on, and write the counts every ``flush_interval`` seconds."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._flush_every_interval, name="run-metrics", daemon=True)
        self._thread.start()
        self.running = True

    def stop(self) -> None:
        """Write what is left; from now on the store's script counts."""
        self.running = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.flush_interval * 2)
        if not self.flush():
            logger.warning("Job metrics of this process's last %gs were not written", self.flush_interval)

    def _flush_every_interval(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                self.flush()
            except Exception:  # the flusher must outlive any one failure (an OOM answer, say)
                logger.exception("Job metrics could not be written; trying again in %gs", self.flush_interval)

    def flush(self) -> bool:
        """Write what was counted since the last flush; on failure keep it for the next one."""
        with self._lock:
            changes, buckets, sums, runs = self._changes, self._buckets, self._sums, self._runs
            recent, ended = self._recent, self._ended
            self._changes, self._buckets, self._sums, self._runs = Counter(), Counter(), Counter(), Counter()
            self._recent, self._ended = defaultdict(list), Counter()
        if not (changes or buckets or ended):
            return True
        pipe = self.client.pipeline()  # all or nothing: a failed flush is retried whole
        for field, n in changes.items():
            pipe.hincrby(keys.METRICS_TRANSITIONS, field, n)
        for field, n in buckets.items():
            pipe.hincrby(keys.METRICS_DURATIONS, field, n)
        for job_type, seconds in sums.items():
            pipe.hincrbyfloat(keys.METRICS_DURATIONS, f"{job_type}{FIELD_SEPARATOR}sum", seconds)
            pipe.hincrby(keys.METRICS_DURATIONS, f"{job_type}{FIELD_SEPARATOR}count", runs[job_type])
        for job_type, times in recent.items():
            pipe.lpush(keys.recent_durations(job_type), *times)  # the newest ends up first
            pipe.ltrim(keys.recent_durations(job_type), 0, RECENT_RUNS - 1)
        for (namespace, minute, status), n in ended.items():
            pipe.hincrby(keys.ended_in_minute(namespace, minute), status, n)
            pipe.expire(keys.ended_in_minute(namespace, minute), ENDED_PER_MINUTE_TTL)
        try:
            pipe.execute()
        except (*REDIS_UNAVAILABLE_ERRORS, redis.ResponseError):
            with self._lock:  # counted again with the next flush
                self._changes.update(changes)
                self._buckets.update(buckets)
                self._sums.update(sums)
                self._runs.update(runs)
                self._ended.update(ended)
                for job_type, times in recent.items():
                    self._recent[job_type][:0] = times
                    del self._recent[job_type][:-RECENT_RUNS]
            return False
        return True
