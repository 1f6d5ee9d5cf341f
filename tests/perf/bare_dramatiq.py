"""The baseline of ``bench_throughput``: bare Dramatiq on Redis, no job status at all.

    dramatiq tests.perf.bare_dramatiq --processes 1 --threads 8

One actor, ``noop``, that counts itself done with one ``INCR`` (the only way the benchmark can tell
when the work is over without a status of its own).
"""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

#: The counter ``noop`` increments; the benchmark reads it.
DONE_KEY = "bench:bare:done"

broker = RedisBroker(url=os.environ["REDIS_URL"], namespace="bare")
dramatiq.set_broker(broker)


@dramatiq.actor(max_retries=0)
def noop() -> None:
    broker.client.incr(DONE_KEY)
