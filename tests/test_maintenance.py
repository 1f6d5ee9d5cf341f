"""Crashes and periodic maintenance: a worker killed mid-job, and the reaper and cleanup run by
the real ``periodiq`` scheduler. This module has its own Redis, web server and workers, with
Dramatiq's redelivery tuned to seconds instead of a minute."""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import dramatiq
import httpx
import pytest
import redis

from actors import keys
from actors.states import JobStatus
from actors.store import JobStore

from .support.api import start_job
from .support.jobs import gate_key
from .support.servers import RedisServer, ServiceProcess, WebServer, service_env, start_workers, wait_until
from .support.sse import messages

FAST_RECOVERY = {"BROKER_HEARTBEAT_TIMEOUT": "2", "BROKER_MAINTENANCE_CHANCE": "1000000", "ORPHAN_AFTER": "1"}
#: The scheduler ticks at the top of each minute: the reaper's test waits for one tick.
SCHEDULE_WAIT_S = 75


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_web(own_redis: RedisServer) -> Iterator[WebServer]:
    server = WebServer(own_redis, **FAST_RECOVERY)
    yield server
    server.stop()


@pytest.fixture
async def http(own_web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=own_web.base_url, timeout=60) as client:
        yield client


async def watch_until(client: httpx.AsyncClient, job_id: str, done) -> list[dict]:  # type: ignore[no-untyped-def]
    seen = []
    async with client.stream("GET", f"/jobs/{job_id}/events", params={"since": 0}) as response:
        async for message in messages(response):
            if message.data_lines:
                seen.append(message.data)
                if done(message.data):
                    return seen
    return seen


async def test_a_job_whose_worker_is_killed_is_redelivered_and_finishes(
    own_redis: RedisServer, http: httpx.AsyncClient
) -> None:
    client = own_redis.client()
    first = start_workers(own_redis, **FAST_RECOVERY)
    second: ServiceProcess | None = None
    try:
        gate = f"crash-{uuid.uuid4()}"
        job_id = await start_job(http, "gated_steps", gate=gate, steps=2)
        client.rpush(gate_key(gate), 1)
        progress = await watch_until(http, job_id, lambda s: s["message"] == "Step 1/2")
        doomed = progress[-1]["worker"]
        os.killpg(first.process.pid, signal.SIGKILL)  # no clean shutdown, no ack
        first.process.wait()
        second = start_workers(own_redis, **FAST_RECOVERY)
        client.rpush(gate_key(gate), 1, 1)
        history = await watch_until(http, job_id, lambda s: JobStatus(s["status"]).is_terminal)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    final = history[-1]
    assert final["status"] == "SUCCESS", history
    restarts = [
        s for s in history if s["status"] == "STARTED" and s["message"] == "Processing in progress..."
    ]
    assert restarts[0]["worker"] == doomed and restarts[-1]["worker"] != doomed, "picked up by another worker"


@pytest.fixture
def scheduler(own_redis: RedisServer) -> Iterator[ServiceProcess]:
    code = "import sys; from periodiq import entrypoint; sys.argv[0] = 'periodiq'; sys.exit(entrypoint())"
    process = ServiceProcess(
        "scheduler", [sys.executable, "-c", code, "actors"], service_env(own_redis.url, **FAST_RECOVERY)
    )
    yield process
    process.stop()


def orphan(store: JobStore, job_type: str, kwargs: dict) -> str:
    """A job left STARTED by a worker that vanished, its message lost with it."""
    job_id = str(uuid.uuid4())
    message = dramatiq.Message(
        queue_name="default", actor_name=job_type, args=(), kwargs=kwargs, options={}, message_id=job_id
    )
    store.create(job_id, job_type)
    store.remember_message(job_id, message.encode())
    store.transition(job_id, JobStatus.STARTED, worker="ghost-worker-that-died")
    return job_id


@pytest.mark.timeout(240)
async def test_the_scheduled_reaper_and_cleanup_leave_no_job_stuck_and_nothing_behind(
    own_redis: RedisServer, http: httpx.AsyncClient, scheduler: ServiceProcess
) -> None:
    client: redis.Redis = own_redis.client()
    store = JobStore(client=client)
    worker = start_workers(own_redis, **FAST_RECOVERY)
    try:
        retried = orphan(store, "flaky", {"failures": 0})  # has retries left: requeued, then runs
        exhausted = orphan(store, "quick_steps", {"steps": 1})  # max_retries=0: fails
        ghost_log = str(uuid.uuid4())
        store.create(ghost_log, "quick_steps")
        client.delete(keys.job(ghost_log))  # the snapshot went; its log must not linger
        # A tick within ORPHAN_AFTER of their creation leaves them for the next one: allow two.
        wait_until(
            lambda: (
                "Maintenance: cleanup removed" in worker.log_path.read_text()
                and "Maintenance: reaper requeued 1 and failed 1" in worker.log_path.read_text()
            ),
            timeout=2 * SCHEDULE_WAIT_S,
            what="the scheduled maintenance to run",
        )
        history = await watch_until(http, retried, lambda s: JobStatus(s["status"]).is_terminal)
    finally:
        worker.stop()
    assert [(s["status"], s["attempt"]) for s in history][-3:] == [
        ("PENDING", 2),
        ("STARTED", 2),
        ("SUCCESS", 2),
    ]
    assert "The worker running this job stopped" in history[-3]["message"]
    failed = store.snapshot(exhausted)
    assert failed["status"] == "FAILURE" and failed["error"]["type"] == "worker_lost"
    assert not client.exists(keys.job_log(ghost_log))
    assert client.zscore(keys.JOBS_INDEX, ghost_log) is None
    assert not client.zrange(keys.RUNNING, 0, -1), "no job is left STARTED"
