"""One stream for every job of a workspace (the engine's group of that name): new jobs appear,
reconnects resume without loss."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .support.api import bearer, new_key, start_job, upload
from .support.contracts import NDA
from .support.servers import WebServer
from .support.sse import SSEMessage, messages, take_events
from .support.stack import new_job


def new_workspace() -> str:
    return f"ws-{uuid.uuid4().hex[:8]}"


def entry(event_id: str | None) -> tuple[int, int]:
    assert event_id is not None
    millis, sequence = event_id.split("-")
    return int(millis), int(sequence)


async def test_a_workspace_stream_shows_its_jobs_then_new_ones(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    workspace, elsewhere = new_workspace(), new_workspace()
    older, newer = new_job(job_store, workspace), new_job(job_store, workspace)
    job_store.transition(JobRef(older, group=workspace), JobStatus.STARTED)
    async with client.stream("GET", f"/workspaces/{workspace}/events") as response:
        assert response.status_code == 200
        stream = messages(response)
        opening = await take_events(stream, 2)
        new_job(job_store, elsewhere)  # another workspace's job never shows up here
        arrival = new_job(job_store, workspace)
        job_store.transition(JobRef(arrival, group=workspace), JobStatus.STARTED)
        job_store.transition(JobRef(older, group=workspace), JobStatus.SUCCESS, result={"n": 1})
        live = await take_events(stream, 3)
    assert [(e.event, e.data["job_id"], e.data["status"]) for e in opening] == [
        ("snapshot", older, "STARTED"),
        ("snapshot", newer, "PENDING"),
    ]
    assert [(e.data["job_id"], e.data["status"]) for e in live] == [
        (arrival, "PENDING"),
        (arrival, "STARTED"),
        (older, "SUCCESS"),
    ]
    assert all(e.data["workspace"] == workspace for e in opening + live)
    ids = [entry(e.id) for e in live]
    assert ids == sorted(set(ids)) and ids[0] > entry(opening[-1].id)


async def test_a_workspace_stream_resumes_with_exactly_the_missed_events(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    workspace = new_workspace()
    first = new_job(job_store, workspace)
    async with client.stream("GET", f"/workspaces/{workspace}/events") as response:
        stream = messages(response)
        await take_events(stream, 1)
        job_store.transition(JobRef(first, group=workspace), JobStatus.STARTED)
        [seen] = await take_events(stream, 1)
    # Disconnected: these happen unseen.
    second = new_job(job_store, workspace)
    job_store.progress(JobRef(first, group=workspace), 30, "a third")
    headers = {"Last-Event-ID": seen.id or ""}
    async with client.stream("GET", f"/workspaces/{workspace}/events", headers=headers) as response:
        stream = messages(response)
        missed = await take_events(stream, 2)
        job_store.transition(JobRef(second, group=workspace), JobStatus.STARTED)
        [live] = await take_events(stream, 1)
    assert [(e.data["job_id"], e.data["seq"]) for e in missed] == [(second, 1), (first, 3)]
    assert (live.data["job_id"], live.data["status"]) == (second, "STARTED")


@pytest.mark.usefixtures("workers")
async def test_jobs_started_through_the_api_join_their_workspace_stream(
    client: httpx.AsyncClient,
) -> None:
    workspace = new_workspace()
    extraction = await upload(client, workspace, {"file": ("nda.txt", NDA.encode())})
    assert extraction["status"] == "SUCCESS", extraction
    async with client.stream("GET", f"/workspaces/{workspace}/events") as response:
        stream = messages(response)
        job_id = await start_job(client, "score_contracts", criterion="c", workspace_name=workspace)
        events = []
        async for message in stream:
            if message.data_lines:
                events.append(message)
                if message.data["job_id"] == job_id and message.data["status"] == "SUCCESS":
                    break
    # The stream opens with the workspace's jobs as they stand: the upload's finished extraction.
    assert {e.data["job_id"] for e in events} == {job_id, extraction["job_id"]}
    scoring = [e.data["seq"] for e in events if e.data["job_id"] == job_id]
    assert scoring == list(range(1, len(scoring) + 1)), "every change, in order"


async def test_a_malformed_workspace_position_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/workspaces/{new_workspace()}/events", headers={"Last-Event-ID": "7"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_parameter"


#: Streams that open at once in the exactly-once test, and the jobs changing from the start.
CLIENTS = 100
MOVING_JOBS = 4
#: One change in this many is a new job joining the workspace.
JOINING_EVERY = 8
#: The most changes that test writes: well under the group log's length (event_log_max, 1000), so
#: no resume falls back to snapshots, whatever the machine's speed (that fallback is tested apart),
#: and fewer new jobs than a stream's opening shows (100).
MAX_CHANGES = 600


async def test_100_workspace_clients_opening_and_resuming_at_once_see_0_duplicates_and_0_gaps(
    client: httpx.AsyncClient, web: WebServer, job_store: JobStore
) -> None:
    """Each client reads a few events (some stop inside the opening), closes, reopens with the
    last ``id`` it was given (as ``EventSource`` does) and reads on until the last change, while
    the test writes change after change and new jobs join. Across its two connections every
    client must get each (job, seq) once, in order, without a hole, and end on each job's last
    change.

    The writer paces itself on an observing stream (each change is awaited there before the next
    is written), so the web server is never asked for more than it can send: nothing sleeps."""
    workspace = new_workspace()
    # Left PENDING while they report progress: a STARTED job holds a lease that only a real run
    # renews, and this module's worker would reap it.
    moving = [new_job(job_store, workspace) for _ in range(MOVING_JOBS)]
    final: dict[str, dict[str, Any]] = {}
    # Finished before anyone looks, and the newest jobs, so the last snapshots of the opening: a
    # client that drops inside the opening only ever learns of them if it is not told to skip them.
    for job_id in [new_job(job_store, workspace) for _ in range(2)]:
        settled = job_store.transition(JobRef(job_id, group=workspace), JobStatus.SUCCESS, result={})
        assert settled is not None
        final[job_id] = settled
    opening = MOVING_JOBS + 2
    url = f"/workspaces/{workspace}/events"
    # The reconnections hold a key of their own: a closed stream may count against its key a little
    # longer than its client waits, and 100 + 1 + 100 streams would pass one key's 200.
    resuming = httpx.AsyncClient(
        base_url=web.base_url,
        timeout=30,
        limits=httpx.Limits(max_connections=500, max_keepalive_connections=50),
        headers=bearer(await asyncio.to_thread(new_key, web)),
    )
    observed: dict[str, int] = {}
    news = asyncio.Condition()
    all_reopened = asyncio.Event()
    reopened = 0

    async def observe(stream: AsyncIterator[SSEMessage]) -> None:
        async for message in stream:
            if message.data_lines:
                async with news:
                    observed[message.data["job_id"]] = message.data["seq"]
                    news.notify_all()

    async def write(change: Callable[[], dict[str, Any] | None]) -> None:
        snapshot = await asyncio.to_thread(change)
        assert snapshot is not None
        final[snapshot["job_id"]] = snapshot
        async with news:
            await news.wait_for(lambda: observed.get(snapshot["job_id"], 0) >= snapshot["seq"])

    async def writer() -> int:
        changes = 0
        while not all_reopened.is_set() and changes < MAX_CHANGES:
            if changes % JOINING_EVERY == JOINING_EVERY - 1:
                moving.append(job_id := str(uuid.uuid4()))
                await write(
                    functools.partial(job_store.create, JobRef(job_id, group=workspace), "score_contracts")
                )
            else:
                job_id = moving[changes % len(moving)]
                await write(
                    functools.partial(job_store.progress, JobRef(job_id, group=workspace), changes % 100)
                )
            changes += 1
        for job_id in moving:  # the last of these is the last change: the clients stop at it
            finish = functools.partial(
                job_store.transition, JobRef(job_id, group=workspace), JobStatus.SUCCESS
            )
            await write(functools.partial(finish, result={"changes": changes}))
        return changes

    def is_last_change(message: SSEMessage) -> bool:
        return message.data["job_id"] == moving[-1] and message.data["status"] == "SUCCESS"

    async def one_client(number: int) -> tuple[list[SSEMessage], list[SSEMessage], str | None]:
        nonlocal reopened
        before: list[SSEMessage] = []
        last_id = None
        async with client.stream("GET", url) as response:
            assert response.status_code == 200
            async for message in messages(response):
                last_id = message.id or last_id  # a block without an id keeps the last one, as in browsers
                if message.data_lines:
                    before.append(message)
                    if len(before) == 1 + number % (4 * opening):  # inside the opening, or past it
                        break
        after: list[SSEMessage] = []
        headers = {"Last-Event-ID": last_id} if last_id else {}
        async with resuming.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200
            async for message in messages(response):
                if not message.data_lines:
                    continue
                if not after:
                    reopened += 1
                    if reopened == CLIENTS:
                        all_reopened.set()
                after.append(message)
                if all_reopened.is_set() and is_last_change(message):
                    break
        return before, after, last_id

    async with asyncio.timeout(150), resuming, client.stream("GET", url) as response:
        stream = messages(response)
        await take_events(stream, opening)  # subscribed: every change written from now on shows
        observer = asyncio.create_task(observe(stream))
        async with asyncio.TaskGroup() as tasks:  # the writer's failure ends the clients too
            writing = tasks.create_task(writer())
            clients = [tasks.create_task(one_client(number)) for number in range(CLIENTS)]
        observer.cancel()
    changes, views = writing.result(), [task.result() for task in clients]

    duplicates, gaps, problems = 0, 0, []
    for number, (before, after, last_id) in enumerate(views):
        # Reopened without an id (it was given none), a client starts over from the new opening.
        seen = (before if last_id else []) + after
        client_duplicates, client_gaps, wrong = stream_defects(seen, final)
        duplicates, gaps = duplicates + client_duplicates, gaps + client_gaps
        if client_duplicates or client_gaps or wrong:
            problems.append(
                f"client {number} (read {len(before)}, resumed from {last_id}): {client_duplicates} "
                f"duplicates, {client_gaps} missing, wrong end: {wrong}"
            )
    summary = f"{duplicates} duplicates, {gaps} missing events, {len(problems)} clients wrong"
    resumed = sum(1 for _, _, last_id in views if last_id)
    assert resumed >= CLIENTS // 4, f"only {resumed} clients were given an id to resume from"
    assert not problems, f"{summary} ({changes} changes written)\n" + "\n".join(problems[:10])


def stream_defects(events: list[SSEMessage], final: dict[str, dict[str, Any]]) -> tuple[int, int, list[str]]:
    """What one client's view got wrong: the events it got twice, those it never got (from the
    first one it saw of each job on; a job never seen at all counts its last change), and the jobs
    it saw out of order or did not end on their last change, with the seqs it got."""
    seqs: dict[str, list[int]] = defaultdict(list)
    last: dict[str, dict[str, Any]] = {}
    for event in events:
        seqs[event.data["job_id"]].append(event.data["seq"])
        last[event.data["job_id"]] = event.data
    duplicates = sum(len(job_seqs) - len(set(job_seqs)) for job_seqs in seqs.values())
    gaps = sum(
        len(set(range(min(seqs[job_id], default=snapshot["seq"]), snapshot["seq"] + 1)) - set(seqs[job_id]))
        for job_id, snapshot in final.items()
    )
    wrong = [
        f"{job_id[:8]} got {seqs[job_id]}, last {snapshot['seq']}"
        for job_id, snapshot in final.items()
        if last.get(job_id) != snapshot or seqs[job_id] != sorted(seqs[job_id])
    ]
    return duplicates, gaps, wrong
