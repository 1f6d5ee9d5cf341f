"""One stream for every job of a tenant (``/tenant/events``): jobs started anywhere appear on it,
only the tenant's, a reconnection resumes without loss, and ``fleet`` events carry the live
worker status so the console need not poll."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from actors.jobs import keys
from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore
from service.sse.tenant_stream import FLEET_INTERVAL_S

from .support.api import ADMIN, TENANT, bearer, finished, new_key, start_job
from .support.servers import RedisServer, WebServer
from .support.sse import SSEMessage, messages
from .support.stack import engine_on

OTHER_TENANT = "tenant-stream-other"


def new_job(store: JobStore, *, namespace: str = TENANT, workspace: str | None = None) -> str:
    job_id = str(uuid.uuid4())
    store.create(JobRef(job_id, namespace=namespace, group=workspace), "score_contracts")
    return job_id


def start(store: JobStore, job_id: str, *, namespace: str = TENANT, workspace: str | None = None) -> None:
    """The job STARTED as a run starts it, with a lease long enough that no reaper takes it."""
    assert store.claim(JobRef(job_id, namespace=namespace, group=workspace, run=str(uuid.uuid4())), lease=600)


def entry(event_id: str | None) -> tuple[int, int]:
    assert event_id is not None
    millis, sequence = event_id.split("-")
    return int(millis), int(sequence)


async def next_job_events(stream: AsyncIterator[SSEMessage], count: int) -> list[SSEMessage]:
    """The next ``count`` job events (``fleet`` events, comments and ``retry:`` skipped)."""
    events: list[SSEMessage] = []
    async for message in stream:
        if message.data_lines and message.event != "fleet":
            events.append(message)
            if len(events) == count:
                break
    return events


async def next_fleet(stream: AsyncIterator[SSEMessage]) -> tuple[SSEMessage, list[SSEMessage]]:
    """The next ``fleet`` event, and the job events before it."""
    before: list[SSEMessage] = []
    async for message in stream:
        if message.event == "fleet":
            return message, before
        if message.data_lines:
            before.append(message)
    raise AssertionError("the stream ended without a fleet event")


@pytest.fixture
async def other_tenant(web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=web.base_url, timeout=30, headers=bearer(new_key(web, OTHER_TENANT))
    ) as http:
        yield http


async def test_the_stream_opens_with_the_tenants_jobs_then_follows_every_change(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    loose, grouped = new_job(job_store), new_job(job_store, workspace="ws-tenant-a")
    start(job_store, loose)
    foreign = new_job(job_store, namespace=OTHER_TENANT)
    async with client.stream("GET", "/tenant/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = messages(response)
        _, opening = await next_fleet(stream)  # the snapshots come first, then the counts
        new_job(job_store, namespace=OTHER_TENANT)  # another tenant's job never shows up here
        start(job_store, foreign, namespace=OTHER_TENANT)
        arrival = new_job(job_store)  # no workspace: it belongs to the tenant all the same
        job_store.progress(JobRef(arrival), 40, "a bit")
        job_store.transition(JobRef(grouped, group="ws-tenant-a"), JobStatus.SUCCESS, result={"n": 1})
        live = await next_job_events(stream, 3)
    snapshots = {e.data["job_id"]: (e.event, e.data["status"]) for e in opening}
    assert snapshots[loose] == ("snapshot", "STARTED") and snapshots[grouped] == ("snapshot", "PENDING")
    assert foreign not in snapshots
    assert [(e.event, e.data["job_id"], e.data["seq"]) for e in live] == [
        ("status", arrival, 1),
        ("progress", arrival, 2),
        ("status", grouped, 2),
    ]
    assert live[2].data["workspace"] == "ws-tenant-a" and live[0].data["workspace"] is None
    ids = [entry(e.id) for e in live]
    assert ids == sorted(set(ids)) and ids[0] > entry(opening[-1].id)


@pytest.mark.usefixtures("workers")
async def test_a_job_started_through_the_api_appears_with_its_changes(
    client: httpx.AsyncClient, other_tenant: httpx.AsyncClient
) -> None:
    async with client.stream("GET", "/tenant/events") as response:
        stream = messages(response)
        await next_fleet(stream)  # the opening is sent
        theirs = await start_job(other_tenant, "quick_steps", steps=2)
        job_id = await start_job(client, "quick_steps", steps=2)
        seen = []
        async for message in stream:
            if message.data_lines and message.event != "fleet":
                seen.append(message)
                if message.data["job_id"] == job_id and message.data["status"] == "SUCCESS":
                    break
    mine = [e for e in seen if e.data["job_id"] == job_id]
    assert [e.data["seq"] for e in mine] == list(range(1, len(mine) + 1)), "every change, in order"
    assert mine[0].data["status"] == "PENDING"
    assert theirs not in {e.data["job_id"] for e in seen}


@pytest.mark.usefixtures("workers")
async def test_a_retry_is_news_on_the_stream_of_the_job_it_runs_again(client: httpx.AsyncClient) -> None:
    """``retried_by`` comes as an event of the finished job: no client has to fetch it again."""
    failed = await start_job(client, "always_fails", reason="once")
    assert (await finished(client, failed))["status"] == "FAILURE"
    async with client.stream("GET", "/tenant/events") as response:
        stream = messages(response)
        await next_fleet(stream)
        retried = await client.post(f"/jobs/{failed}/retry")
        assert retried.status_code == 202, retried.text
        async for message in stream:
            if message.data_lines and message.event != "fleet" and message.data["job_id"] == failed:
                break
    assert message.event == "status"
    assert (message.data["status"], message.data["retried_by"]) == ("FAILURE", retried.json()["job_id"])


async def test_a_reconnection_gets_exactly_the_missed_events(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    first = new_job(job_store)
    async with client.stream("GET", "/tenant/events") as response:
        stream = messages(response)
        await next_fleet(stream)
        start(job_store, first)
        [seen] = await next_job_events(stream, 1)
    # Disconnected: these happen unseen.
    second = new_job(job_store, workspace="ws-tenant-b")
    job_store.progress(JobRef(first), 30, "a third")
    new_job(job_store, namespace=OTHER_TENANT)
    async with client.stream("GET", "/tenant/events", headers={"Last-Event-ID": seen.id or ""}) as response:
        stream = messages(response)
        missed = await next_job_events(stream, 2)
        start(job_store, second, workspace="ws-tenant-b")
        [live] = await next_job_events(stream, 1)
    assert (seen.data["job_id"], seen.data["status"]) == (first, "STARTED")
    assert [(e.event, e.data["job_id"], e.data["seq"]) for e in missed] == [
        ("status", second, 1),
        ("progress", first, 3),
    ]
    assert (live.data["job_id"], live.data["status"]) == (second, "STARTED")
    # ?since= resumes the same way (for clients that cannot set the header)
    async with client.stream("GET", "/tenant/events", params={"since": missed[0].id}) as response:
        [again] = await next_job_events(messages(response), 1)
    assert (again.data["job_id"], again.data["seq"]) == (first, 3)


async def test_a_position_the_log_no_longer_reaches_gets_snapshots_again(
    client: httpx.AsyncClient, redis_server: RedisServer
) -> None:
    short_log = engine_on(redis_server, event_log_max=10).store
    job_id = new_job(short_log)
    async with client.stream("GET", "/tenant/events") as response:
        stream = messages(response)
        await next_fleet(stream)
        short_log.progress(JobRef(job_id), 1, "one")
        [seen] = await next_job_events(stream, 1)
    # Far past what the log keeps (it is trimmed a node of 100 entries at a time).
    for step in range(2, 302):
        short_log.progress(JobRef(job_id), step / 4, "more")
    async with client.stream("GET", "/tenant/events", headers={"Last-Event-ID": seen.id or ""}) as response:
        _, reopened = await next_fleet(messages(response))
    latest = [e for e in reopened if e.data["job_id"] == job_id]
    assert [(e.event, e.data["progress"]) for e in latest] == [("snapshot", 75.25)]
    assert all(e.event == "snapshot" for e in reopened)


async def test_fleet_is_the_worker_status_at_the_start_and_soon_after_a_status_change(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    status = (await client.get("/worker/status")).json()
    async with client.stream("GET", "/tenant/events") as response:
        stream = messages(response)
        opening, _ = await next_fleet(stream)
        assert opening.id is None, "fleet events are not part of the resumable log"
        loop = asyncio.get_running_loop()
        changed_at = loop.time()
        job_id = new_job(job_store)  # PENDING: one more job in the queue
        after, between = await next_fleet(stream)
        arrived_after = loop.time() - changed_at
    assert set(opening.data) == set(status) and "queues" not in opening.data
    assert opening.data["redis_connected"] is True
    assert (job_id, "PENDING") in [(e.data["job_id"], e.data["status"]) for e in between]
    assert after.data["jobs_in_queue"] == opening.data["jobs_in_queue"] + 1
    # Pushed because of the change, not by the every-5-s refresh (which comes 5 s after the first).
    assert arrived_after < FLEET_INTERVAL_S


async def test_fleet_comes_every_few_seconds_without_any_change(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/tenant/events") as response:
        stream = messages(response)
        await next_fleet(stream)
        refreshed, between = await next_fleet(stream)
    assert between == [] and refreshed.data["redis_connected"] is True


async def test_another_tenants_stream_sees_only_its_own_jobs(
    client: httpx.AsyncClient, other_tenant: httpx.AsyncClient, job_store: JobStore
) -> None:
    theirs = new_job(job_store, namespace=OTHER_TENANT)
    async with other_tenant.stream("GET", "/tenant/events") as response:
        stream = messages(response)
        _, opening = await next_fleet(stream)
        mine = new_job(job_store)  # published before theirs changes: it would be seen first
        start(job_store, theirs, namespace=OTHER_TENANT)
        [live] = await next_job_events(stream, 1)
    assert theirs in {e.data["job_id"] for e in opening}
    assert all(e.data["job_id"] != mine for e in opening)
    assert (live.data["job_id"], live.data["status"]) == (theirs, "STARTED")


async def test_the_stream_needs_a_tenant_and_a_well_formed_position(web: WebServer) -> None:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as anonymous:
        assert (await anonymous.get("/tenant/events")).status_code == 401
        admin = await anonymous.get("/tenant/events", headers=ADMIN)
        assert admin.status_code == 403 and admin.json()["error"]["code"] == "forbidden"
        key = new_key(web)
        token = (await anonymous.post("/stream-tokens", json={"workspace": "w"}, headers=bearer(key))).json()[
            "token"
        ]
        # A stream token names jobs or a workspace: it does not open the tenant's stream.
        assert (await anonymous.get("/tenant/events", params={"token": token})).status_code == 401
        bad = await anonymous.get("/tenant/events", headers={**bearer(key), "Last-Event-ID": "7"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter"


async def test_the_route_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/tenant/events"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert "fleet" in operation["responses"]["200"]["description"]


def test_the_tenants_log_is_bounded_and_expires(redis_server: RedisServer) -> None:
    client = redis_server.client()
    store = engine_on(redis_server, event_log_max=10).store
    namespace = f"bounded-{uuid.uuid4().hex[:8]}"
    job_id = new_job(store, namespace=namespace)
    for step in range(1, 301):  # progress renews no time to live, and the log keeps its own
        store.progress(JobRef(job_id, namespace=namespace), step / 3, "more")
    log = keys.tenant_log(namespace)
    assert 0 < client.ttl(log) <= max(store.pending_ttl, store.result_ttl)
    assert client.xlen(log) <= 10 + 100, "trimmed (a node of 100 entries at a time)"
