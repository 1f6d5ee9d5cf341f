"""Periodic maintenance, scheduled by ``periodiq actors`` every minute and run by the workers.

- ``prune_workers``: forget workers whose heartbeat stopped.
- ``reap_orphans``: the reaper of lapsed leases (``leases.reap``), as a back-stop: every worker's
  heartbeat already runs it, one worker per interval, so a crashed run is retried within seconds;
  no job stays STARTED forever.
- ``clean_up``: drop the index entries of expired jobs (a job's record, history and message all
  expire by themselves). Only entries old enough to have expired are looked at: every record
  lives at least ``min(RESULT_TTL, PENDING_TTL)`` after its creation, so a sweep reads the jobs
  created before that (those expired since the last sweep, and the few still kept that old), not
  every job kept. The indexes are found from the namespaces and their groups, not by a SCAN.

Each run logs one line saying what it did. The actors run on their own queue (``maintenance``),
so no backlog of jobs delays them, and periodiq skips a tick only when it is a day late (each
actor is idempotent: a late tick does what a timely one would). They find the engine through the
broker they run on (``JobEngine.of``); ``sweep`` takes what it works on as an argument.
"""

from __future__ import annotations

import logging
import time

import dramatiq
import redis
from periodiq import cron

from . import keys
from .engine import JobEngine
from .middleware import prune_stale_workers

logger = logging.getLogger("jobs.maintenance")

#: Index entries examined per round trip while cleaning up.
SCAN_BATCH = 500
WORKER_LOST = "The worker running this job stopped"


#: The queue maintenance runs on, apart from the jobs'.
MAINTENANCE_QUEUE = "maintenance"


@dramatiq.actor(periodic=cron("* * * * *"), max_retries=0, queue_name=MAINTENANCE_QUEUE)
def prune_workers() -> None:
    """Forget workers whose heartbeat stopped (a crash leaves no clean unregistration)."""
    engine = JobEngine.of(dramatiq.get_broker())
    removed = prune_stale_workers(engine.client, engine.settings.worker_heartbeat_interval)
    logger.info("Maintenance: pruned %d stale %s", removed, "worker" if removed == 1 else "workers")


@dramatiq.actor(periodic=cron("* * * * *"), max_retries=0, queue_name=MAINTENANCE_QUEUE)
def reap_orphans() -> None:
    requeued, failed = JobEngine.of(dramatiq.get_broker()).reap()
    logger.info(
        "Maintenance: reaper requeued %d orphaned %s and failed %d",
        requeued,
        "job" if requeued == 1 else "jobs",
        failed,
    )


@dramatiq.actor(periodic=cron("* * * * *"), max_retries=0, queue_name=MAINTENANCE_QUEUE)
def clean_up() -> None:
    engine = JobEngine.of(dramatiq.get_broker())
    kept_for = min(engine.settings.result_ttl, engine.settings.pending_ttl)
    removed = sweep(engine.client, kept_for=kept_for)
    logger.info("Maintenance: cleanup removed %s", ", ".join(f"{n} {what}" for what, n in removed.items()))


def sweep(client: redis.Redis, *, kept_for: float = 0) -> dict[str, int]:
    """Remove the index entries of jobs no longer kept; returns how many of each kind went.
    ``kept_for``: seconds every job is kept at least after its creation (entries younger than
    that are not looked at)."""
    cutoff_us = int((time.time() - kept_for) * 1_000_000)
    removed = {"stale index entries": 0, "expired groups": 0}
    indexes = [keys.ACTIVE]  # its PENDING entries (> 0, creation µs); the reaper sees to the STARTED
    for raw_namespace in client.zrange(keys.NAMESPACES, 0, -1):
        namespace = raw_namespace.decode()
        indexes.append(keys.jobs_index(namespace))
        for raw_group in client.zrange(keys.groups(namespace), 0, -1):
            index = keys.group_jobs(namespace, raw_group.decode())
            if client.exists(index):
                indexes.append(index)
            else:  # the group's index expired with its last job's logs
                removed["expired groups"] += client.zrem(keys.groups(namespace), raw_group)
    for index in indexes:
        removed["stale index entries"] += _sweep_index(
            client, index, "(0" if index == keys.ACTIVE else "-inf", cutoff_us
        )
    return removed


def _sweep_index(client: redis.Redis, index: str, lowest: str, cutoff_us: int) -> int:
    """Remove from ``index`` (job id -> creation µs) the jobs created from ``lowest`` to
    ``cutoff_us`` whose record is gone, ``SCAN_BATCH`` at a time; how many went."""
    removed = 0
    while True:
        batch = client.zrangebyscore(index, lowest, cutoff_us, start=0, num=SCAN_BATCH, withscores=True)
        if not batch:
            return removed
        with client.pipeline(transaction=False) as pipe:
            for raw_id, _ in batch:
                pipe.exists(keys.job(raw_id.decode()))
            kept = pipe.execute()
        gone = [raw_id for (raw_id, _), exists in zip(batch, kept, strict=True) if not exists]
        if gone:
            removed += client.zrem(index, *gone)
        if len(batch) < SCAN_BATCH:
            return removed
        lowest = f"({int(batch[-1][1])}"
