"""Bulk retry and cancel by filter, with real workers and a real server."""

from __future__ import annotations

import uuid

import httpx
import pytest

from .support.api import ADMIN, finished, start_job, upload
from .support.contracts import NDA

pytestmark = pytest.mark.usefixtures("workers")


async def bulk(client: httpx.AsyncClient, action: str, **body: object) -> dict:
    response = await client.post(f"/bulk/{action}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def failed_jobs(client: httpx.AsyncClient, mark: str, count: int) -> list[str]:
    job_ids = [await start_job(client, "always_fails", reason=f"{mark} {n}") for n in range(count)]
    for job_id in job_ids:
        assert (await finished(client, job_id))["status"] == "FAILURE"
    return job_ids


async def test_bulk_retry_runs_the_matching_failed_jobs_again_and_only_the_callers(
    client: httpx.AsyncClient, other_tenant: httpx.AsyncClient
) -> None:
    mark = uuid.uuid4().hex
    failed = await failed_jobs(client, mark, 3)
    succeeded = await start_job(client, "quick_steps", steps=1, result=mark)
    await finished(client, succeeded)
    [foreign] = await failed_jobs(other_tenant, mark, 1)

    counted = await bulk(client, "retry", status=["FAILURE"], q=mark, dry_run=True)
    assert counted == {"matched": 3, "more": False}, "a dry run counts, and does nothing"
    assert (await client.get(f"/jobs/{failed[0]}")).json()["retried_by"] is None

    outcome = await bulk(client, "retry", status=["FAILURE"], q=mark)
    assert (outcome["matched"], outcome["skipped"], outcome["more"]) == (3, [], False)
    assert sorted(done["job_id"] for done in outcome["done"]) == sorted(failed)
    for done in outcome["done"]:
        again = await finished(client, done["new_job_id"])
        assert again["retry_of"] == done["job_id"] and again["error"]["message"].startswith(mark)
        assert (await client.get(f"/jobs/{done['job_id']}")).json()["retried_by"] == done["new_job_id"]
    assert (await other_tenant.get(f"/jobs/{foreign}")).json()["retried_by"] is None, "not another's"
    assert (await client.get(f"/jobs/{succeeded}")).json()["retried_by"] is None, "not a SUCCESS"

    # Again: the jobs already run again are skipped, their reruns (which failed too) are run again.
    second = await bulk(client, "retry", status=["FAILURE"], q=mark)
    assert second["matched"] == 6
    assert sorted(skip["job_id"] for skip in second["skipped"]) == sorted(failed)
    assert {skip["code"] for skip in second["skipped"]} == {"already_retried"}
    assert sorted(done["job_id"] for done in second["done"]) == sorted(
        d["new_job_id"] for d in outcome["done"]
    )


async def test_bulk_retry_acts_on_at_most_its_limit_and_says_more_match(client: httpx.AsyncClient) -> None:
    mark = uuid.uuid4().hex
    failed = await failed_jobs(client, mark, 3)
    assert await bulk(client, "retry", q=mark, limit=2, dry_run=True) == {"matched": 2, "more": True}
    outcome = await bulk(client, "retry", q=mark, limit=2)
    assert outcome["more"] is True and [done["job_id"] for done in outcome["done"]] == failed[:0:-1]
    for done in outcome["done"]:
        await finished(client, done["new_job_id"])
    assert await bulk(client, "retry", q=mark, limit=5, dry_run=True) == {"matched": 5, "more": False}


async def test_a_job_type_clients_cannot_start_is_skipped_not_retried(client: httpx.AsyncClient) -> None:
    workspace = f"bulk-{uuid.uuid4().hex[:8]}"
    extraction = await upload(client, workspace, {"file": ("nda.txt", NDA.encode())})
    assert extraction["retryable"] is False
    outcome = await bulk(client, "retry", job_type="extract_documents", workspace=workspace)
    assert outcome["done"] == [] and outcome["matched"] == 1
    [skipped] = outcome["skipped"]
    assert (skipped["job_id"], skipped["code"]) == (extraction["job_id"], "job_not_retryable")


async def test_bulk_cancel_stops_the_matching_unfinished_jobs(
    client: httpx.AsyncClient, other_tenant: httpx.AsyncClient, redis_client
) -> None:
    mark = uuid.uuid4().hex
    done_already = await start_job(client, "quick_steps", steps=1, result=mark)
    await finished(client, done_already)
    # Running or still queued (the workers keep a thread for other tenants): both are cancelled.
    gated = [await start_job(client, "gated_steps", gate=f"{mark}-{n}", steps=2) for n in range(3)]
    foreign = await start_job(other_tenant, "gated_steps", gate=f"{mark}-foreign", steps=1)

    assert await bulk(client, "cancel", q=mark, dry_run=True) == {"matched": 3, "more": False}
    outcome = await bulk(client, "cancel", q=mark)
    assert (outcome["matched"], outcome["skipped"], outcome["more"]) == (3, [], False)
    assert sorted(done["job_id"] for done in outcome["done"]) == sorted(gated)
    assert {done["status"] for done in outcome["done"]} <= {"CANCELLED", "STARTED"}
    for job_id in gated:
        assert (await finished(client, job_id))["status"] == "CANCELLED"
    assert (await client.get(f"/jobs/{done_already}")).json()["status"] == "SUCCESS"
    assert (await other_tenant.get(f"/jobs/{foreign}")).json()["status"] in ("PENDING", "STARTED")
    redis_client.rpush(f"tests:gate:{mark}-foreign", 1)
    assert (await finished(other_tenant, foreign))["status"] == "SUCCESS", "another's job ran on"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("retry", {"status": ["NOPE"]}),
        ("retry", {"status": ["PENDING"]}),
        ("cancel", {"status": ["FAILURE"]}),
        ("retry", {"limit": 1001}),
        ("retry", {"limit": 0}),
        ("cancel", {"since": "soon"}),
        ("retry", {"q": "x" * 201}),
        ("retry", {"unknown": 1}),
        ("retry", {"status": "FAILURE"}),
    ],
)
async def test_bad_bulk_requests_are_answered_400(client: httpx.AsyncClient, action: str, body: dict) -> None:
    response = await client.post(f"/bulk/{action}", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_parameter"


async def test_bulk_actions_are_a_tenants_not_the_admins(client: httpx.AsyncClient) -> None:
    assert (await client.post("/bulk/retry", json={"dry_run": True}, headers=ADMIN)).status_code == 403
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as anonymous:
        assert (await anonymous.post("/bulk/cancel", json={})).status_code == 401
