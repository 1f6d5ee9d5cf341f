"""Streams beyond the single job: several jobs on one connection, long-polling, rotation, drops,
clean shutdown and no leaks. The tests write job changes through the workers' own store, so
each event's timing is under the test's control; bulk writes run in a thread, so the test's
own clients keep reading meanwhile."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .support.api import ADMIN, bearer
from .support.servers import RedisServer, WebServer, eventually
from .support.sse import collect_events, messages, take_events
from .support.stack import engine_on, new_job


def finish(store: JobStore, job_id: str) -> None:
    store.transition(JobRef(job_id), JobStatus.STARTED)
    store.progress(JobRef(job_id), 50, "half way")
    store.transition(JobRef(job_id), JobStatus.SUCCESS, result={"job": job_id})


#: Progress events sent past a client that stopped reading.
STALL_EVENTS = 250


# -- several jobs on one stream -------------------------------------------------------------------


async def test_one_stream_follows_several_jobs_and_ends_when_all_are_done(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    first, second = new_job(job_store), new_job(job_store)
    async with client.stream("GET", "/events", params={"job": [first, second]}) as response:
        assert response.status_code == 200
        stream = messages(response)
        opening = await take_events(stream, 2)
        assert [(e.data["job_id"], e.id) for e in opening] == [(first, "1.0"), (second, "1.1")]
        finish(job_store, first)
        job_store.transition(JobRef(second), JobStatus.STARTED)
        job_store.transition(JobRef(second), JobStatus.FAILURE, error={"type": "E", "message": "m"})
        rest = await collect_events(stream)
    assert [e.id for e in rest] == ["2.1", "3.1", "4.1", "4.2", "4.3"]
    assert [(e.data["job_id"], e.data["status"]) for e in rest][-2:] == [
        (second, "STARTED"),
        (second, "FAILURE"),
    ]


async def test_a_multiplexed_stream_resumes_from_its_last_event_id(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    first, second = new_job(job_store), new_job(job_store)
    job_store.transition(JobRef(first), JobStatus.STARTED)  # first: seq 2, second: seq 1
    # Missed while disconnected: first's progress (3) and end (4), second's start (2).
    job_store.progress(JobRef(first), 10)
    job_store.transition(JobRef(second), JobStatus.STARTED)
    job_store.transition(JobRef(first), JobStatus.SUCCESS, result=None)
    headers = {"Last-Event-ID": "2.1"}
    async with client.stream("GET", "/events", params={"job": [first, second]}, headers=headers) as response:
        stream = messages(response)
        missed = await take_events(stream, 3)
        job_store.transition(JobRef(second), JobStatus.SUCCESS, result=None)
        live = await collect_events(stream)
    assert [(e.data["job_id"], e.data["seq"]) for e in missed] == [(first, 3), (first, 4), (second, 2)]
    assert [e.id for e in missed] == ["3.1", "4.1", "4.2"]
    assert [e.id for e in live] == ["4.3"]
    done = await client.get("/events", params={"job": [first, second]}, headers={"Last-Event-ID": "4.3"})
    assert done.status_code == 204


async def test_multiplexed_stream_errors(client: httpx.AsyncClient, job_store: JobStore) -> None:
    job_id = new_job(job_store)
    unknown = str(uuid.uuid4())
    missing = await client.get("/events", params={"job": [job_id, unknown]})
    assert missing.status_code == 404 and missing.json()["error"]["missing"] == [unknown]
    assert (await client.get("/events")).status_code == 400
    bad_cursor = await client.get(
        "/events", params={"job": [job_id, job_id, new_job(job_store)]}, headers={"Last-Event-ID": "1"}
    )
    assert bad_cursor.status_code == 400 and bad_cursor.json()["error"]["code"] == "invalid_parameter"


# -- long-polling ---------------------------------------------------------------------------------


async def test_long_poll_returns_as_soon_as_seq_moves(client: httpx.AsyncClient, job_store: JobStore) -> None:
    job_id = new_job(job_store)
    poll = asyncio.create_task(client.get(f"/jobs/{job_id}", params={"wait": 30, "since": 1}))
    await asyncio.sleep(0)  # let the request go out; the change below may land before or after
    started = time.monotonic()
    job_store.transition(JobRef(job_id), JobStatus.STARTED)
    response = await poll
    assert response.status_code == 200
    assert (response.json()["seq"], response.json()["status"]) == (2, "STARTED")
    assert time.monotonic() - started < 10, "answered on the change, not at the end of the wait"


async def test_long_poll_without_a_change_returns_the_same_snapshot_after_wait(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    job_id = new_job(job_store)
    started = time.monotonic()
    response = await client.get(f"/jobs/{job_id}", params={"wait": 1, "since": 1})
    assert time.monotonic() - started >= 1
    assert response.json()["seq"] == 1
    already = await client.get(f"/jobs/{job_id}", params={"wait": 30, "since": 0})
    assert already.json()["seq"] == 1, "seq already past since: no wait"
    too_long = await client.get(f"/jobs/{job_id}", params={"wait": 600})
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "invalid_parameter"


# -- servers with their own settings --------------------------------------------------------------


@pytest.fixture
def second_web(redis_server: RedisServer) -> Iterator[WebServer]:
    server = WebServer(redis_server, SSE_HEARTBEAT_INTERVAL="1")
    yield server
    server.stop()


@pytest.fixture
def rotating_web(redis_server: RedisServer) -> Iterator[WebServer]:
    """A web server that rotates streams after 2 s."""
    server = WebServer(redis_server, SSE_MAX_LIFE="2", SSE_HEARTBEAT_INTERVAL="1")
    yield server
    server.stop()


@pytest.fixture
def strict_web(redis_server: RedisServer) -> Iterator[WebServer]:
    """A web server of its own (its counts are this test's) that drops a client stalled for 3 s."""
    server = WebServer(redis_server, SSE_SEND_TIMEOUT="3", SSE_HEARTBEAT_INTERVAL="1")
    yield server
    server.stop()


async def stats(web: WebServer) -> dict:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=10, headers=ADMIN) as client:
        return (await client.get("/events/stats")).json()


@pytest.mark.slow
async def test_streams_rotate_after_their_maximum_life_and_resume(
    rotating_web: WebServer, job_store: JobStore, api_key: str
) -> None:
    job_id = new_job(job_store)
    async with httpx.AsyncClient(
        base_url=rotating_web.base_url, timeout=30, headers=bearer(api_key)
    ) as client:
        async with client.stream("GET", f"/jobs/{job_id}/events") as response:
            blocks = [message async for message in messages(response)]
        assert blocks[-1].retry == 250 and "stream rotated" in blocks[-1].comments[0]
        last_id = [b for b in blocks if b.data_lines][-1].id
        job_store.transition(JobRef(job_id), JobStatus.STARTED)
        async with client.stream(
            "GET", f"/jobs/{job_id}/events", headers={"Last-Event-ID": last_id}
        ) as response:
            resumed = await collect_events(messages(response), until_seq=2)
    assert [e.seq for e in resumed] == [2]


@pytest.mark.slow
async def test_a_client_that_stops_reading_is_dropped_and_others_are_not(
    strict_web: WebServer, job_store: JobStore, api_key: str
) -> None:
    job_id = new_job(job_store)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", strict_web.port))
    request = f"GET /jobs/{job_id}/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {api_key}\r\n\r\n"
    stalled.sendall(request.encode())

    def publish() -> None:
        # ~10 MB of events: more than the kernel buffers between server and stalled client hold.
        for i in range(STALL_EVENTS):
            job_store.progress(JobRef(job_id), i / 4, "x" * 40_000)
        job_store.transition(JobRef(job_id), JobStatus.SUCCESS, result=None)

    async with httpx.AsyncClient(base_url=strict_web.base_url, timeout=30, headers=bearer(api_key)) as client:
        await eventually(
            lambda: _subscriptions_are(strict_web, 1), timeout=20, what="the stalled stream to open"
        )
        async with client.stream("GET", f"/jobs/{job_id}/events") as response:
            reader = messages(response)
            publishing = asyncio.create_task(asyncio.to_thread(publish))
            events = await collect_events(reader)
            await publishing
        assert events[-1].data["status"] == "SUCCESS"
        assert [e.seq for e in events] == list(range(events[0].seq, STALL_EVENTS + 3)), (
            "the reading client lost nothing"
        )
        await eventually(
            lambda: _dropped_is(strict_web, 1), timeout=30, what="the stalled client to be dropped"
        )
    assert (await stats(strict_web))["subscriptions"] == 0, "the dropped stream's resources are freed"
    stalled.close()


async def _subscriptions_are(web: WebServer, count: int) -> bool:
    return (await stats(web))["subscriptions"] == count


async def _dropped_is(web: WebServer, count: int) -> bool:
    return (await stats(web))["dropped_total"] == count


async def test_sigterm_closes_streams_cleanly_and_clients_resume_on_another_process(
    web: WebServer, second_web: WebServer, job_store: JobStore, api_key: str
) -> None:
    job_id = new_job(job_store)
    job_store.transition(JobRef(job_id), JobStatus.STARTED)
    async with httpx.AsyncClient(timeout=30, headers=bearer(api_key)) as client:
        async with client.stream("GET", f"{second_web.base_url}/jobs/{job_id}/events") as response:
            stream = messages(response)
            seen = await collect_events(stream, until_seq=2)
            second_web.process.send_signal(signal.SIGTERM)
            ending = [message async for message in stream]
        assert ending and ending[-1].retry == 250 and "shutting down" in ending[-1].comments[0]
        exited = await asyncio.to_thread(second_web.process.wait, 10)
        assert exited == 0, "the process exits once its streams are closed"
        job_store.progress(JobRef(job_id), 60)  # happens while the client is between processes
        last_id = seen[-1].id
        async with client.stream(
            "GET", f"{web.base_url}/jobs/{job_id}/events", headers={"Last-Event-ID": last_id}
        ) as r:
            stream = messages(r)
            missed = await collect_events(stream, until_seq=3)
            job_store.transition(JobRef(job_id), JobStatus.SUCCESS, result=None)
            rest = await collect_events(stream)
    assert [e.seq for e in seen + missed + rest] == [2, 3, 4], "nothing lost, nothing twice"


async def test_sigterm_hand_off_repeats_and_loses_nothing_on_multiplexed_and_workspace_streams(
    web: WebServer, second_web: WebServer, job_store: JobStore, api_key: str
) -> None:
    workspace = f"handoff-{uuid.uuid4().hex[:8]}"
    job_ids = [str(uuid.uuid4()) for _ in range(2)]
    for job_id in job_ids:
        job_store.create(JobRef(job_id, group=workspace), "score_contracts")
        job_store.transition(JobRef(job_id, group=workspace), JobStatus.STARTED)
    paths = [f"/events?job={job_ids[0]}&job={job_ids[1]}", f"/workspaces/{workspace}/events"]
    seen: dict[str, list[tuple[str, int]]] = {path: [] for path in paths}
    last_ids: dict[str, str] = {}
    final: dict[str, int] = {}  # each job's last seq, once it is known

    def done(path: str) -> bool:
        return bool(final) and all((job, seq) in seen[path] for job, seq in final.items())

    async with httpx.AsyncClient(timeout=30, headers=bearer(api_key)) as client:

        async def read(base: str, path: str) -> None:
            """Read ``path`` until the server closes it or every job's last event has come."""
            resume = {"Last-Event-ID": last_ids[path]} if path in last_ids else {}
            async with client.stream("GET", f"{base}{path}", headers=resume) as response:
                async for message in messages(response):
                    if message.data_lines:
                        seen[path].append((message.data["job_id"], message.data["seq"]))
                    if message.id is not None:
                        last_ids[path] = message.id
                    if done(path):
                        return

        tasks = [asyncio.create_task(read(second_web.base_url, path)) for path in paths]
        await eventually(lambda: all(len(seen[p]) >= 2 for p in paths), timeout=20, what="the openings")
        job_store.progress(JobRef(job_ids[0], group=workspace), 10)
        await eventually(lambda: all(len(seen[p]) >= 3 for p in paths), timeout=20, what="a live event")
        second_web.process.send_signal(signal.SIGTERM)
        await asyncio.gather(*tasks)  # each stream closed cleanly by the process going down
        assert await asyncio.to_thread(second_web.process.wait, 10) == 0
        for job_id in job_ids:  # while the clients are between processes
            job_store.progress(JobRef(job_id, group=workspace), 50)
        for job_id in job_ids:
            ended = job_store.transition(JobRef(job_id, group=workspace), JobStatus.SUCCESS, result=None)
            final[job_id] = ended["seq"]
        await asyncio.gather(*(read(web.base_url, path) for path in paths))
    for path in paths:
        for job_id in job_ids:
            seqs = [seq for job, seq in seen[path] if job == job_id]
            assert seqs == list(range(seqs[0], final[job_id] + 1)), f"{path}: {job_id} went {seqs}"


@pytest.mark.slow
async def test_a_head_request_gets_a_streams_headers_and_keeps_no_place(
    redis_server: RedisServer, job_store: JobStore, api_key: str
) -> None:
    job_id = new_job(job_store)
    web = WebServer(redis_server, MAX_STREAMS="1")  # one place: a HEAD that kept it would take it
    try:
        async with httpx.AsyncClient(base_url=web.base_url, timeout=30, headers=bearer(api_key)) as client:
            for _ in range(3):
                head = await client.head(f"/jobs/{job_id}/events")
                assert head.status_code == 200, head.text
                assert head.headers["content-type"].startswith("text/event-stream")
                assert head.content == b"" and head.headers["x-content-type-options"] == "nosniff"
            async with client.stream("GET", f"/jobs/{job_id}/events") as response:
                assert response.status_code == 200, "the one place is free"
                assert [e.seq for e in await collect_events(messages(response), until_seq=1)] == [1]
    finally:
        web.stop()


async def test_a_thousand_connect_disconnect_cycles_leak_nothing(
    strict_web: WebServer, job_store: JobStore, redis_client: redis.Redis, api_key: str
) -> None:
    job_id = new_job(job_store)
    before = await stats(strict_web)
    async with httpx.AsyncClient(base_url=strict_web.base_url, timeout=30, headers=bearer(api_key)) as client:
        for _ in range(1000):
            async with client.stream("GET", f"/jobs/{job_id}/events") as response:
                await collect_events(messages(response), until_seq=1)

    async def settled() -> bool:
        # A leak would leave a task (or subscription) per cycle: a thousand. A few connection
        # tasks, of the stats requests themselves, come and go.
        now = await stats(strict_web)
        return (
            now["subscriptions"] == before["subscriptions"]
            and now["asyncio_tasks"] <= before["asyncio_tasks"] + 5
        )

    await eventually(settled, timeout=20, what="every stream and its tasks to be released")
    own = f"-{strict_web.process.pid}"
    pubsub = [c for c in redis_client.client_list() if c["name"].endswith(own) and int(c.get("sub", 0))]
    assert len(pubsub) == 1, "one pub/sub connection, however many streams came and went"

    def subscribed_channels() -> int:
        return int(next(c for c in redis_client.client_list() if c["name"].endswith(own))["sub"])

    # Its control and revocation channels, and none of the job's once its streams are gone.
    await eventually(lambda: subscribed_channels() == 2, timeout=10, what="the job's channel to be dropped")


async def test_a_web_process_is_sent_only_the_events_its_streams_watch(
    strict_web: WebServer, job_store: JobStore, api_key: str
) -> None:
    watched, others = new_job(job_store), [new_job(job_store) for _ in range(20)]
    async with (
        httpx.AsyncClient(base_url=strict_web.base_url, timeout=30, headers=bearer(api_key)) as client,
        client.stream("GET", f"/jobs/{watched}/events") as response,
    ):
        stream = messages(response)
        await collect_events(stream, until_seq=1)
        before = (await stats(strict_web))["wakeups_received"]
        for job_id in others:
            await asyncio.to_thread(finish, job_store, job_id)
        await asyncio.to_thread(finish, job_store, watched)
        events = await collect_events(stream)
    assert [e.seq for e in events] == [2, 3, 4]
    assert (await stats(strict_web))["wakeups_received"] - before == 3, "60 changes of other jobs never came"


async def test_when_history_is_gone_the_client_gets_one_full_snapshot(
    client: httpx.AsyncClient, redis_server: RedisServer
) -> None:
    short_log = engine_on(redis_server, event_log_max=10).store
    job_id = new_job(short_log)

    def overflow() -> None:
        for i in range(300):
            short_log.progress(JobRef(job_id), i / 3)  # the log keeps only the newest events

    await asyncio.to_thread(overflow)
    headers = {"Last-Event-ID": "5"}
    async with client.stream("GET", f"/jobs/{job_id}/events", headers=headers) as response:
        stream = messages(response)
        [first] = await take_events(stream, 1)
        short_log.transition(JobRef(job_id), JobStatus.SUCCESS, result=None)
        rest = await collect_events(stream)
    assert (first.event, first.seq) == ("snapshot", 301), "one full snapshot, not a partial replay"
    assert [(e.event, e.seq) for e in rest] == [("status", 302)]
