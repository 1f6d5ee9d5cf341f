"""Listing jobs with filters that combine, and searching them, with real workers and a real server."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest

from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore
from service.routes.jobs import MAX_SCANNED

from .support.api import TENANT, finished, start_job

pytestmark = pytest.mark.usefixtures("workers")


async def listed(client: httpx.AsyncClient, **params: str) -> list[dict]:
    """Every job the listing shows for ``params``, following ``next_cursor`` to the end."""
    jobs: list[dict] = []
    cursor = None
    while True:
        response = await client.get("/jobs", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        jobs += page["jobs"]
        cursor = page["next_cursor"]
        if cursor is None:
            return jobs


def ids(jobs: list[dict]) -> list[str]:
    return [job["job_id"] for job in jobs]


async def test_filters_combine_and_search_finds_id_type_arguments_result_and_error(
    client: httpx.AsyncClient, other_tenant: httpx.AsyncClient
) -> None:
    mark = uuid.uuid4().hex[:12]
    succeeded = [
        await start_job(client, "quick_steps", steps=1, result=f"Alpha-{mark}-{n}") for n in range(2)
    ]
    failed = [await start_job(client, "always_fails", reason=f"Beta {mark} {n}") for n in range(2)]
    gated = await start_job(client, "gated_steps", gate=f"gamma-{mark}", steps=1)
    await client.post(f"/jobs/{gated}/cancel")
    foreign = await start_job(other_tenant, "quick_steps", steps=1, result=f"Alpha-{mark}-foreign")
    for job_id in [*succeeded, *failed, gated]:
        await finished(client, job_id)
    await finished(other_tenant, foreign)
    newest_first = [gated, *reversed(failed), *reversed(succeeded)]

    assert ids(await listed(client, q=mark)) == newest_first, "newest first, and only the caller's"
    assert ids(await listed(client, q=f"ALPHA-{mark}")) == [*reversed(succeeded)], "result, any case"
    assert ids(await listed(client, q=f"beta {mark} 1")) == [failed[1]], "the error's message"
    assert ids(await listed(client, q=f"gamma-{mark}")) == [gated], "the arguments"
    assert ids(await listed(client, q=succeeded[0][:13])) == [succeeded[0]], "the job id"
    both = await listed(client, q=mark, status="FAILURE,CANCELLED")
    assert ids(both) == [gated, *reversed(failed)]
    assert ids(await listed(client, q=mark, status="FAILURE", job_type="always_fails")) == [*reversed(failed)]
    assert ids(await listed(client, q=mark, status="SUCCESS", job_type="always_fails")) == []
    assert ids(await listed(other_tenant, q=mark)) == [foreign], "another tenant's search sees its own"

    # A time range of creation, both as ISO 8601 and as unix seconds, inclusive at both ends.
    created = {job["job_id"]: job["created_at"] for job in await listed(client, q=mark)}
    since, until = created[succeeded[1]], created[failed[1]]
    assert ids(await listed(client, q=mark, since=since, until=until)) == [*reversed(failed), succeeded[1]]
    unix = str(datetime.fromisoformat(created[failed[0]].replace("Z", "+00:00")).timestamp())
    assert ids(await listed(client, q=mark, since=unix)) == [gated, failed[1], failed[0]]

    rows = {job["job_id"]: job for job in await listed(client, q=mark)}
    assert rows[succeeded[0]]["retryable"] is True and rows[failed[0]]["retryable"] is True
    assert isinstance(rows[succeeded[0]]["duration"], float) and rows[succeeded[0]]["duration"] >= 0
    assert rows[gated]["duration"] is None or rows[gated]["duration"] >= 0


async def test_a_row_shows_how_long_a_job_has_run_and_whether_it_can_run_again(
    client: httpx.AsyncClient, redis_client
) -> None:
    gate = f"running-{uuid.uuid4().hex}"
    running = await start_job(client, "gated_steps", gate=gate, steps=1)
    snapshot = (await client.get(f"/jobs/{running}")).json()
    while snapshot["status"] != "STARTED":
        snapshot = (
            await client.get(f"/jobs/{running}", params={"wait": 10, "since": snapshot["seq"]})
        ).json()
    [row] = await listed(client, q=gate)
    assert row["retryable"] is False, "a running job cannot be run again"
    assert row["duration"] is not None and row["duration"] >= 0, "seconds so far while it runs"
    redis_client.rpush(f"tests:gate:{gate}", 1)
    done = await finished(client, running)
    assert done["retryable"] is True and done["duration"] is not None


@pytest.mark.parametrize(
    "params",
    [
        {"status": "FAILURE,NOPE"},
        {"status": ","},
        {"since": "yesterday"},
        {"until": "2026-13-45T00:00:00Z"},
        {"since": "-5"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"q": "x" * 201},
        {"q": "tab\there"},
        {"limit": "-1"},
        {"cursor": "later"},
    ],
)
async def test_bad_filters_are_answered_400_invalid_parameter(
    client: httpx.AsyncClient, params: dict
) -> None:
    response = await client.get("/jobs", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_parameter"


async def test_a_search_looks_at_a_bounded_share_of_jobs_a_page_and_goes_on_from_its_cursor(
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    """More jobs than one page may look at: a search that matches only the oldest answers pages
    that stop at the cap, each with a cursor, until the last finds it."""
    mark = uuid.uuid4().hex
    oldest = str(uuid.uuid4())
    job_store.create(JobRef(oldest, namespace=TENANT), "quick_steps")
    job_store.transition(
        JobRef(oldest, namespace=TENANT), JobStatus.FAILURE, error={"type": "X", "message": f"needle {mark}"}
    )
    for _ in range(MAX_SCANNED + 10):
        job_store.create(JobRef(str(uuid.uuid4()), namespace=TENANT), "quick_steps")
    first = await client.get("/jobs", params={"q": f"needle {mark}"})
    assert first.status_code == 200
    assert first.json()["jobs"] == [] and first.json()["next_cursor"] is not None, "stopped at the cap"
    assert ids(await listed(client, q=f"needle {mark}")) == [oldest], "found by going on"
