"""What the workers and queues are doing, read from Redis: for ``/worker/status`` and ``/metrics``."""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from actors import keys
from actors.heartbeat import MISSED_BEATS_ALLOWED
from actors.records import redis_errors_as_unavailable, utc_now

from .context import Services


async def read_workers(svc: Services) -> list[dict[str, Any]]:
    """Every worker process with a fresh heartbeat."""
    client = svc.reader.client
    fresh_after = time.time() - svc.settings.worker_heartbeat * MISSED_BEATS_ALLOWED
    with redis_errors_as_unavailable():
        worker_ids = await client.zrangebyscore(keys.WORKERS, fresh_after, "+inf")
        async with client.pipeline(transaction=False) as pipe:
            for worker_id in worker_ids:
                pipe.hgetall(keys.worker(worker_id.decode()))
            infos = await pipe.execute()
    workers = []
    for info in infos:
        if not info:
            continue  # expired between the two reads
        fields = {k.decode(): v.decode() for k, v in info.items()}
        workers.append(
            {
                "id": fields["id"],
                "host": fields["host"],
                "pid": int(fields["pid"]),
                "queues": [q for q in fields["queues"].split(",") if q],
                "threads": int(fields.get("threads", 0)),
                "started_at": fields["started_at"],
                "last_heartbeat": float(fields["last_heartbeat"]),
                "seconds_since_heartbeat": round(max(0.0, time.time() - float(fields["last_heartbeat"])), 3),
            }
        )
    return workers


async def read_queues(svc: Services) -> dict[str, dict[str, int]]:
    """Ready, delayed and dead-lettered messages per declared queue."""
    names = sorted(svc.broker.get_declared_queues())
    with redis_errors_as_unavailable():
        async with svc.reader.client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(keys.queue(name))
                pipe.llen(keys.delay_queue(name))
                pipe.zcard(keys.dead_letters(name))
            counts = await pipe.execute()
    return {
        name: {"ready": counts[3 * i], "delayed": counts[3 * i + 1], "dead_letters": counts[3 * i + 2]}
        for i, name in enumerate(names)
    }


async def queue_estimate(svc: Services, snapshot: dict[str, Any]) -> dict[str, Any]:
    """Where a PENDING job stands: its place among the jobs not yet started (1 = next), and when
    it should start, from the median of its type's recent run times and the live worker threads.
    Empty when the job is not waiting for its first start; ``eta`` is null when there is no
    recent run or no live worker to estimate from."""
    job_id = snapshot["job_id"]
    with redis_errors_as_unavailable():
        async with svc.reader.client.pipeline(transaction=False) as pipe:
            pipe.zscore(keys.WAITING, job_id)
            pipe.lrange(keys.recent_durations(snapshot["job_type"]), 0, -1)
            created, recent = await pipe.execute()
        if created is None:
            return {}
        ahead = await svc.reader.client.zcount(keys.WAITING, "-inf", f"({created}")
    slots = sum(worker["threads"] for worker in await read_workers(svc))
    position = ahead + 1
    eta_seconds = None
    if recent and slots:
        eta_seconds = round(statistics.median(float(r) for r in recent) * math.ceil(position / slots), 1)
    return {
        "queue_position": position,
        "eta_seconds": eta_seconds,
        "eta": utc_now(eta_seconds) if eta_seconds is not None else None,
    }
