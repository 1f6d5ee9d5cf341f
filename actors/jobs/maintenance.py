"""Periodic maintenance, scheduled by ``periodiq actors`` every minute and run by the workers.

- ``prune_workers``: forget workers whose heartbeat stopped.
- ``reap_orphans``: a job STARTED on a worker that is gone, and not picked up again by Dramatiq's
  own redelivery within ``ORPHAN_AFTER`` seconds, is requeued from its stored message while it has
  attempts left, else ends FAILURE (``worker_lost``): no job stays STARTED forever.
- ``clean_up``: drop what outlived its job: event logs without a snapshot, stored messages of
  finished jobs, index entries of expired jobs.

Each run logs one line saying what it did. The actors find the engine through the broker they
run on (``JobEngine.of``); ``reap`` and ``sweep`` take what they work on as arguments.
"""

from __future__ import annotations

import json
import logging
import time

import dramatiq
import redis
from periodiq import cron

from . import keys
from .engine import JobEngine
from .middleware import MISSED_BEATS_ALLOWED, prune_stale_workers
from .states import JobStatus

logger = logging.getLogger("jobs.maintenance")

#: Keys examined per SCAN round trip while cleaning up.
SCAN_BATCH = 500
WORKER_LOST = "The worker running this job stopped"


@dramatiq.actor(periodic=cron("* * * * *"), max_retries=0)
def prune_workers() -> None:
    """Forget workers whose heartbeat stopped (a crash leaves no clean unregistration)."""
    engine = JobEngine.of(dramatiq.get_broker())
    removed = prune_stale_workers(engine.client, engine.settings.worker_heartbeat_interval)
    logger.info("Maintenance: pruned %d stale worker(s)", removed)


@dramatiq.actor(periodic=cron("* * * * *"), max_retries=0)
def reap_orphans() -> None:
    requeued, failed = reap(JobEngine.of(dramatiq.get_broker()))
    logger.info("Maintenance: reaper requeued %d and failed %d orphaned job(s)", requeued, failed)


@dramatiq.actor(periodic=cron("* * * * *"), max_retries=0)
def clean_up() -> None:
    removed = sweep(JobEngine.of(dramatiq.get_broker()).client)
    logger.info("Maintenance: cleanup removed %s", ", ".join(f"{n} {what}" for what, n in removed.items()))


def reap(engine: JobEngine) -> tuple[int, int]:
    """Requeue or fail the jobs STARTED on workers that are gone; returns (requeued, failed)."""
    broker, store, settings, client = engine.broker, engine.store, engine.settings, engine.client
    now = time.time()
    fresh_after = now - settings.worker_heartbeat_interval * MISSED_BEATS_ALLOWED
    live = {w.decode() for w in client.zrangebyscore(keys.WORKERS, fresh_after, "+inf")}
    requeued = failed = 0
    for raw_id, started in client.zrange(keys.RUNNING, 0, -1, withscores=True):
        job_id = raw_id.decode()
        namespace = store.namespace_of(job_id)
        snapshot = store.snapshot(job_id, namespace=namespace) if namespace is not None else None
        if snapshot is None or snapshot["status"] != JobStatus.STARTED.value:
            client.zrem(keys.RUNNING, job_id)
            continue
        if snapshot.get("worker") in live or now - started < settings.orphan_after:
            continue
        encoded = store.message(job_id)
        message = dramatiq.Message.decode(encoded) if encoded is not None else None
        if (
            message is not None
            and message.actor_name in broker.actors
            and snapshot["attempt"] <= engine.status.max_retries(broker, message)
        ):
            retry = message.copy(
                options={"retries": snapshot["attempt"], "traceback": f"WorkerLost: {WORKER_LOST}"}
            )
            broker.enqueue(retry, delay=0)  # the status middleware records it as a retry (PENDING)
            logger.warning("Job %s requeued: its worker %s is gone", job_id, snapshot.get("worker"))
            requeued += 1
        else:
            store.transition(
                job_id,
                JobStatus.FAILURE,
                namespace=namespace,
                group=snapshot[store.group_field],
                error={"type": "worker_lost", "message": f"{WORKER_LOST}, and the job has no attempt left"},
            )
            logger.warning("Job %s failed: its worker %s is gone", job_id, snapshot.get("worker"))
            failed += 1
    return requeued, failed


def sweep(client: redis.Redis) -> dict[str, int]:
    """Remove what outlived its job; returns how many of each kind went."""
    removed = {"orphaned logs": 0, "finished jobs' messages": 0, "stale index entries": 0}
    for key in client.scan_iter(match=keys.job_log("*"), count=SCAN_BATCH):
        job_id = key.decode().removeprefix(keys.job_log(""))
        if not client.exists(keys.job(job_id)):
            removed["orphaned logs"] += client.delete(key)
    for key in client.scan_iter(match=keys.job_message("*"), count=SCAN_BATCH):
        job_id = key.decode().removeprefix(keys.job_message(""))
        status = client.hget(keys.job(job_id), "status")  # a JSON-encoded field, like every other
        if status is None or JobStatus(json.loads(status)).is_terminal:
            removed["finished jobs' messages"] += client.delete(key)
    indexes = (
        keys.WAITING,
        *(k.decode() for k in client.scan_iter(match=keys.jobs_index("*"))),
        *(k.decode() for k in client.scan_iter(match=keys.group_jobs("*", "*"))),
    )
    for index in indexes:
        for raw_id, _ in client.zscan_iter(index, count=SCAN_BATCH):
            if not client.exists(keys.job(raw_id.decode())):
                removed["stale index entries"] += client.zrem(index, raw_id)
    return removed
