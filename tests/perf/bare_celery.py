"""The Celery row of ``bench_throughput``: a no-op task, Redis broker, Redis result backend.

    celery -A tests.perf.bare_celery worker --pool threads --concurrency 8

Stock Celery with a status of its own: ``task_track_started`` (PENDING → STARTED → SUCCESS, each
state stored under ``celery-task-meta-<id>`` and published on that channel). The broker and the
results live in databases 1 and 2 of ``REDIS_URL``'s server, away from the project's keys.

``DoneCounter`` is how the benchmark knows the work is over: it pattern-subscribes to the result
channels and counts SUCCESS messages, one ``PSUBSCRIBE`` in all (scanning for result keys would
cost commands per poll and be counted with Celery's).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import redis
from celery import Celery

_SERVER = os.environ["REDIS_URL"].rsplit("/", 1)[0]
#: The channels (and keys) the result backend writes each state to.
RESULT_PATTERN = "celery-task-meta-*"

app = Celery("bare_celery", broker=f"{_SERVER}/1", backend=f"{_SERVER}/2")
app.conf.update(task_track_started=True, broker_connection_retry_on_startup=True)


@app.task
def noop() -> None:
    return None


class DoneCounter:
    """Tasks the result backend has published SUCCESS for since this was made; call it to read."""

    def __init__(self, client: redis.Redis) -> None:
        self.done = 0
        self._lock = threading.Lock()
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(**{RESULT_PATTERN: self._on_state})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.01, daemon=True)

    def _on_state(self, message: dict[str, Any]) -> None:
        if json.loads(message["data"])["status"] == "SUCCESS":
            with self._lock:
                self.done += 1

    def __call__(self) -> int:
        return self.done

    def close(self) -> None:
        self._thread.stop()
        self._thread.join()
        self._pubsub.close()
