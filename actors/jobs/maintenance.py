"""Periodic maintenance, scheduled by ``periodiq actors`` every minute and run by the workers.

- ``prune_workers``: forget workers whose heartbeat stopped.
- ``reap_orphans``: the reaper of lapsed leases (``leases.reap``), as a back-stop: every worker's
  heartbeat already runs it, one worker per interval, so a crashed run is retried within seconds;
  no job stays STARTED forever.
- ``clean_up``: drop what outlived its job: event logs without a snapshot (a job that expired
  before it ended leaves its log without a time to live), index entries of expired jobs.

Each run logs one line saying what it did. The actors run on their own queue (``maintenance``),
so no backlog of jobs delays them, and periodiq skips a tick only when it is a day late (each
actor is idempotent: a late tick does what a timely one would). They find the engine through the
broker they run on (``JobEngine.of``); ``sweep`` takes what it works on as an argument.
"""

from __future__ import annotations

import logging

import dramatiq
import redis
from periodiq import cron

from . import keys
from .engine import JobEngine
from .middleware import prune_stale_workers

logger = logging.getLogger("jobs.maintenance")

#: Keys examined per SCAN round trip while cleaning up.
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
    removed = sweep(JobEngine.of(dramatiq.get_broker()).client)
    logger.info("Maintenance: cleanup removed %s", ", ".join(f"{n} {what}" for what, n in removed.items()))


def sweep(client: redis.Redis) -> dict[str, int]:
    """Remove what outlived its job; returns how many of each kind went."""
    removed = {"orphaned logs": 0, "stale index entries": 0}
    for key in client.scan_iter(match=keys.job_log("*"), count=SCAN_BATCH):
        job_id = key.decode().removeprefix(keys.job_log(""))
        if not client.exists(keys.job(job_id)):
            removed["orphaned logs"] += client.delete(key)
    indexes = (
        keys.ACTIVE,
        *(k.decode() for k in client.scan_iter(match=keys.jobs_index("*"))),
        *(k.decode() for k in client.scan_iter(match=keys.group_jobs("*", "*"))),
    )
    for index in indexes:
        for raw_id, _ in client.zscan_iter(index, count=SCAN_BATCH):
            if not client.exists(keys.job(raw_id.decode())):
                removed["stale index entries"] += client.zrem(index, raw_id)
    return removed
