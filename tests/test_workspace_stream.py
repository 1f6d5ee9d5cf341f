"""One stream for every job of a workspace (the engine's group of that name): new jobs appear,
reconnects resume without loss."""

from __future__ import annotations

import uuid

import httpx
import pytest

from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .support.api import start_job, upload
from .support.contracts import NDA
from .support.sse import messages, take_events


def new_workspace() -> str:
    return f"ws-{uuid.uuid4().hex[:8]}"


def new_job(store: JobStore, workspace: str) -> str:
    job_id = str(uuid.uuid4())
    store.create(job_id, "score_contracts", group=workspace)
    return job_id


def entry(event_id: str | None) -> tuple[int, int]:
    assert event_id is not None
    millis, sequence = event_id.split("-")
    return int(millis), int(sequence)


async def test_a_workspace_stream_shows_its_jobs_then_new_ones(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    workspace, elsewhere = new_workspace(), new_workspace()
    older, newer = new_job(job_store, workspace), new_job(job_store, workspace)
    job_store.transition(older, JobStatus.STARTED, group=workspace)
    async with client.stream("GET", f"/workspaces/{workspace}/events") as response:
        assert response.status_code == 200
        stream = messages(response)
        opening = await take_events(stream, 2)
        new_job(job_store, elsewhere)  # another workspace's job never shows up here
        arrival = new_job(job_store, workspace)
        job_store.transition(arrival, JobStatus.STARTED, group=workspace)
        job_store.transition(older, JobStatus.SUCCESS, group=workspace, result={"n": 1})
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
        job_store.transition(first, JobStatus.STARTED, group=workspace)
        [seen] = await take_events(stream, 1)
    # Disconnected: these happen unseen.
    second = new_job(job_store, workspace)
    job_store.progress(first, 30, "a third", group=workspace)
    headers = {"Last-Event-ID": seen.id or ""}
    async with client.stream("GET", f"/workspaces/{workspace}/events", headers=headers) as response:
        stream = messages(response)
        missed = await take_events(stream, 2)
        job_store.transition(second, JobStatus.STARTED, group=workspace)
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
