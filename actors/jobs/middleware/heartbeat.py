"""Worker heartbeats: each ``dramatiq`` worker process says, every few seconds, that it is alive.

Dramatiq's own heartbeat (``<ns>:__heartbeats__``) carries only an opaque id; operators want to
see host, pid and queues, so each worker process runs a small thread that refreshes a hash
(``keys.worker``) with a time to live and its score in ``keys.WORKERS``. A worker that stops
beating disappears by itself after three intervals.

The same beat renews the leases of the runs the process holds (``leases.RunLeases``) and, when
this worker wins the round, runs the reaper of lapsed leases (``on_beat``): maintenance that no
queue backlog can delay. On SIGTERM the worker *drains*: it says so (``state: draining``) and
keeps beating, and renewing, until its running jobs have finished; only then is it removed. A
beat that finds Redis unavailable while draining calls ``on_outage_while_draining``: the engine
then stops spending redis-py's retries on what is left of the shutdown.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

import dramatiq
import redis
from dramatiq.middleware import Middleware

from .. import keys
from ..clock import utc_now
from ..errors import REDIS_UNAVAILABLE_ERRORS, StoreUnavailable
from ..leases import RunLeases
from ..settings import JobSettings

logger = logging.getLogger("jobs.workers")

DEFAULTS = JobSettings.defaults()
#: A worker is considered gone after this many missed heartbeats.
MISSED_BEATS_ALLOWED = 3


class WorkerHeartbeat(Middleware):
    def __init__(
        self,
        *,
        client: redis.Redis,
        interval: float = DEFAULTS.worker_heartbeat_interval,
        leases: RunLeases | None = None,
        keep_alive: Callable[[], object] | None = None,
        on_beat: Callable[[str], object] | None = None,
        settle: float = 0.0,
        on_outage_while_draining: Callable[[], object] | None = None,
    ) -> None:
        """``keep_alive()`` runs with each beat, draining or not (the broker's own heartbeat);
        ``on_beat(worker_id)`` after each beat while the worker takes jobs (the reaper's round),
        but not until ``settle`` seconds after Redis was last unavailable to this worker: every
        lease lapsed during an outage, and their runs must renew them before anyone reaps.
        ``on_outage_while_draining()`` after each beat that failed once the worker was told to stop."""
        self.client = client
        self.interval = interval
        self.leases = leases
        self.keep_alive = keep_alive
        self.on_beat = on_beat
        self.settle = settle
        self.on_outage_while_draining = on_outage_while_draining
        self._unavailable_at = -float("inf")  # monotonic time of the last failed beat
        self.worker_id = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Named here, not in __init__: the broker is built before `dramatiq` forks its processes.
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        queues = sorted(worker.consumer_whitelist or broker.get_declared_queues())
        self._info = {
            "id": self.worker_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "queues": ",".join(queues),
            "threads": len(worker.workers),
            "started_at": utc_now(),
            "state": "running",
        }
        self._thread = threading.Thread(target=self._beat, name="worker-heartbeat", daemon=True)
        self._thread.start()
        logger.info("Worker %s ready, queues=%s", self.worker_id, self._info["queues"])

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Draining: running jobs finish, so this process keeps beating and renewing their leases.
        self._info["state"] = "draining"
        logger.info("Worker %s draining: finishing its running jobs", self.worker_id)
        self._beat_once()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval)
        try:
            self.client.zrem(keys.WORKERS, self.worker_id)
            self.client.delete(keys.worker(self.worker_id))
        except REDIS_UNAVAILABLE_ERRORS:
            logger.warning("Worker %s could not unregister: Redis unavailable", self.worker_id)

    def _beat(self) -> None:
        while True:
            self._beat_once()
            settled = time.monotonic() - self._unavailable_at > self.settle
            if self.on_beat is not None and self._info["state"] == "running" and settled:
                self.on_beat(self.worker_id)
            if self._stop.wait(self.interval):
                return

    def _beat_once(self) -> None:
        ttl = max(1, round(self.interval * MISSED_BEATS_ALLOWED))
        now = time.time()
        try:
            pipe = self.client.pipeline()
            held = sorted(self.leases.held()) if self.leases is not None else []
            beat = {**self._info, "last_heartbeat": now, "running": len(held), "running_jobs": ",".join(held)}
            pipe.hset(keys.worker(self.worker_id), mapping=beat)
            pipe.expire(keys.worker(self.worker_id), ttl)
            pipe.zadd(keys.WORKERS, {self.worker_id: now})
            pipe.execute()
            lost = self.leases.renew() if self.leases is not None else set()
            if self.keep_alive is not None:
                self.keep_alive()
        except (StoreUnavailable, *REDIS_UNAVAILABLE_ERRORS):
            logger.warning("Worker %s heartbeat failed: Redis unavailable", self.worker_id)
            self._unavailable_at = time.monotonic()
            if self._info["state"] == "draining" and self.on_outage_while_draining is not None:
                self.on_outage_while_draining()
            return
        for job_id in lost:  # its run goes on until its next write, which is refused
            logger.warning("Worker %s: job %s was taken over by another run", self.worker_id, job_id)


def prune_stale_workers(client: redis.Redis, interval: float = DEFAULTS.worker_heartbeat_interval) -> int:
    """Drop workers whose heartbeat stopped from ``keys.WORKERS``; returns how many went."""
    return int(client.zremrangebyscore(keys.WORKERS, 0, time.time() - interval * MISSED_BEATS_ALLOWED))
