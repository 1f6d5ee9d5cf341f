"""Worker heartbeats: each ``dramatiq`` worker process says, every few seconds, that it is alive.

Dramatiq's own heartbeat (``<ns>:__heartbeats__``) carries only an opaque id; operators want to
see host, pid and queues, so each worker process runs a small thread that refreshes a hash
(``keys.worker``) with a time to live and its score in ``keys.WORKERS``. A worker that stops
beating disappears by itself after three intervals; a clean shutdown removes it at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

import dramatiq
import redis
from dramatiq.middleware import Middleware

from .. import keys
from ..events import REDIS_UNAVAILABLE_ERRORS, utc_now
from ..settings import JobSettings

logger = logging.getLogger("jobs.workers")

DEFAULTS = JobSettings.defaults()
#: A worker is considered gone after this many missed heartbeats.
MISSED_BEATS_ALLOWED = 3


class WorkerHeartbeat(Middleware):
    def __init__(self, *, client: redis.Redis, interval: float = DEFAULTS.worker_heartbeat_interval) -> None:
        self.client = client
        self.interval = interval
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
        }
        self._thread = threading.Thread(target=self._beat, name="worker-heartbeat", daemon=True)
        self._thread.start()
        logger.info("Worker %s ready, queues=%s", self.worker_id, self._info["queues"])

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval)
        try:
            self.client.zrem(keys.WORKERS, self.worker_id)
            self.client.delete(keys.worker(self.worker_id))
        except REDIS_UNAVAILABLE_ERRORS:
            logger.warning("Worker %s could not unregister: Redis unavailable", self.worker_id)

    def _beat(self) -> None:
        ttl = max(1, round(self.interval * MISSED_BEATS_ALLOWED))
        while True:
            now = time.time()
            try:
                pipe = self.client.pipeline()
                pipe.hset(keys.worker(self.worker_id), mapping={**self._info, "last_heartbeat": now})
                pipe.expire(keys.worker(self.worker_id), ttl)
                pipe.zadd(keys.WORKERS, {self.worker_id: now})
                pipe.execute()
            except REDIS_UNAVAILABLE_ERRORS:
                logger.warning("Worker %s heartbeat failed: Redis unavailable", self.worker_id)
            if self._stop.wait(self.interval):
                return


def prune_stale_workers(client: redis.Redis, interval: float = DEFAULTS.worker_heartbeat_interval) -> int:
    """Drop workers whose heartbeat stopped from ``keys.WORKERS``; returns how many went."""
    return int(client.zremrangebyscore(keys.WORKERS, 0, time.time() - interval * MISSED_BEATS_ALLOWED))
