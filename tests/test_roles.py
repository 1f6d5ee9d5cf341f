"""Viewer keys: a key (and a session made from one) that reads everything of its tenant and
changes nothing. Checked route by route from the service's own OpenAPI document, so a route added
later is held to it the day it is added. No worker runs here: jobs stay PENDING."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from actors.contracts.documents import DocumentStore

from .support.api import ADMIN, TENANT, bearer, new_key
from .support.contracts import NDA
from .support.servers import RedisServer, WebServer

#: What a viewer may still change: its session (log in, log out) and the stream tokens it needs
#: to follow its tenant's jobs from another origin.
VIEWER_MAY_CHANGE = {("post", "/session"), ("delete", "/session"), ("post", "/stream-tokens")}
#: The admin's routes: any tenant's key, member or viewer, is refused them.
ADMIN_PREFIXES = ("/admin/", "/queues/")
CHANGES = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def roles_web(redis_server: RedisServer) -> Iterator[WebServer]:
    """Session cookies over plain HTTP (the tests' server speaks no TLS)."""
    server = WebServer(redis_server, SESSION_COOKIE_SECURE="false")
    yield server
    server.stop()


def viewer_key(web: WebServer, tenant: str = TENANT) -> str:
    made = httpx.post(
        f"{web.base_url}/admin/tenants/{tenant}/keys", json={"role": "viewer"}, headers=ADMIN, timeout=30
    )
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "viewer"
    return made.json()["key"]


@pytest.fixture
async def member(roles_web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=roles_web.base_url, timeout=30, headers=bearer(new_key(roles_web))
    ) as client:
        yield client


@pytest.fixture
async def viewer(roles_web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=roles_web.base_url, timeout=30, headers=bearer(viewer_key(roles_web))
    ) as client:
        yield client


@pytest.fixture
async def viewer_session(roles_web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on the service's own origin, logged in with a viewer key."""
    origin = {"Origin": roles_web.base_url}
    async with httpx.AsyncClient(base_url=roles_web.base_url, timeout=30, headers=origin) as browser:
        login = await browser.post("/session", json={"key": viewer_key(roles_web)})
        assert login.status_code == 200, login.text
        assert login.json()["role"] == "viewer"
        yield browser


@pytest.fixture
async def things(
    roles_web: WebServer, redis_server: RedisServer, member: httpx.AsyncClient
) -> dict[str, str]:
    """Path parameters naming real things of the tenant: a job, a workspace and its document, a
    key; so that an answer is about the caller's role, not a 404."""
    workspace = f"roles-{uuid.uuid4().hex[:8]}"
    [document] = DocumentStore(client=redis_server.client()).add(
        TENANT, workspace, [("nda.txt", NDA.encode())]
    )
    started = await member.post("/jobs/quick_steps", json={"steps": 1})
    assert started.status_code == 202, started.text
    keys = (await member.get("/session")).json()
    return {
        "job_id": started.json()["job_id"],
        "workspace": workspace,
        "doc_id": document["doc_id"],
        "job_type": "quick_steps",
        "tenant": TENANT,
        "key_id": keys["key_id"],
        "queue": "default",
        "letter_id": "no-such-letter",
    }


def operations(web: WebServer, methods: set[str]) -> list[tuple[str, str]]:
    """Every (method, path template) of the OpenAPI document among ``methods``."""
    document = httpx.get(f"{web.base_url}/openapi.json", headers=ADMIN, timeout=30).json()
    found = [
        (method, path) for path, item in document["paths"].items() for method in item if method in methods
    ]
    assert len(found) > 5, found
    return found


def filled(template: str, things: dict[str, str]) -> str:
    """``template`` with real things of the tenant; a parameter ``things`` does not know (a route
    added since) names nothing, which a viewer is refused all the same, before any lookup."""
    return re.sub(r"\{(\w+)\}", lambda found: things.get(found.group(1), "no-such-thing"), template)


async def answer(client: httpx.AsyncClient, method: str, path: str, **options: Any) -> httpx.Response:
    """The answer's status and body, without waiting out a stream or a long-poll."""
    async with client.stream(method.upper(), path, **options) as response:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return response
        await response.aread()
        return response


def read_only_refusal(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.json()["error"]["code"] == "read_only_key"


async def test_a_viewer_key_is_refused_every_change_with_403_read_only_key(
    roles_web: WebServer, viewer: httpx.AsyncClient, things: dict[str, str]
) -> None:
    for method, template in operations(roles_web, CHANGES):
        if (method, template) in VIEWER_MAY_CHANGE:
            continue
        refused = await answer(viewer, method, filled(template, things), json={})
        assert read_only_refusal(refused), (
            f"{method.upper()} {template}: {refused.status_code} {refused.text}"
        )
        assert refused.json()["error"]["message"].startswith("This key may only read: ")
    job = (await viewer.get(f"/jobs/{things['job_id']}")).json()
    assert job["status"] == "PENDING", "the viewer's cancel changed nothing"
    documents = (await viewer.get(f"/workspaces/{things['workspace']}/documents")).json()["documents"]
    assert [d["doc_id"] for d in documents] == [things["doc_id"]], "nor did its delete"


async def test_a_member_key_is_never_refused_for_its_role(
    roles_web: WebServer, member: httpx.AsyncClient, things: dict[str, str]
) -> None:
    for method, template in operations(roles_web, CHANGES):
        response = await answer(member, method, filled(template, things), json={})
        described = f"{method.upper()} {template}: {response.status_code} {response.text}"
        if template.startswith(ADMIN_PREFIXES):
            assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", described
        else:
            assert response.status_code != 403, described
    job = (await member.get(f"/jobs/{things['job_id']}")).json()
    assert job["status"] == "CANCELLED", "the member's cancel went through"


async def test_a_viewer_session_is_refused_every_change_but_its_own_session(
    roles_web: WebServer, viewer_session: httpx.AsyncClient, things: dict[str, str]
) -> None:
    for method, template in operations(roles_web, CHANGES):
        if (method, template) in VIEWER_MAY_CHANGE:
            continue
        refused = await answer(viewer_session, method, filled(template, things), json={})
        assert read_only_refusal(refused), (
            f"{method.upper()} {template}: {refused.status_code} {refused.text}"
        )
    token = await viewer_session.post("/stream-tokens", json={"jobs": [things["job_id"]]})
    assert token.status_code == 200, token.text
    async with httpx.AsyncClient(base_url=roles_web.base_url, timeout=30) as elsewhere:
        streamed = await answer(elsewhere, "get", f"/jobs/{things['job_id']}/events", params=token.json())
        assert streamed.status_code == 200
    assert (await viewer_session.delete("/session")).status_code == 204, "a viewer logs out"
    assert (await viewer_session.get("/session")).status_code == 401


async def test_a_viewer_reads_what_a_member_reads(
    roles_web: WebServer, viewer: httpx.AsyncClient, member: httpx.AsyncClient, things: dict[str, str]
) -> None:
    for method, template in operations(roles_web, {"get"}):
        path = filled(template, things)
        as_viewer, as_member = await answer(viewer, method, path), await answer(member, method, path)
        assert as_viewer.status_code == as_member.status_code, f"GET {template}: {as_viewer.status_code}"
    listed = (await viewer.get("/jobs", params={"workspace": things["workspace"]})).json()["jobs"]
    assert listed == (await member.get("/jobs", params={"workspace": things["workspace"]})).json()["jobs"]
    stream = await answer(viewer, "get", f"/jobs/{things['job_id']}/events")
    assert stream.status_code == 200


async def test_get_session_reports_the_role(
    viewer: httpx.AsyncClient, member: httpx.AsyncClient, viewer_session: httpx.AsyncClient
) -> None:
    assert (await viewer.get("/session")).json()["role"] == "viewer"
    assert (await viewer_session.get("/session")).json() | {"key_id": None} == {
        "tenant": TENANT,
        "key_id": None,
        "via": "session",
        "role": "viewer",
    }
    assert (await member.get("/session")).json()["role"] == "member"


def test_keys_are_listed_with_their_role_and_a_role_is_one_of_two(roles_web: WebServer) -> None:
    tenant = f"roles-{uuid.uuid4().hex[:8]}"
    keys_url = f"{roles_web.base_url}/admin/tenants/{tenant}/keys"
    member_made = httpx.post(keys_url, headers=ADMIN, timeout=30).json()
    assert member_made["role"] == "member", "no body: a full key, as before"
    viewer_made = httpx.post(keys_url, json={"role": "viewer"}, headers=ADMIN, timeout=30).json()
    listed = httpx.get(keys_url, headers=ADMIN, timeout=30).json()["keys"]
    assert {key["key_id"]: key["role"] for key in listed} == {
        member_made["key_id"]: "member",
        viewer_made["key_id"]: "viewer",
    }
    for wrong in ({"role": "owner"}, {"role": "admin"}, {"role": None}, {"rights": "viewer"}):
        refused = httpx.post(keys_url, json=wrong, headers=ADMIN, timeout=30)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_payload", wrong
