"""Many streams, one Redis pub/sub connection per web process (docs/design.md, invariant 4)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import redis

from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore
from service.settings import WebSettings

from .support.api import bearer
from .support.servers import WebServer
from .support.sse import SSEMessage, collect_events, messages

STREAMS = 200


def connections_of(web: WebServer, redis_client: redis.Redis) -> list[dict]:
    """The Redis connections of ``web``'s process (each is named after its pid)."""
    return [c for c in redis_client.client_list() if c["name"].endswith(f"-{web.process.pid}")]


async def test_200_open_streams_share_one_pubsub_connection(
    web: WebServer, job_store: JobStore, redis_client: redis.Redis, api_key: str
) -> None:
    job_ids = [str(uuid.uuid4()) for _ in range(4)]
    for job_id in job_ids:
        job_store.create(JobRef(job_id), "score_contracts")
    opened = asyncio.Event()
    ready = 0

    async def watch(client: httpx.AsyncClient, job_id: str) -> list[SSEMessage]:
        nonlocal ready
        async with client.stream("GET", f"/jobs/{job_id}/events") as response:
            stream = messages(response)
            first = await collect_events(stream, until_seq=1)
            ready += 1
            if ready == STREAMS:
                opened.set()
            return first + await collect_events(stream)

    limits = httpx.Limits(max_connections=STREAMS + 10)
    async with httpx.AsyncClient(
        base_url=web.base_url, timeout=60, limits=limits, headers=bearer(api_key)
    ) as client:
        watchers = [asyncio.create_task(watch(client, job_ids[i % len(job_ids)])) for i in range(STREAMS)]
        await asyncio.wait_for(opened.wait(), 60)

        web_connections = connections_of(web, redis_client)
        hub_connections = [c for c in web_connections if int(c.get("sub", 0)) or int(c.get("psub", 0))]
        assert len(hub_connections) == 1, hub_connections
        assert hub_connections[0]["name"].startswith("jobs-web-hub-")
        assert len(web_connections) <= WebSettings.defaults().redis_pool_size + 1, (
            "Redis connections do not grow with streams"
        )

        for job_id in job_ids:
            job_store.transition(JobRef(job_id), JobStatus.STARTED)
            job_store.transition(JobRef(job_id), JobStatus.SUCCESS, result={"job": job_id})
        results = await asyncio.wait_for(asyncio.gather(*watchers), 60)

    for index, events in enumerate(results):
        assert [(e.seq, e.data["status"]) for e in events] == [(1, "PENDING"), (2, "STARTED"), (3, "SUCCESS")]
        assert events[-1].data["result"] == {"job": job_ids[index % len(job_ids)]}
