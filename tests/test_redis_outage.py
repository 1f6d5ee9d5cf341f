"""Redis goes away and comes back: the API answers 503 meanwhile and recovers with no restart.

This module has its own Redis (persistent, so a job survives the restart) and its own web server;
the test plays the worker's part through the job store, since workers need Redis too.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from actors.contracts.documents import DocumentStore
from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus

from .support.api import ADMIN, TENANT
from .support.contracts import NDA
from .support.fixtures import StackOptions
from .support.servers import RedisServer, eventually
from .support.sse import collect_events, messages
from .support.stack import engine_on

#: Longest a request may take while Redis is down: it must fail fast, never hang.
OUTAGE_ANSWER_LIMIT_S = 8.0


@pytest.fixture(scope="module")
def stack_options() -> StackOptions:
    """A persistent Redis: the jobs, and the key made before the outages, outlive its restarts."""
    return StackOptions(persistent_redis=True)


async def timed(request) -> tuple[httpx.Response, float]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def test_503_while_redis_is_down_then_recovery_without_restart(
    redis_server: RedisServer, client: httpx.AsyncClient
) -> None:
    store = engine_on(redis_server).store
    DocumentStore(client=redis_server.client()).add(TENANT, "w", [("nda.txt", NDA.encode())])
    job_id = str(uuid.uuid4())
    store.create(JobRef(job_id), "score_contracts")
    body = {"criterion": "c", "workspace_name": "w"}

    async with client.stream("GET", f"/jobs/{job_id}/events") as stream_response:
        stream = messages(stream_response)
        assert (await anext(stream)).retry is not None
        assert (await anext(stream)).data["status"] == "PENDING"

        redis_server.stop()
        for request in (
            client.post("/jobs/score_contracts", json=body),
            client.post("/score", params={"async_mode": "true"}, json=body),
            client.get(f"/jobs/{job_id}"),
            client.get(f"/jobs/{job_id}/events"),
            client.get("/readyz"),
        ):
            response, took = await timed(request)
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "redis_unavailable"
            assert took < OUTAGE_ANSWER_LIMIT_S
        status = await client.get("/worker/status")
        assert status.status_code == 503
        assert status.json()["status"] == "down" and status.json()["redis_connected"] is False
        assert (await client.get("/healthz")).status_code == 200, "the process itself is alive"

        # The open stream survives the outage (heartbeats) and gets what happens after it.
        comment = await anext(stream)
        assert comment.comments == ["keepalive"]

        await asyncio.to_thread(redis_server.start)
        store.transition(JobRef(job_id), JobStatus.STARTED)
        store.progress(JobRef(job_id), 50, "half way")
        store.transition(JobRef(job_id), JobStatus.SUCCESS, result={"ok": True})
        events = await collect_events(stream)
    assert [e.seq for e in events] == [2, 3, 4], "every event after the outage, once, in order"
    assert events[-1].data["status"] == "SUCCESS"

    # The first requests after Redis is back succeed: nothing needs a restart.
    assert (await client.get("/readyz")).status_code == 200
    created = await client.post("/jobs/score_contracts", json=body)
    assert created.status_code == 202
    assert (await client.get(created.json()["status_url"])).json()["status"] == "PENDING"


async def test_every_open_stream_gets_the_full_sequence_across_a_redis_restart(
    redis_server: RedisServer, client: httpx.AsyncClient
) -> None:
    """Killed and restarted on the same port while 30 streams of three kinds are open and a job
    keeps publishing: every client ends with every event, in order, none twice."""
    store = engine_on(redis_server).store
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    job_id, other = str(uuid.uuid4()), str(uuid.uuid4())
    store.create(JobRef(job_id, group=workspace), "score_contracts")
    store.create(JobRef(other), "score_contracts")

    async def job_stream() -> list[int]:
        async with client.stream("GET", f"/jobs/{job_id}/events") as response:
            return [e.seq for e in await collect_events(messages(response))]

    async def multiplexed_stream() -> list[int]:
        async with client.stream("GET", "/events", params={"job": [other, job_id]}) as response:
            events = await collect_events_until(
                messages(response), lambda e: e.data["job_id"] == job_id and e.data["status"] == "SUCCESS"
            )
        return [e.data["seq"] for e in events if e.data["job_id"] == job_id]

    async def workspace_stream() -> list[int]:
        async with client.stream("GET", f"/workspaces/{workspace}/events") as response:
            events = await collect_events_until(messages(response), lambda e: e.data["status"] == "SUCCESS")
        return [e.data["seq"] for e in events]

    readers = [job_stream, multiplexed_stream, workspace_stream] * 10
    tasks = [asyncio.create_task(reader()) for reader in readers]

    async def all_open() -> bool:
        return await subscriptions(client) >= len(readers)

    await eventually(all_open, timeout=20, what="every stream to open")

    def outage_and_changes() -> None:
        store.transition(JobRef(job_id, group=workspace), JobStatus.STARTED)  # seq 2, before the outage
        redis_server.stop()
        redis_server.start()
        for step in range(1, 4):  # seq 3-5, published while the hub may still be reconnecting
            store.progress(JobRef(job_id, group=workspace), 25 * step)
        store.transition(JobRef(job_id, group=workspace), JobStatus.SUCCESS, result={"ok": True})  # seq 6

    await asyncio.to_thread(outage_and_changes)
    results = await asyncio.wait_for(asyncio.gather(*tasks), 60)
    for reader, seqs in zip(readers, results, strict=True):
        assert seqs == [1, 2, 3, 4, 5, 6], (reader.__name__, seqs)


async def subscriptions(client: httpx.AsyncClient) -> int:
    return (await client.get("/events/stats", timeout=5, headers=ADMIN)).json()["subscriptions"]


async def collect_events_until(stream, done) -> list:  # type: ignore[no-untyped-def]
    events = []
    async for message in stream:
        if message.data_lines:
            events.append(message)
            if done(message):
                break
    return events
