"""Leases: every run of a job holds one, so that a job runs at most once at a time.

A run starts by *claiming* its job (``JobStore.claim``): the job becomes STARTED under a new run
token, with a lease of ``lease`` seconds. From then on every write the run makes (progress, its
terminal status, its retry) names the token, and the store refuses it once the token is not the
job's any more: that is the fence. The worker's heartbeat thread renews the leases of the runs
its process holds (``RunLeases.renew``), so a lease lapses only when its process stopped beating
or the run ended without a terminal status (an outage ate it, say).

A second copy of a job's message (Dramatiq's redelivery of a busy or dead worker's messages, a
retry racing its own bookkeeping, the reaper) that arrives while a live lease is held does not
start: it is deferred until the lease's end and looked at again. A copy that finds the lease
lapsed takes the job over; the old run, if it still runs, is refused at its next write and
stopped (``LeaseLost``).

The reaper (``reap``, run by whichever worker's heartbeat wins the round, and by the periodic
``reap_orphans`` as a back-stop) finds STARTED jobs whose lease lapsed ``grace`` seconds ago or
more and requeues them from their stored message while their runs are within their retries plus
``LOST_RUNS_ALLOWED``, else fails them (``worker_lost``). A crashed run is therefore retried
within lease + grace + one heartbeat of its last renewal: 35 s with the default 5 s heartbeat.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable

import dramatiq
import redis

from . import keys
from .errors import StoreUnavailable
from .ref import JobRef
from .states import MESSAGE_FIELD, JobStatus
from .store import JobStore

logger = logging.getLogger("jobs.leases")

#: Option carried by a copy of a message that the reaper requeued.
REAPED_OPTION = "reaped"
#: Runs a job may lose to dead workers beyond its retries before it fails ``worker_lost``: a lost
#: run is not the job's failure (Dramatiq's own redelivery does not count it either), but a job
#: that kills its worker every time must end.
LOST_RUNS_ALLOWED = 2


class RunLeases:
    """The runs this process holds (job id -> the run's ``JobRef``), and their renewal; safe
    across threads. A run's ref is what its later writes and progress reports name."""

    def __init__(self, *, store: JobStore, lease: float) -> None:
        self.store = store
        self.lease = lease
        self._runs: dict[str, JobRef] = {}
        self._lock = threading.Lock()

    def hold(self, run: JobRef) -> None:
        with self._lock:
            self._runs[run.job_id] = run

    def release(self, job_id: str) -> None:
        with self._lock:
            self._runs.pop(job_id, None)

    def run_of(self, job_id: str) -> JobRef | None:
        """The ref of the run this process holds of ``job_id``, if it holds one."""
        with self._lock:
            return self._runs.get(job_id)

    def held(self) -> dict[str, str]:
        """Each held job's run token."""
        with self._lock:
            return {job_id: run.run for job_id, run in self._runs.items()}

    def renew(self) -> set[str]:
        """Extend every held lease; returns the jobs whose run is not theirs any more."""
        return self.store.renew(self.held(), lease=self.lease)


def reap(
    *,
    broker: dramatiq.Broker,
    store: JobStore,
    grace: float,
    max_retries: Callable[[dramatiq.Message], int],
) -> tuple[int, int]:
    """Requeue, or fail when out of attempts, every STARTED job whose lease lapsed ``grace``
    seconds ago or more; returns (requeued, failed)."""
    client = store.client
    requeued = failed = 0
    for raw_id in client.zrangebyscore(keys.ACTIVE, "-inf", "(0"):  # the STARTED ones
        job_id = raw_id.decode()
        lapsed = store.lapsed_for(job_id)
        if lapsed < grace:
            continue  # a live run (the common case: one read), or one that may still renew
        record = store.record(job_id)  # a lapsed one: read once, whole
        ref = store.ref_of(job_id, record)
        if ref is None or record.get("status") != b'"STARTED"':
            client.zrem(keys.ACTIVE, job_id)
            continue
        encoded = record.get(MESSAGE_FIELD)
        message = dramatiq.Message.decode(encoded) if encoded is not None else None
        runs = json.loads(record.get("attempt") or b"1") or 1
        worker = json.loads(record.get("worker") or b"null")
        why = lost_run(runs, lapsed if math.isfinite(lapsed) else None)
        allowed = max_retries(message) + LOST_RUNS_ALLOWED if message is not None else 0
        if message is not None and message.actor_name in broker.actors and runs <= allowed:
            # The copy first, then the record, and that only while the lease is still lapsed: if
            # the copy is claimed first (a takeover), the record stays the new run's; if sending
            # fails, the job is still STARTED and lapsed, and the next round tries again.
            broker.enqueue(message.copy(options={"retries": runs, REAPED_OPTION: True}))
            store.reap(
                ref,
                JobStatus.PENDING,
                lapsed_for=grace,
                message=f"{why}; attempt {runs + 1} will run",
                attempt=runs + 1,
                error={"type": "worker_lost", "message": why},
                _run="",
            )
            logger.warning("Job %s requeued: its run's lease lapsed (worker %s)", job_id, worker)
            requeued += 1
        elif store.reap(
            ref,
            JobStatus.FAILURE,
            lapsed_for=grace,
            message=f"{why}; no attempt is left",
            error={"type": "worker_lost", "message": f"{why}; no attempt is left"},
        ):
            logger.warning("Job %s failed: its run's lease lapsed (worker %s)", job_id, worker)
            failed += 1
    return requeued, failed


def lost_run(attempt: int, lapsed_s: float | None) -> str:
    """Why a run was lost, for the job's timeline: its worker stopped renewing the lease (lapsed
    ``lapsed_s`` seconds ago; None when the run never held one). The store's script says the same
    when a claim takes a job over (``lua/change/claim.lua``)."""
    reason = f"The worker running attempt {attempt} stopped answering"
    return reason if lapsed_s is None else f"{reason} (lease lapsed {int(lapsed_s)} s ago)"


def reap_if_first(client: redis.Redis, worker_id: str, period: float, reaper: Callable[[], object]) -> bool:
    """Run ``reaper`` unless another worker ran it within ``period`` seconds; whether it ran."""
    try:
        if not client.set(keys.REAPER_TURN, worker_id, nx=True, px=max(1, int(period * 1000))):
            return False
        reaper()
    except (StoreUnavailable, redis.RedisError):
        logger.warning("Reaper round skipped: Redis unavailable")
        return False
    return True


def lease_remaining(store: JobStore, job_id: str) -> float:
    """Seconds until the job's lease lapses (0 when lapsed or unknown)."""
    return max(0.0, -store.lapsed_for(job_id))
