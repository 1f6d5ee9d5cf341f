"""Tenancy: tenant B can read, stream, list, cancel or delete nothing of tenant A's (404, as for
what does not exist), a request without a key is 401, and the admin's routes are the admin's.
Two tenants, ``alpha`` and ``beta``, on this module's own stack."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .conftest import WORKSPACE_FILES
from .support.api import ADMIN, bearer, finished_now, new_key, start_job
from .support.jobs import gate_key
from .support.servers import WebServer
from .support.sse import collect_events, messages, take_events

pytestmark = pytest.mark.usefixtures("workers")

SECRET_WORKSPACE = "secret deals"


@pytest.fixture(scope="module")
def keys(web: WebServer) -> dict[str, str]:
    return {tenant: new_key(web, tenant) for tenant in ("alpha", "beta")}


@pytest.fixture
async def alpha(web: WebServer, keys: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30, headers=bearer(keys["alpha"])) as client:
        yield client


@pytest.fixture
async def beta(web: WebServer, keys: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30, headers=bearer(keys["beta"])) as client:
        yield client


@pytest.fixture
async def anonymous(web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def alpha_documents(web: WebServer, keys: dict[str, str]) -> list[dict]:
    files = [("file", (name, data)) for name, data in WORKSPACE_FILES]
    response = httpx.post(
        f"{web.base_url}/workspaces/{SECRET_WORKSPACE}/documents",
        files=files,
        headers=bearer(keys["alpha"]),
        timeout=30,
    )
    assert response.status_code == 202, response.text
    extraction = finished_now(web.base_url, response.json()["job_id"], bearer(keys["alpha"]))
    assert extraction["status"] == "SUCCESS", extraction
    return extraction["result"]["documents"]


@pytest.fixture
async def alpha_job(alpha: httpx.AsyncClient, alpha_documents: list[dict], redis_client: redis.Redis) -> str:
    """A running job of alpha's, in its secret workspace (held until the test ends)."""
    gate = f"tenancy-{uuid.uuid4()}"
    job_id = await start_job(alpha, "gated_steps", gate=gate, steps=1)
    yield job_id
    redis_client.rpush(gate_key(gate), 1)


def same_shape(one: httpx.Response, other: httpx.Response) -> tuple:
    """A 404's status and body with ids taken out: what tells a hidden thing from a missing one."""
    uuid_pattern = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

    def shape(response: httpx.Response) -> tuple:
        return response.status_code, uuid_pattern.sub("<id>", response.text)

    return shape(one), shape(other)


async def test_another_tenants_job_is_not_found_exactly_as_a_missing_one(
    beta: httpx.AsyncClient, alpha_job: str
) -> None:
    missing = str(uuid.uuid4())
    for path in ("/jobs/{}", "/jobs/{}?wait=1", "/jobs/{}/events", "/events?job={}"):
        hidden, absent = await beta.get(path.format(alpha_job)), await beta.get(path.format(missing))
        theirs, nothing = same_shape(hidden, absent)
        assert theirs == nothing and theirs[0] == 404, path
    cancelled = await beta.post(f"/jobs/{alpha_job}/cancel")
    assert cancelled.status_code == 404 and cancelled.json()["error"]["code"] == "job_not_found"
    token = await beta.post("/stream-tokens", json={"jobs": [alpha_job]})
    assert token.status_code == 404


async def test_a_large_foreign_job_costs_what_a_missing_one_costs(
    beta: httpx.AsyncClient, job_store: JobStore, redis_client: redis.Redis
) -> None:
    # The tenant is checked before the record is read: alpha's 2.7 MB job never leaves Redis for
    # beta's request, so the answer takes no longer than a missing job's (the red team timed it).
    big = str(uuid.uuid4())
    job_store.create(JobRef(big, namespace="alpha"), "quick_steps", message="{}")
    job_store.transition(JobRef(big, namespace="alpha"), JobStatus.SUCCESS, result={"text": "x" * 2_700_000})

    def bytes_sent_by_redis() -> int:
        return int(redis_client.info("stats")["total_net_output_bytes"])

    sent = {}
    for name, job_id in (("foreign", big), ("missing", str(uuid.uuid4()))):
        before = bytes_sent_by_redis()
        for path in ("/jobs/{}", "/jobs/{}/events", "/events?job={}", "/jobs/{}?include=arguments"):
            assert (await beta.get(path.format(job_id))).status_code == 404
        sent[name] = bytes_sent_by_redis() - before
    assert sent["foreign"] < sent["missing"] + 50_000, sent


async def test_beta_cannot_cancel_alphas_job_and_alpha_still_can(
    alpha: httpx.AsyncClient, beta: httpx.AsyncClient, alpha_job: str
) -> None:
    assert (await beta.post(f"/jobs/{alpha_job}/cancel")).status_code == 404
    assert (await beta.post(f"/jobs/{alpha_job}/retry")).status_code == 404
    assert (await alpha.get(f"/jobs/{alpha_job}")).json()["message"] != "Cancellation requested, stopping..."
    assert (await alpha.post(f"/jobs/{alpha_job}/cancel")).status_code in (200, 202)


async def test_another_tenants_workspace_and_documents_are_not_found(
    alpha: httpx.AsyncClient, beta: httpx.AsyncClient, alpha_documents: list[dict]
) -> None:
    name = SECRET_WORKSPACE
    listed = await beta.get(f"/workspaces/{name}/documents")
    assert listed.status_code == 404 and listed.json()["error"]["code"] == "workspace_not_found"
    doc_id = alpha_documents[0]["doc_id"]
    deleted = await beta.delete(f"/workspaces/{name}/documents/{doc_id}")
    assert deleted.status_code == 404
    assert name not in {w["name"] for w in (await beta.get("/workspaces")).json()["workspaces"]}
    for route, body in (
        ("/score", {"criterion": "payment", "workspace_name": name}),
        ("/audit", {"workspace_name": name}),
        ("/jobs/score_contracts", {"criterion": "payment", "workspace_name": name}),
    ):
        refused = await beta.post(route, json=body)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "workspace_not_found", route
    mine = (await alpha.get(f"/workspaces/{name}/documents")).json()["documents"]
    assert doc_id in {d["doc_id"] for d in mine}, "nothing of alpha's was deleted"


async def test_listings_hold_only_the_callers_jobs_and_the_admin_names_a_tenant(
    alpha: httpx.AsyncClient, beta: httpx.AsyncClient, alpha_job: str
) -> None:
    for params in ({}, {"workspace": SECRET_WORKSPACE}, {"job_type": "gated_steps"}):
        jobs = (await beta.get("/jobs", params=params)).json()["jobs"]
        assert alpha_job not in {j["job_id"] for j in jobs}, params
    assert alpha_job in {j["job_id"] for j in (await alpha.get("/jobs")).json()["jobs"]}
    assert {"alpha", "beta"} <= set((await beta.get("/admin/tenants", headers=ADMIN)).json()["tenants"])
    admin = await beta.get("/jobs", params={"tenant": "alpha"}, headers=ADMIN)
    assert alpha_job in {j["job_id"] for j in admin.json()["jobs"]}
    assert (await beta.get("/jobs", headers=ADMIN)).status_code == 400, "the admin names the tenant"


async def test_a_workspace_stream_shows_only_the_callers_jobs(
    alpha: httpx.AsyncClient, beta: httpx.AsyncClient, alpha_documents: list[dict], job_store: JobStore
) -> None:
    async with beta.stream("GET", f"/workspaces/{SECRET_WORKSPACE}/events") as response:
        stream = messages(response)
        score = await alpha.post("/score", json={"criterion": "payment", "workspace_name": SECRET_WORKSPACE})
        assert score.json()["status"] == "SUCCESS", "alpha's job ran to its end meanwhile"
        own = str(uuid.uuid4())  # then a job of beta's own, in a workspace of the same name
        job_store.create(JobRef(own, namespace="beta", group=SECRET_WORKSPACE), "score_contracts")
        [first] = await take_events(stream, 1)
    assert first.data["job_id"] == own, "alpha's events never reached beta's stream"


async def test_two_tenants_may_use_the_same_idempotency_key_without_meeting(
    alpha: httpx.AsyncClient, beta: httpx.AsyncClient
) -> None:
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    one = await alpha.post("/jobs/quick_steps", json={"steps": 1}, headers=key)
    other = await beta.post("/jobs/quick_steps", json={"steps": 2}, headers=key)
    assert (one.status_code, other.status_code) == (202, 202)
    assert one.json()["job_id"] != other.json()["job_id"]
    again = await beta.post("/jobs/quick_steps", json={"steps": 2}, headers=key)
    assert again.status_code == 200 and again.json()["job_id"] == other.json()["job_id"]


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/jobs/quick_steps"),
        ("GET", "/jobs"),
        ("GET", "/jobs/{job}"),
        ("GET", "/jobs/{job}/events"),
        ("GET", "/events?job={job}"),
        ("POST", "/jobs/{job}/cancel"),
        ("POST", "/score"),
        ("POST", "/audit"),
        ("GET", "/workspaces"),
        ("GET", "/workspaces/acme/documents"),
        ("POST", "/workspaces/acme/documents"),
        ("GET", "/workspaces/acme/documents/d"),
        ("DELETE", "/workspaces/acme/documents/d"),
        ("GET", "/workspaces/acme/events"),
        ("GET", "/worker/status"),
        ("GET", "/metrics"),
        ("GET", "/events/stats"),
        ("POST", "/stream-tokens"),
        ("GET", "/session"),
        ("GET", "/admin/tenants"),
        ("GET", "/admin/tenants/alpha/keys"),
        ("POST", "/admin/tenants/alpha/keys"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
    ],
)
async def test_without_a_key_every_route_but_health_is_401(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await anonymous.request(method, path.format(job=uuid.uuid4()))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = await anonymous.request(method, path.format(job=uuid.uuid4()), headers=bearer("jk_nope_nope"))
    assert wrong.status_code == 401


async def test_an_upload_without_a_key_is_answered_401_not_cut_off(anonymous: httpx.AsyncClient) -> None:
    # Refused before its body is read: the body is read (up to 1 MiB) first, or the connection
    # would be reset under the client's feet and it would see a network error, not the 401.
    for _ in range(20):
        answer = await anonymous.post("/workspaces/acme/documents", files={"file": ("a.txt", b"x" * 600_000)})
        assert answer.status_code == 401


async def test_health_the_dashboard_and_its_files_need_no_key(anonymous: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz", "/", "/static/jobs-client.js"):
        assert (await anonymous.get(path)).status_code == 200, path


async def test_the_admins_routes_refuse_a_tenants_key(beta: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/metrics"), ("GET", "/events/stats"), ("POST", "/admin/tenants/beta/keys")):
        response = await beta.request(method, path)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", path
    assert (await beta.get("/metrics", headers=ADMIN)).status_code == 200


async def test_a_revoked_key_stops_at_once_and_its_open_streams_end(
    web: WebServer, alpha: httpx.AsyncClient, alpha_job: str
) -> None:
    made = httpx.post(f"{web.base_url}/admin/tenants/alpha/keys", headers=ADMIN).json()
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30, headers=bearer(made["key"])) as doomed:
        async with doomed.stream("GET", f"/jobs/{alpha_job}/events") as response:
            stream = messages(response)
            await take_events(stream, 1)
            revoked = await alpha.delete(f"/admin/tenants/alpha/keys/{made['key_id']}", headers=ADMIN)
            assert revoked.status_code == 204
            # The open stream ends: its rest arrives at once, and then nothing.
            await asyncio.wait_for(collect_events(stream), 5)
        assert (await doomed.get(f"/jobs/{alpha_job}")).status_code == 401
    assert (await alpha.get(f"/jobs/{alpha_job}")).status_code == 200, "the tenant's other keys go on"
    assert made["key_id"] not in {
        k["key_id"] for k in (await alpha.get("/admin/tenants/alpha/keys", headers=ADMIN)).json()["keys"]
    }


async def test_stream_tokens_stream_only_what_they_name(
    alpha: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    mine, other = (
        (await start_job(alpha, "quick_steps", steps=1)),
        (await start_job(alpha, "quick_steps", steps=1)),
    )
    token = (await alpha.post("/stream-tokens", json={"jobs": [mine]})).json()["token"]
    assert (await anonymous.get(f"/jobs/{mine}/events")).status_code == 401, "no token, no stream"
    async with anonymous.stream("GET", f"/jobs/{mine}/events", params={"token": token}) as response:
        assert response.status_code == 200
        assert (await collect_events(response))[-1].data["status"] == "SUCCESS"
    for path in (f"/jobs/{other}/events", f"/jobs/{mine}", "/jobs"):
        refused = await anonymous.get(path, params={"token": token})
        assert refused.status_code in (401, 403), path
    ws_token = (await alpha.post("/stream-tokens", json={"workspace": "acme"})).json()["token"]
    assert (await anonymous.get("/workspaces/other/events", params={"token": ws_token})).status_code == 403
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await anonymous.get(f"/jobs/{mine}/events", params={"token": forged})).status_code == 401
