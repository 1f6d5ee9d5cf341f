"""Crashes and periodic maintenance: a worker killed mid-job, the reaper and the cleanup run by a
worker, and the real ``periodiq`` scheduler enqueueing them. Dramatiq's redelivery is tuned to
seconds instead of a minute, and a STARTED job counts as orphaned as soon as its worker is gone."""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Iterator

import dramatiq
import httpx
import pytest
import redis

from actors.jobs import keys
from actors.jobs.leases import LOST_RUNS_ALLOWED
from actors.jobs.maintenance import MAINTENANCE_QUEUE
from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .support.api import TENANT, start_job
from .support.fixtures import StackOptions, WorkerPool
from .support.jobs import gate_key
from .support.servers import RedisServer, ServiceProcess, eventually, periodiq_command, service_env
from .support.sse import messages
from .support.stack import engine_on

FAST_RECOVERY = {"BROKER_HEARTBEAT_TIMEOUT": "2", "BROKER_MAINTENANCE_CHANCE": "1000000", "LEASE_GRACE": "0"}
#: periodiq enqueues the every-minute actors as it starts (or at the next minute, when it starts in
#: a minute's last seconds), then every minute; its test waits up to this long on a loaded machine.
SCHEDULE_WAIT_S = 90


@pytest.fixture(scope="module")
def stack_options() -> StackOptions:
    """Fast recovery for the web server and every worker; a Redis that forgets, as no test here
    restarts it."""
    return StackOptions(settings=FAST_RECOVERY)


async def watch_until(client: httpx.AsyncClient, job_id: str, done) -> list[dict]:  # type: ignore[no-untyped-def]
    seen = []
    async with client.stream("GET", f"/jobs/{job_id}/events", params={"since": 0}) as response:
        async for message in messages(response):
            if message.data_lines:
                seen.append(message.data)
                if done(message.data):
                    return seen
    return seen


@pytest.mark.slow
async def test_a_job_whose_worker_is_killed_is_redelivered_and_finishes(
    redis_client: redis.Redis, client: httpx.AsyncClient, worker_pool: WorkerPool
) -> None:
    first = await worker_pool.start()
    gate = f"crash-{uuid.uuid4()}"
    job_id = await start_job(client, "gated_steps", gate=gate, steps=2)
    redis_client.rpush(gate_key(gate), 1)
    progress = await watch_until(client, job_id, lambda s: s["message"] == "Step 1/2")
    doomed = progress[-1]["worker"]
    await worker_pool.kill(first)
    await worker_pool.start()  # another worker, to pick the job up
    redis_client.rpush(gate_key(gate), 1, 1)
    history = await watch_until(client, job_id, lambda s: JobStatus(s["status"]).is_terminal)
    await worker_pool.stop()
    final = history[-1]
    assert final["status"] == "SUCCESS", history
    run_by = {s["attempt"]: s["worker"] for s in history if s["status"] == "STARTED"}
    assert run_by[1] == doomed and run_by[max(run_by)] != doomed, "picked up by another worker"
    # Why attempt 2 began (defect 12): whether the reaper requeued the job or another copy of its
    # message took it over, the first event of attempt 2 says the first run's worker went silent.
    why = next(s for s in history if s["attempt"] == 2)
    assert why["message"].startswith("The worker running attempt 1 stopped answering (lease lapsed "), why
    assert why["message"].endswith(("attempt 2 will run", "attempt 2 runs now")), why


@pytest.mark.slow
async def test_a_worker_frozen_past_its_lease_comes_back_and_leaves_the_job_to_its_new_run(
    redis_server: RedisServer, client: httpx.AsyncClient
) -> None:
    """The job is taken over while its worker is frozen; the run that took it over ends it, alone.

    Two ways this went wrong: the frozen run, back, finds its job taken over (``LeaseLost``) and
    stops, Dramatiq dead-letters its message, and that wrote FAILURE over the new run's job; and a
    second copy of the message (redelivered and requeued both), skipped while the new run held the
    job, released that run's lease in the same process, so the job was reaped from under it."""
    pool = WorkerPool(redis_server, {**FAST_RECOVERY, "WORKER_HEARTBEAT_INTERVAL": "1"})  # 3 s leases
    try:
        first = await pool.start()
        job_id = await start_job(client, "paced_steps", steps=20, pause=0.3)
        await watch_until(client, job_id, lambda s: s["status"] == "STARTED" and s["progress"])
        os.killpg(first.process.pid, signal.SIGSTOP)  # frozen: no heartbeat, no lease renewed
        await pool.start()
        await watch_until(client, job_id, lambda s: s["attempt"] == 2 and s["status"] == "STARTED")
        os.killpg(first.process.pid, signal.SIGCONT)  # its next report finds the job taken over
        await eventually(
            lambda: f"Job {job_id} run stopped" in first.log_path.read_text(),
            timeout=30,
            what="the first run to find its lease lost",
        )
        history = await watch_until(client, job_id, lambda s: JobStatus(s["status"]).is_terminal)
    finally:
        await pool.stop()
    lines = "\n".join(f"{s['status']} attempt {s['attempt']}: {s['message']}" for s in history)
    assert history[-1]["status"] == "SUCCESS" and history[-1]["attempt"] == 2, lines


def orphan(store: JobStore, job_type: str, kwargs: dict, *, runs: int = 1) -> str:
    """A job left STARTED by ``runs`` runs whose workers vanished (each lease lapsed at once), its
    message lost with the last."""
    job_id = str(uuid.uuid4())
    message = dramatiq.Message(
        queue_name="default", actor_name=job_type, args=(), kwargs=kwargs, options={}, message_id=job_id
    )
    store.create(JobRef(job_id), job_type, message=message.encode())
    for run in range(runs):
        store.claim(JobRef(job_id, run=f"a-run-that-died-{run}"), lease=0, worker="ghost-worker-that-died")
    return job_id


def run_maintenance(redis_server: RedisServer, *actor_names: str) -> None:
    """Enqueue maintenance actors, as the scheduler does each minute."""
    broker = engine_on(redis_server).broker
    for name in actor_names:
        broker.enqueue(
            dramatiq.Message(queue_name=MAINTENANCE_QUEUE, actor_name=name, args=(), kwargs={}, options={})
        )


async def test_the_reaper_and_cleanup_leave_no_job_stuck_and_nothing_behind(
    redis_server: RedisServer, redis_client: redis.Redis, client: httpx.AsyncClient, worker: ServiceProcess
) -> None:
    store = engine_on(redis_server).store
    retried = orphan(store, "flaky", {"failures": 0})  # has retries left: requeued, then runs
    # max_retries=0, and it has lost as many runs as a job may (LOST_RUNS_ALLOWED): fails
    exhausted = orphan(store, "quick_steps", {"steps": 1}, runs=1 + LOST_RUNS_ALLOWED)
    ghost = str(uuid.uuid4())
    store.create(JobRef(ghost, TENANT), "quick_steps")
    # Its record expired long after its creation (a day ago, the index says): its entries must go.
    redis_client.delete(keys.job(ghost))
    for index in (keys.jobs_index(TENANT), keys.ACTIVE):
        redis_client.zadd(index, {ghost: 1_000_000}, xx=True)
    young = str(uuid.uuid4())
    store.create(JobRef(young, TENANT), "quick_steps")
    redis_client.delete(keys.job(young))  # gone before it could have expired: not looked at
    run_maintenance(redis_server, "clean_up")  # the reaper needs no tick: the worker's heartbeat runs it
    await eventually(
        lambda: "Maintenance: cleanup removed 2 stale index entries" in worker.log_path.read_text(),
        timeout=30,
        what="the cleanup to run",
    )
    history = await watch_until(client, retried, lambda s: JobStatus(s["status"]).is_terminal)
    assert [(s["status"], s["attempt"]) for s in history][-3:] == [
        ("PENDING", 2),
        ("STARTED", 2),
        ("SUCCESS", 2),
    ]
    requeued = history[-3]["message"]
    assert requeued.startswith("The worker running attempt 1 stopped answering (lease lapsed ")
    assert requeued.endswith(" s ago); attempt 2 will run"), requeued
    # Its lease lapsed a moment after the other's: the reaper may end it one round later.
    await watch_until(client, exhausted, lambda s: JobStatus(s["status"]).is_terminal)
    failed = store.snapshot(exhausted)
    assert failed["status"] == "FAILURE" and failed["error"]["type"] == "worker_lost"
    last_attempt = 1 + LOST_RUNS_ALLOWED
    assert failed["message"].startswith(f"The worker running attempt {last_attempt} stopped answering")
    assert failed["message"].endswith("no attempt is left")
    assert failed["error"]["message"] == failed["message"]
    assert redis_client.zscore(keys.jobs_index(TENANT), ghost) is None
    assert redis_client.zscore(keys.ACTIVE, ghost) is None
    assert redis_client.zscore(keys.jobs_index(TENANT), young) is not None, "younger than any TTL"
    assert not redis_client.zrangebyscore(keys.ACTIVE, "-inf", "(0"), "no job is left STARTED"


@pytest.fixture
def scheduler(redis_server: RedisServer) -> Iterator[ServiceProcess]:
    process = ServiceProcess(
        "scheduler",
        [*periodiq_command(sys.executable), "actors"],
        service_env(redis_server.url, **FAST_RECOVERY),
    )
    yield process
    process.stop()


@pytest.mark.slow
@pytest.mark.timeout(SCHEDULE_WAIT_S + 60)
async def test_the_scheduler_enqueues_the_maintenance(
    scheduler: ServiceProcess, worker: ServiceProcess
) -> None:
    await eventually(
        lambda: (
            scheduler.check_alive()
            and all(
                f"Maintenance: {what}" in worker.log_path.read_text()
                for what in ("pruned", "reaper requeued", "cleanup removed")
            )
        ),
        timeout=SCHEDULE_WAIT_S,
        what="the scheduler's minute tick and the maintenance it enqueues",
    )
