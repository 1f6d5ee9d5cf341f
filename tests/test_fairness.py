"""Fair share between tenants: while one tenant's jobs hold a worker, another tenant's job still
finds a thread; the flooding tenant's jobs wait their turn (parked) and every one of them runs.
Each test has a Redis, a web server and a worker of 4 threads of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from .support.api import bearer, finished, new_key, start_job
from .support.jobs import gate_key
from .support.servers import RedisServer, ServiceProcess, WebServer, eventually, redis_running, start_workers

THREADS = 4
#: The flooding tenant's jobs: far more than the worker has threads.
FLOOD = 12


@dataclass
class Fleet:
    redis: RedisServer
    web: WebServer
    keys: dict[str, str]
    workers: ServiceProcess | None = None


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    with redis_running() as redis_server:
        web = WebServer(redis_server)
        fleet = Fleet(redis_server, web, {})
        try:
            yield fleet
        finally:
            if fleet.workers is not None:
                fleet.workers.stop()
            web.stop()


def tenants(fleet: Fleet, *names: str) -> None:
    """Keys of ``names``, made before the worker starts: it knows from its first beat how many
    tenants it serves."""
    fleet.keys = {name: new_key(fleet.web, name) for name in names}
    fleet.workers = start_workers(fleet.redis, threads=THREADS)


async def started_jobs(client: httpx.AsyncClient) -> int:
    return len((await client.get("/jobs", params={"status": "STARTED"})).json()["jobs"])


async def test_another_tenants_job_runs_while_one_tenant_holds_the_worker(fleet: Fleet) -> None:
    tenants(fleet, "flooder", "neighbour")
    gate = uuid.uuid4().hex
    base = fleet.web.base_url
    async with (
        httpx.AsyncClient(base_url=base, timeout=30, headers=bearer(fleet.keys["flooder"])) as flooder,
        httpx.AsyncClient(base_url=base, timeout=30, headers=bearer(fleet.keys["neighbour"])) as neighbour,
    ):
        flood = [await start_job(flooder, "gated_steps", gate=gate, steps=1) for _ in range(FLOOD)]

        async def flooder_holds_its_share() -> bool:
            return await started_jobs(flooder) == THREADS - 1

        await eventually(flooder_holds_its_share, timeout=30, what="the flooder's jobs to take their share")
        # Every flooding job blocks until its gate opens: only a kept thread can run this one.
        small = await start_job(neighbour, "quick_steps", steps=1)
        assert (await finished(neighbour, small))["status"] == "SUCCESS"
        assert await started_jobs(flooder) == THREADS - 1, "the flooder never took the kept thread"
        fleet.redis.client().rpush(gate_key(gate), *range(FLOOD))
        for job_id in flood:  # parked, none is lost: each runs once its turn comes
            assert (await finished(flooder, job_id))["status"] == "SUCCESS"


async def test_one_tenant_alone_uses_every_thread(fleet: Fleet) -> None:
    tenants(fleet, "alone")
    gate = uuid.uuid4().hex
    async with httpx.AsyncClient(
        base_url=fleet.web.base_url, timeout=30, headers=bearer(fleet.keys["alone"])
    ) as client:
        jobs = [await start_job(client, "gated_steps", gate=gate, steps=1) for _ in range(THREADS)]

        async def all_running() -> bool:
            return await started_jobs(client) == THREADS

        await eventually(all_running, timeout=30, what="every thread to run the only tenant's jobs")
        fleet.redis.client().rpush(gate_key(gate), *range(THREADS))
        for job_id in jobs:
            assert (await finished(client, job_id))["status"] == "SUCCESS"
