"""What the workers and queues are doing, read from Redis for the web process, async.

Workers from their heartbeats (``middleware.heartbeat``), queue depths from Dramatiq's own keys,
queue positions and ETAs from the waiting index and each type's recent run times, and the
fleet-wide metric figures (``metrics.py``): the same answers from every web process.
"""

from __future__ import annotations

import heapq
import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from . import keys
from .clock import iso_time, utc_now
from .encoding import text
from .errors import redis_errors_as_unavailable
from .middleware import MISSED_BEATS_ALLOWED


@dataclass(frozen=True, slots=True)
class FleetFigures:
    """One read of the fleet-wide metrics: status changes, run-time histograms, jobs right now."""

    transitions: dict[str, int]
    durations: dict[str, float]
    waiting: int
    running: int


#: Jobs ahead of a waiting one that its start estimate plays out one by one (then it extrapolates).
ESTIMATE_HORIZON = 10_000


def start_estimate(run_time: float, slots: int, elapsed: list[float], ahead: int) -> float:
    """Seconds until a waiting job starts: ``slots`` worker threads, busy with runs that have
    gone on ``elapsed`` seconds each (each is taken to last ``run_time`` in all, and at least a
    little more), and ``ahead`` jobs to start first, each lasting ``run_time``."""
    free_at = [max(run_time - spent, run_time * 0.1) for spent in elapsed[:slots]]
    free_at += [0.0] * (slots - len(free_at))
    heapq.heapify(free_at)
    played = min(ahead, ESTIMATE_HORIZON)
    for _ in range(played):  # each job ahead takes the thread that frees first
        heapq.heapreplace(free_at, free_at[0] + run_time)
    rounds_left = (ahead - played) / slots  # beyond the horizon: whole rounds of every thread
    return free_at[0] + rounds_left * run_time


class Fleet:
    def __init__(self, *, client: aioredis.Redis, heartbeat_interval: float, queues: Iterable[str]) -> None:
        """``queues``: the queue names the broker declares (Dramatiq knows them, Redis does not)."""
        self.client = client
        self.heartbeat_interval = heartbeat_interval
        self.queue_names = sorted(queues)

    async def workers(self) -> list[dict[str, Any]]:
        """Every worker process with a fresh heartbeat."""
        fresh_after = time.time() - self.heartbeat_interval * MISSED_BEATS_ALLOWED
        with redis_errors_as_unavailable():
            worker_ids = await self.client.zrangebyscore(keys.WORKERS, fresh_after, "+inf")
            async with self.client.pipeline(transaction=False) as pipe:
                for worker_id in worker_ids:
                    pipe.hgetall(keys.worker(text(worker_id)))
                infos = await pipe.execute()
        workers = []
        for info in infos:
            if not info:
                continue  # expired between the two reads
            fields = {text(k): text(v) for k, v in info.items()}
            last = float(fields["last_heartbeat"])
            workers.append(
                {
                    "id": fields["id"],
                    "host": fields["host"],
                    "pid": int(fields["pid"]),
                    "queues": [q for q in fields["queues"].split(",") if q],
                    "threads": int(fields.get("threads", 0)),
                    "running": int(fields.get("running", 0)),  # jobs it ran at its last heartbeat
                    "running_jobs": [j for j in fields.get("running_jobs", "").split(",") if j],
                    "state": fields.get("state", "running"),  # or "draining": finishing, taking nothing
                    "started_at": fields["started_at"],
                    "last_heartbeat": last,
                    "seconds_since_heartbeat": round(max(0.0, time.time() - last), 3),
                }
            )
        return workers

    async def waiting(self) -> int:
        """Jobs waiting for their first start: queued, or fetched by a worker that has not begun them."""
        with redis_errors_as_unavailable():
            return int(await self.client.zcount(keys.ACTIVE, 0, "+inf"))

    async def queues(self) -> dict[str, dict[str, int]]:
        """Ready, delayed and dead-lettered messages per declared queue."""
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=False) as pipe:
                for name in self.queue_names:
                    pipe.llen(keys.queue(name))
                    pipe.llen(keys.delay_queue(name))
                    pipe.zcard(keys.dead_letters(name))
                counts = await pipe.execute()
        return {
            name: {"ready": counts[3 * i], "delayed": counts[3 * i + 1], "dead_letters": counts[3 * i + 2]}
            for i, name in enumerate(self.queue_names)
        }

    async def ended_per_minute(self, namespace: str, *, minutes: int) -> list[dict[str, Any]]:
        """The namespace's jobs that ended in each of the last ``minutes`` minutes, oldest first,
        as its workers counted them (``middleware.run_metrics``): succeeded, failed, cancelled."""
        now = int(time.time() // 60)
        span = range(now - minutes + 1, now + 1)
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=False) as pipe:
                for minute in span:
                    pipe.hgetall(keys.ended_in_minute(namespace, minute))
                counts = await pipe.execute()
        return [
            {
                "minute": iso_time(minute * 60),
                "succeeded": int(ended.get(b"SUCCESS", 0)),
                "failed": int(ended.get(b"FAILURE", 0)),
                "cancelled": int(ended.get(b"CANCELLED", 0)),
            }
            for minute, ended in zip(span, counts, strict=True)
        ]

    async def dead_letters(self, queue: str, *, limit: int) -> list[dict[str, Any]]:
        """The queue's dead letters, newest first: each letter's id (the broker's own id of the
        message), its job's id and type, and when it died."""
        with redis_errors_as_unavailable():
            newest = await self.client.zrevrange(keys.dead_letters(queue), 0, limit - 1, withscores=True)
            ids = [text(letter_id) for letter_id, _ in newest]
            encoded = await self.client.hmget(keys.dead_letter_messages(queue), ids) if ids else []
        letters = []
        for (letter_id, (_, died)), message in zip(zip(ids, newest, strict=True), encoded, strict=True):
            fields = json.loads(message) if message is not None else {}
            letters.append(
                {
                    "id": letter_id,
                    "job_id": fields.get("message_id"),
                    "job_type": fields.get("actor_name"),
                    "dead_at": iso_time(died / 1000),  # the broker counts in ms
                }
            )
        return letters

    async def dead_letter_job(self, queue: str, letter_id: str) -> str | None:
        """The job id of the queue's dead letter ``letter_id``; None when there is no such letter."""
        with redis_errors_as_unavailable():
            message = await self.client.hget(keys.dead_letter_messages(queue), letter_id)
        return json.loads(message).get("message_id") if message is not None else None

    async def drop_dead_letter(self, queue: str, letter_id: str) -> bool:
        """Forget a dead letter; whether there was one."""
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.zrem(keys.dead_letters(queue), letter_id)
                pipe.hdel(keys.dead_letter_messages(queue), letter_id)
                removed, _ = await pipe.execute()
        return bool(removed)

    async def queue_estimate(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """Where a PENDING job stands: its place among the jobs not yet started (1 = next), and
        when it should start (``start_estimate``), from the median of its type's recent run times,
        the live worker threads and the runs they are busy with. Empty when the job is not waiting
        for its first start; ``eta`` is null when there is no recent run or no live worker."""
        job_id = snapshot["job_id"]
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.zscore(keys.ACTIVE, job_id)
                pipe.lrange(keys.recent_durations(snapshot["job_type"]), 0, -1)
                pipe.zrangebyscore(keys.ACTIVE, "-inf", "(0", withscores=True)  # the runs, -start
                created, recent, running = await pipe.execute()
            if created is None or created < 0:  # not waiting, or started (a negative score)
                return {}
            ahead = await self.client.zcount(keys.ACTIVE, 0, f"({created}")
        slots = sum(worker["threads"] for worker in await self.workers())
        eta_seconds = None
        if recent and slots:
            run_time = statistics.median(float(r) for r in recent)
            now = time.time()
            elapsed = [now + score for _, score in running]  # the score is minus the start
            eta_seconds = round(start_estimate(run_time, slots, elapsed, ahead), 1)
        return {
            "queue_position": ahead + 1,
            "eta_seconds": eta_seconds,
            "eta": utc_now(eta_seconds) if eta_seconds is not None else None,
        }

    async def figures(self) -> FleetFigures:
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hgetall(keys.METRICS_TRANSITIONS)
                pipe.hgetall(keys.METRICS_DURATIONS)
                pipe.zcount(keys.ACTIVE, 0, "+inf")
                pipe.zcount(keys.ACTIVE, "-inf", "(0")
                transitions, durations, waiting, running = await pipe.execute()
        return FleetFigures(
            transitions={text(k): int(v) for k, v in transitions.items()},
            durations={text(k): float(v) for k, v in durations.items()},
            waiting=waiting,
            running=running,
        )
