"""Browser sessions and what a caller holds open: a login never swaps a live session for another
tenant's, a session ends everywhere at logout, revocation or expiry (its streams and waits with
it), and streams, long-polls and waits are counted exactly against the key's and the process's
limits. No worker runs in this module: every job stays PENDING, so its streams stay open."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from .support.api import ADMIN, bearer, new_key
from .support.servers import RedisServer, WebServer, eventually
from .support.sse import collect_events, messages, take_events

#: Streams, long-polls and waits one key may hold in the module's web server.
PER_KEY = 3


@pytest.fixture(scope="module")
def browser_web(redis_server: RedisServer) -> Iterator[WebServer]:
    """Cookies over plain HTTP (the tests' server speaks no TLS), and small stream limits."""
    server = WebServer(redis_server, SESSION_COOKIE_SECURE="false", MAX_STREAMS_PER_KEY=str(PER_KEY))
    yield server
    server.stop()


def new_tenant_key(web: WebServer, prefix: str) -> str:
    return new_key(web, f"{prefix}-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def browser(browser_web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on the service's own origin: it keeps its cookies and says where it comes from."""
    origin = {"Origin": browser_web.base_url}
    async with httpx.AsyncClient(base_url=browser_web.base_url, timeout=30, headers=origin) as client:
        yield client


async def logged_in(browser: httpx.AsyncClient, key: str) -> str:
    """Log ``browser`` in with ``key``; its session cookie, as a replaying attacker would keep it."""
    answer = await browser.post("/session", json={"key": key})
    assert answer.status_code == 200, answer.text
    return browser.cookies["jobs_session"]


async def replayed(web: WebServer, cookie: str) -> int:
    """The status an attacker replaying a kept session ``cookie`` gets for ``GET /workspaces``."""
    async with httpx.AsyncClient(
        base_url=web.base_url, timeout=30, cookies={"jobs_session": cookie}
    ) as replay:
        return (await replay.get("/workspaces")).status_code


async def pending_job(web: WebServer, key: str) -> str:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30, headers=bearer(key)) as client:
        answer = await client.post("/jobs/quick_steps", json={"steps": 1})
        assert answer.status_code == 202, answer.text
        return answer.json()["job_id"]


async def test_a_login_never_swaps_a_live_session_for_another_tenant_silently(
    browser: httpx.AsyncClient, browser_web: WebServer
) -> None:
    victim, attacker = new_tenant_key(browser_web, "victim"), new_tenant_key(browser_web, "attacker")
    await logged_in(browser, victim)
    victim_tenant = (await browser.get("/session")).json()["tenant"]
    swap = await browser.post("/session", json={"key": attacker})
    assert swap.status_code == 409, swap.text
    error = swap.json()["error"]
    assert error["code"] == "session_conflict"
    assert error["current_tenant"] == victim_tenant and error["tenant"].startswith("attacker-")
    assert (await browser.get("/session")).json()["tenant"] == victim_tenant, "still the victim's session"
    # Confirmed, the switch happens, and the session it replaces ends.
    old_cookie = browser.cookies["jobs_session"]
    switched = await browser.post("/session", json={"key": attacker, "replace": True})
    assert switched.status_code == 200 and switched.json()["tenant"] == error["tenant"]
    assert await replayed(browser_web, old_cookie) == 401


async def test_logging_in_again_as_the_same_tenant_needs_no_confirmation(
    browser: httpx.AsyncClient, browser_web: WebServer
) -> None:
    tenant = f"same-{uuid.uuid4().hex[:8]}"
    first, second = new_key(browser_web, tenant), new_key(browser_web, tenant)
    await logged_in(browser, first)
    again = await browser.post("/session", json={"key": second})
    assert again.status_code == 200 and (await browser.get("/session")).json()["key_id"] in second


async def test_a_cookie_replayed_after_logout_gets_401(
    browser: httpx.AsyncClient, browser_web: WebServer
) -> None:
    cookie = await logged_in(browser, new_tenant_key(browser_web, "leaver"))
    assert (await browser.get("/workspaces")).status_code == 200
    assert (await browser.delete("/session")).status_code == 204
    assert await replayed(browser_web, cookie) == 401


async def test_logout_ends_the_sessions_open_streams_and_long_polls_everywhere(
    browser: httpx.AsyncClient, browser_web: WebServer, redis_server: RedisServer
) -> None:
    key = new_tenant_key(browser_web, "closer")
    job_id = await pending_job(browser_web, key)
    cookie = await logged_in(browser, key)
    other_process = WebServer(redis_server, SESSION_COOKIE_SECURE="false")  # the logout is heard there too
    try:
        async with httpx.AsyncClient(
            base_url=other_process.base_url, timeout=30, cookies={"jobs_session": cookie}
        ) as elsewhere:
            async with elsewhere.stream("GET", f"/jobs/{job_id}/events") as stream:
                assert stream.status_code == 200
                events = messages(stream)
                await take_events(events, 1)
                long_poll = asyncio.create_task(elsewhere.get(f"/jobs/{job_id}", params={"wait": 30}))

                async def both_open() -> bool:
                    stats = await elsewhere.get("/events/stats", headers=ADMIN)
                    return stats.json()["subscriptions"] == 2

                await eventually(both_open, timeout=20, what="the stream and the long-poll to be open")
                assert (await browser.delete("/session")).status_code == 204
                assert await asyncio.wait_for(collect_events(events), 5) == [], "the stream ends, at once"
            answer = await asyncio.wait_for(long_poll, 5)
            assert answer.status_code == 401, answer.text
    finally:
        other_process.stop()


async def test_revoking_a_key_ends_its_sessions(browser: httpx.AsyncClient, browser_web: WebServer) -> None:
    tenant = f"revoked-{uuid.uuid4().hex[:8]}"
    key = new_key(browser_web, tenant)
    cookie = await logged_in(browser, key)
    key_id = (await browser.get("/session")).json()["key_id"]
    revoked = httpx.delete(f"{browser_web.base_url}/admin/tenants/{tenant}/keys/{key_id}", headers=ADMIN)
    assert revoked.status_code == 204
    assert await replayed(browser_web, cookie) == 401


async def test_a_session_ends_at_its_lifetime_and_its_streams_with_it(redis_server: RedisServer) -> None:
    web = WebServer(redis_server, SESSION_COOKIE_SECURE="false", SESSION_LIFETIME="3")
    try:
        key = new_tenant_key(web, "brief")
        job_id = await pending_job(web, key)
        async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as browser:
            await logged_in(browser, key)
            async with browser.stream("GET", f"/jobs/{job_id}/events") as stream:
                assert stream.status_code == 200
                # The stream ends when the session does (not at its 10-minute rotation).
                await asyncio.wait_for(collect_events(stream), 15)
            assert (await browser.get("/workspaces")).status_code == 401
    finally:
        web.stop()


async def test_long_polls_count_against_the_keys_streams(redis_server: RedisServer) -> None:
    web = WebServer(redis_server, MAX_STREAMS_PER_KEY=str(PER_KEY))  # its own: it counts what is open
    try:
        key = new_tenant_key(web, "poller")
        job_id = await pending_job(web, key)
        async with httpx.AsyncClient(base_url=web.base_url, timeout=30, headers=bearer(key)) as client:
            waits = [
                asyncio.create_task(client.get(f"/jobs/{job_id}", params={"wait": 30}))
                for _ in range(PER_KEY)
            ]

            async def all_waiting() -> bool:
                stats = await client.get("/events/stats", headers=ADMIN)
                return stats.json()["subscriptions"] == PER_KEY

            await eventually(all_waiting, timeout=20, what="the key's long-polls to wait")
            for refused in (
                await client.get(f"/jobs/{job_id}", params={"wait": 5}),
                await client.get(f"/jobs/{job_id}/events"),
            ):
                assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_streams"
            other = new_tenant_key(web, "neighbour")
            other_job = await pending_job(web, other)
            neighbour = await client.get(f"/jobs/{other_job}", params={"wait": 0.1}, headers=bearer(other))
            assert neighbour.status_code == 200, "another key is not refused for this one's waits"
            for task in waits:
                task.cancel()
    finally:
        web.stop()


async def test_concurrent_streams_are_never_admitted_past_the_keys_limit(browser_web: WebServer) -> None:
    key = new_tenant_key(browser_web, "crowd")
    job_id = await pending_job(browser_web, key)
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(
        base_url=browser_web.base_url, timeout=30, headers=bearer(key), limits=limits
    ) as client:
        requests = [client.build_request("GET", f"/jobs/{job_id}/events") for _ in range(20)]
        # Sent together, each answer kept open until all are in: none is let go to free a place.
        answers = await asyncio.gather(*(client.send(request, stream=True) for request in requests))
        try:
            statuses = sorted(answer.status_code for answer in answers)
        finally:
            for answer in answers:
                await answer.aclose()
    assert statuses == [200] * PER_KEY + [429] * (20 - PER_KEY)


async def test_a_revoked_keys_long_poll_ends_at_once_with_401(browser_web: WebServer) -> None:
    tenant = f"cut-{uuid.uuid4().hex[:8]}"
    key = new_key(browser_web, tenant)
    job_id = await pending_job(browser_web, key)
    async with httpx.AsyncClient(base_url=browser_web.base_url, timeout=60, headers=bearer(key)) as client:
        long_poll = asyncio.create_task(client.get(f"/jobs/{job_id}", params={"wait": 45}))

        async def waiting() -> bool:
            stats = await client.get("/events/stats", headers=ADMIN)
            return stats.json()["watched_jobs"] >= 1

        await eventually(waiting, timeout=20, what="the long-poll to wait")
        listed = (await client.get(f"/admin/tenants/{tenant}/keys", headers=ADMIN)).json()["keys"]
        revoked = await client.delete(f"/admin/tenants/{tenant}/keys/{listed[0]['key_id']}", headers=ADMIN)
        assert revoked.status_code == 204
        answer = await asyncio.wait_for(long_poll, 5)
        assert answer.status_code == 401, answer.text
