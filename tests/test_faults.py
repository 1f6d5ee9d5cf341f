"""Faults with real processes: a second copy of a running job, a draining worker, a worker killed
mid-job, Redis restarting, and Redis down while jobs run and while a worker stops. What must hold:
no job runs twice at once, every execution is counted in its job, no job is stuck, a Redis blip
fails no attempt, and a worker told to stop exits, Redis or not.

This module has its own persistent Redis (a restart keeps the jobs, as a production Redis with
append-only persistence does) and fast recovery settings: 1 s heartbeats, so a lease lasts 3 s,
and the reaper acts 1 s after a lease lapses.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid

import dramatiq
import httpx
import pytest
import redis

from actors import GROUP_FIELD
from actors.jobs import history as job_history
from actors.jobs import keys
from actors.jobs.states import snapshot_fields

from .support.api import bearer, finished, new_key, start_job
from .support.fixtures import StackOptions, WorkerPool
from .support.jobs import gate_key
from .support.servers import RedisServer, ServiceProcess, WebServer, eventually
from .support.sse import messages
from .support.stack import engine_on

FAST_RECOVERY = {
    "LEASE_GRACE": "1",
    "BROKER_HEARTBEAT_TIMEOUT": "2",
    "BROKER_MAINTENANCE_CHANCE": "1000000",
}

#: The shutdown timeout of a worker stopped during an outage: Dramatiq's default (600 s) would let
#: a worker that waits for Redis look like one that exits.
SHUTDOWN_TIMEOUT_S = 20

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack_options() -> StackOptions:
    """A persistent Redis, fast recovery for the web server and every worker, and a key per test:
    a hundred jobs and their long-polls spend much of a key's minute of requests."""
    return StackOptions(persistent_redis=True, settings=FAST_RECOVERY, key_per_test=True)


def history(client: redis.Redis, job_id: str) -> list[dict]:
    """Every snapshot the job's log holds, in order."""
    events = job_history.read(client, job_id, snapshot_fields(GROUP_FIELD))
    return [json.loads(event.data) for event in events]


def starts_a_run(event: dict) -> bool:
    """A run's first event: its claim (which, taking the job over from a lost run, says why)."""
    message = event["message"]
    return event["status"] == "STARTED" and (
        message == "Processing in progress..." or message.endswith("runs now")
    )


def assert_one_run_at_a_time(events: list[dict]) -> None:
    """Each run's events come after the run before it started, never interleaved with its own:
    the attempt a change is made under never goes back, and the last attempt is the runs' count."""
    attempts = [event["attempt"] for event in events if event["status"] in ("STARTED", "SUCCESS")]
    assert attempts == sorted(attempts), f"two runs at once: attempts went {attempts}"
    runs = sum(1 for event in events if starts_a_run(event))
    assert events[-1]["attempt"] == runs, f"{runs} runs, but the job counts {events[-1]['attempt']}"


async def test_a_second_copy_of_a_running_job_waits_and_never_runs_beside_it(
    redis_server: RedisServer, redis_client: redis.Redis, client: httpx.AsyncClient, worker: ServiceProcess
) -> None:
    gate = f"copy-{uuid.uuid4()}"
    job_id = await start_job(client, "gated_steps", gate=gate, steps=2)
    redis_client.rpush(gate_key(gate), 1)
    await eventually(
        lambda: history(redis_client, job_id)[-1]["message"] == "Step 1/2", what="step 1", timeout=30
    )
    # What Dramatiq's redelivery does when it takes a busy worker for a dead one: a second copy.
    copy = dramatiq.Message.decode(engine_on(redis_server).store.message(job_id))
    engine_on(redis_server).broker.enqueue(copy)
    await eventually(
        lambda: "deferred" in worker.log_path.read_text(), what="the copy to be deferred", timeout=30
    )
    redis_client.rpush(gate_key(gate), 1)
    assert (await finished(client, job_id))["status"] == "SUCCESS"
    events = history(redis_client, job_id)
    assert_one_run_at_a_time(events)
    assert events[-1]["attempt"] == 1, "the copy never ran"
    assert [e["message"] for e in events if e["message"].startswith("Step")] == ["Step 1/2", "Step 2/2"]


async def test_a_draining_worker_keeps_beating_and_no_second_copy_runs(
    redis_client: redis.Redis, client: httpx.AsyncClient, worker_pool: WorkerPool
) -> None:
    draining = await worker_pool.start()
    gate = f"drain-{uuid.uuid4()}"
    job_id = await start_job(client, "gated_steps", gate=gate, steps=2)
    redis_client.rpush(gate_key(gate), 1)
    await eventually(
        lambda: history(redis_client, job_id)[-1]["message"] == "Step 1/2", what="step 1", timeout=30
    )
    held_by = history(redis_client, job_id)[-1]["worker"]
    # Another worker, whose heartbeat runs the reaper and whose broker redelivers messages.
    other = await worker_pool.start()
    os.kill(draining.process.pid, signal.SIGTERM)  # to the main process, which tells its children once
    await eventually(
        lambda: redis_client.hget(keys.worker(held_by), "state") == b"draining", what="the drain", timeout=30
    )
    beat = float(redis_client.hget(keys.worker(held_by), "last_heartbeat"))
    # The drain outlasts a lease and its grace several times over: the worker beats on.
    await eventually(
        lambda: float(redis_client.hget(keys.worker(held_by), "last_heartbeat") or 0) > beat + 8,
        timeout=30,
        what="eight seconds of heartbeats while draining",
    )
    status = (await client.get("/worker/status")).json()
    states = sorted(w["state"] for w in status["workers"])
    assert states == ["draining", "running"] and status["status"] == "running", status
    redis_client.rpush(gate_key(gate), 1)
    assert (await finished(client, job_id))["status"] == "SUCCESS"
    await asyncio.to_thread(draining.process.wait, 30)
    await worker_pool.stop()  # the log read below is then the other worker's whole life
    events = history(redis_client, job_id)
    assert_one_run_at_a_time(events)
    assert events[-1]["attempt"] == 1 and events[-1]["worker"] == held_by, "the draining worker finished it"
    assert "requeued" not in other.log_path.read_text()


async def test_jobs_of_a_worker_killed_mid_run_all_finish_one_run_at_a_time(
    redis_client: redis.Redis, client: httpx.AsyncClient, worker_pool: WorkerPool
) -> None:
    """100 jobs: four running on the worker killed, more fetched by it and not started."""
    JOBS = 100
    doomed = await worker_pool.start()
    gate = f"kill-{uuid.uuid4()}"
    job_ids = [await start_job(client, "gated_steps", gate=f"{gate}-{n}", steps=2) for n in range(JOBS)]
    for n in range(JOBS):
        redis_client.rpush(gate_key(f"{gate}-{n}"), 1)
    running = lambda: [j for j in job_ids if history(redis_client, j)[-1]["message"] == "Step 1/2"]  # noqa: E731
    await eventually(
        lambda: len(running()) == 4, what="four jobs half way (the worker's threads)", timeout=30
    )
    halfway = running()
    await worker_pool.kill(doomed)
    await worker_pool.start()  # the survivor
    for n in range(JOBS):
        redis_client.rpush(gate_key(f"{gate}-{n}"), 1, 1)
    results = [await finished(client, job_id) for job_id in job_ids]
    await worker_pool.stop()
    assert [r["status"] for r in results] == ["SUCCESS"] * JOBS, [r["error"] for r in results]
    for job_id in job_ids:
        assert_one_run_at_a_time(history(redis_client, job_id))
    for job_id in halfway:  # the timeline says why a second run began (defect 12)
        taken = next(e for e in history(redis_client, job_id) if e["attempt"] == 2)
        assert taken["message"].startswith("The worker running attempt 1 stopped answering (lease lapsed")
    assert not redis_client.zrangebyscore(keys.ACTIVE, "-inf", "(0"), "no job is left STARTED"


async def test_a_redis_restart_under_200_streams_fails_no_job_and_loses_no_event(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    web: WebServer,
    client: httpx.AsyncClient,
    worker_pool: WorkerPool,
) -> None:
    # Queued before any worker runs, so that every stream is open before the jobs start.
    job_ids = [await start_job(client, "paced_steps", steps=10, pause=0.3) for _ in range(4)]
    keys_ = [new_key(web), new_key(web)]  # a key holds at most 200 streams
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    opened = asyncio.Semaphore(0)

    async def watch(job_id: str, key: str) -> list[int]:
        async with (
            httpx.AsyncClient(base_url=web.base_url, timeout=60, headers=bearer(key), limits=limits) as c,
            c.stream("GET", f"/jobs/{job_id}/events", params={"since": 0}) as response,
        ):
            seqs = []
            async for message in messages(response):
                if message.data_lines:
                    if not seqs:
                        opened.release()
                    seqs.append(message.seq)
            return seqs

    watchers = [asyncio.create_task(watch(job_id, keys_[n % 2])) for n in range(50) for job_id in job_ids]
    for _ in watchers:
        await opened.acquire()  # every stream has its first event
    await worker_pool.start()
    await eventually(
        lambda: all(len(history(redis_client, j)) >= 3 for j in job_ids), timeout=30, what="the jobs running"
    )
    redis_server.stop()  # killed outright, as a crash: the workers' next writes meet a dead socket
    await asyncio.to_thread(redis_server.start)
    seen = await asyncio.gather(*watchers)
    results = [await finished(client, job_id) for job_id in job_ids]
    await worker_pool.stop()
    assert [(r["status"], r["attempt"]) for r in results] == [("SUCCESS", 1)] * 4, results
    final = {r["job_id"]: r["seq"] for r in results}
    for (n, job_id), seqs in zip(((n, j) for n in range(50) for j in job_ids), seen, strict=True):
        assert seqs == list(range(1, final[job_id] + 1)), f"stream {n} of {job_id}: gaps or repeats {seqs}"


async def test_a_job_that_ends_while_redis_is_down_is_recorded_when_it_returns(
    redis_server: RedisServer, redis_client: redis.Redis, client: httpx.AsyncClient, worker: ServiceProcess
) -> None:
    job_id = await start_job(client, "sleepy", seconds=2)
    await eventually(
        lambda: history(redis_client, job_id)[-1]["status"] == "STARTED", timeout=30, what="the start"
    )
    redis_server.stop()
    # Down until the job has finished its work and met the outage with its result in hand.
    await eventually(
        lambda: "cannot be recorded yet" in worker.log_path.read_text(), timeout=30, what="the run to end"
    )
    await asyncio.to_thread(redis_server.start)
    result = await finished(client, job_id)
    assert (result["status"], result["attempt"], result["result"]) == ("SUCCESS", 1, {"slept": 2})
    assert not redis_client.zrangebyscore(keys.ACTIVE, "-inf", "(0"), "nothing left STARTED"


async def test_progress_reported_during_an_outage_waits_for_redis_and_the_job_goes_on(
    redis_server: RedisServer, redis_client: redis.Redis, client: httpx.AsyncClient, worker: ServiceProcess
) -> None:
    job_id = await start_job(client, "paced_steps", steps=4, pause=0.5)
    await eventually(lambda: len(history(redis_client, job_id)) >= 3, timeout=30, what="the first step")
    redis_server.stop()
    await eventually(
        lambda: f"writing job {job_id}'s progress; retrying" in worker.log_path.read_text(),
        timeout=30,
        what="a progress report to meet the outage",
    )
    await asyncio.to_thread(redis_server.start)
    result = await finished(client, job_id)
    assert (result["status"], result["attempt"]) == ("SUCCESS", 1), result
    steps = [e["message"] for e in history(redis_client, job_id) if e["message"].startswith("Step")]
    assert steps == [f"Step {n}/4" for n in range(1, 5)], "every report, once, in order"


async def test_a_worker_stopped_while_redis_is_down_exits_and_leaves_its_job_to_the_reaper(
    redis_server: RedisServer, redis_client: redis.Redis, client: httpx.AsyncClient, worker_pool: WorkerPool
) -> None:
    stopping = await worker_pool.start("--worker-shutdown-timeout", str(SHUTDOWN_TIMEOUT_S * 1000))
    job_id = await start_job(client, "sleepy", seconds=2)
    await eventually(
        lambda: history(redis_client, job_id)[-1]["status"] == "STARTED", timeout=30, what="the start"
    )
    redis_server.stop()
    await eventually(
        lambda: "cannot be recorded yet" in stopping.log_path.read_text(), timeout=30, what="the run to end"
    )
    told = time.monotonic()
    os.kill(stopping.process.pid, signal.SIGTERM)  # to the main process, as a deployment stops it
    exit_code = await asyncio.to_thread(stopping.process.wait, SHUTDOWN_TIMEOUT_S)
    took = time.monotonic() - told
    log = stopping.log_path.read_text()
    assert exit_code == 0, f"exited with {exit_code} after {took:.1f}s:\n{stopping.log_tail()}"
    assert (
        f"Job {job_id}: its SUCCESS cannot be recorded (Redis unavailable) and the worker is stopping; "
        "left to the reaper once its lease lapses"
    ) in log

    # Back with its data: the run's lease is still the job's, lapsed, as a crashed worker leaves it.
    await asyncio.to_thread(redis_server.start)
    assert history(redis_client, job_id)[-1]["status"] == "STARTED"
    assert 0 <= engine_on(redis_server).store.lapsed_for(job_id) < 60, "lapsed, not released"
    await worker_pool.start()  # whose reaper (or Dramatiq's redelivery) runs the job again
    result = await finished(client, job_id)
    assert (result["status"], result["attempt"], result["result"]) == ("SUCCESS", 2, {"slept": 2}), result
    events = history(redis_client, job_id)
    assert_one_run_at_a_time(events)
    taken = next(e for e in events if e["attempt"] == 2)
    assert taken["message"].startswith("The worker running attempt 1 stopped answering (lease lapsed")
    print(f"worker exited {took:.1f}s after SIGTERM")  # the figure docs/reliability.md quotes
