"""Event streams over HTTP/2: many streams share one connection, each gets its own events, and a
stream the client resets gives its place back while its neighbours on the connection go on.

Over HTTP/1.1 each stream holds a socket of its own, so a web process holds no more streams
than it may open files; over HTTP/2 (a browser talking to a TLS origin, or a proxy speaking
HTTP/2 to its upstream) a hundred streams share one (docs/scaling.md). Hypercorn speaks it; these
tests hold our part to it: the stream handoff, the disconnect, the admission slots. The client is
httpx with HTTP/2 only, which speaks it in clear text from the first byte, as a proxy would.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trustme

from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .support.api import bearer
from .support.h2client import H2Client
from .support.servers import RedisServer, WebServer, eventually
from .support.sse import SSEMessage, collect_events, messages, parse, take_events
from .support.stack import new_job


@pytest.fixture
async def h2_client(web: WebServer, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=web.base_url, timeout=30, headers=bearer(api_key), http1=False, http2=True
    ) as client:
        yield client


async def test_streams_share_one_http2_connection_and_each_gets_its_own_jobs_events(
    h2_client: httpx.AsyncClient, job_store: JobStore
) -> None:
    jobs = [new_job(job_store) for _ in range(3)]

    async def follow(job_id: str, opened: asyncio.Event) -> list[SSEMessage]:
        async with h2_client.stream("GET", f"/jobs/{job_id}/events") as response:
            assert response.status_code == 200 and response.http_version == "HTTP/2"
            stream = messages(response)
            first = await take_events(stream, 1)
            opened.set()
            return first + await collect_events(stream)

    opened = [asyncio.Event() for _ in jobs]
    followers = [asyncio.create_task(follow(j, o)) for j, o in zip(jobs, opened, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 30)
    for n, job_id in enumerate(jobs):
        job_store.transition(JobRef(job_id), JobStatus.STARTED)
        job_store.progress(JobRef(job_id), 10 * (n + 1), f"step of job {n}")
        job_store.transition(JobRef(job_id), JobStatus.SUCCESS, result={"n": n})
    for n, (job_id, events) in enumerate(zip(jobs, await asyncio.gather(*followers), strict=True)):
        assert {e.data["job_id"] for e in events} == {job_id}, "no stream has another's events"
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert [e.data["status"] for e in events] == ["PENDING", "STARTED", "STARTED", "SUCCESS"]
        assert events[2].data["progress"] == 10 * (n + 1) and events[3].data["result"] == {"n": n}


@pytest.mark.slow
async def test_a_stream_reset_over_http2_gives_its_place_back_and_its_neighbours_go_on(
    redis_server: RedisServer, job_store: JobStore, api_key: str
) -> None:
    job_id = new_job(job_store)
    path, headers = f"/jobs/{job_id}/events", bearer(api_key)
    web = WebServer(redis_server, MAX_STREAMS="2")
    try:
        async with H2Client("127.0.0.1", web.port) as client:
            neighbour, leaving = client.request(path, headers), client.request(path, headers)
            neighbour_events = parse(neighbour.lines())
            assert [e.seq for e in await take_events(neighbour_events, 1)] == [1]
            assert [e.seq for e in await take_events(parse(leaving.lines()), 1)] == [1]
            refused = client.request(path, headers)
            assert await refused.status == 429, "both places are taken"
            assert json.loads(b"".join([chunk async for chunk in refused.body()]))["error"]["code"] == (
                "too_many_streams"
            )
            client.reset(leaving)  # as a browser closing an EventSource; the connection stays

            async def place_free() -> bool:
                again = client.request(path, headers)
                if await again.status == 429:
                    return False
                assert [e.seq for e in await take_events(parse(again.lines()), 1)] == [1]
                return True

            await eventually(place_free, timeout=10, what="the reset stream's place to be given back")
            job_store.progress(JobRef(job_id), 40, "still watched")
            [event] = await take_events(neighbour_events, 1)
            assert (event.seq, event.data["progress"]) == (2, 40), "the neighbour goes on"
    finally:
        web.stop()


@pytest.mark.slow
async def test_over_http2_the_host_guard_reads_the_authority(redis_server: RedisServer) -> None:
    web = WebServer(redis_server, AUTH="false")  # answers to loopback names only (DNS rebinding)
    try:
        for authority, status in ((f"127.0.0.1:{web.port}", 404), ("attacker.example", 400)):
            async with H2Client("127.0.0.1", web.port) as client:
                client.authority = authority.encode()  # HTTP/2's Host
                answer = client.request(f"/jobs/{uuid.uuid4()}")
                assert await answer.status == status, authority
                body = json.loads(b"".join([chunk async for chunk in answer.body()]))
                assert body["error"]["code"] == ("job_not_found" if status == 404 else "host_not_allowed")
    finally:
        web.stop()


@pytest.mark.slow
async def test_served_over_tls_a_browser_like_client_gets_its_stream_over_http2(
    redis_server: RedisServer, job_store: JobStore, api_key: str, tmp_path: Path
) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "chain.pem", tmp_path / "key.pem"
    certfile.write_bytes(b"".join(pem.bytes() for pem in certificate.cert_chain_pems))
    certificate.private_key_pem.write_to_path(str(keyfile))
    trusted = ssl.create_default_context()
    authority.configure_trust(trusted)
    web = WebServer(redis_server, args=("--certfile", str(certfile), "--keyfile", str(keyfile)), tls=trusted)
    job_id = new_job(job_store)
    try:
        # As a browser: HTTP/1.1 and HTTP/2 offered, HTTP/2 agreed on in the TLS handshake.
        async with (
            httpx.AsyncClient(
                base_url=web.base_url, timeout=30, headers=bearer(api_key), verify=trusted, http2=True
            ) as client,
            client.stream("GET", f"/jobs/{job_id}/events") as response,
        ):
            assert response.status_code == 200 and response.http_version == "HTTP/2"
            assert "max-age" in response.headers["strict-transport-security"], "HSTS over TLS"
            stream = messages(response)
            assert [e.seq for e in await take_events(stream, 1)] == [1]
            job_store.transition(JobRef(job_id), JobStatus.STARTED)
            job_store.transition(JobRef(job_id), JobStatus.SUCCESS, result={"over": "tls"})
            assert [e.data["status"] for e in await collect_events(stream)] == ["STARTED", "SUCCESS"]
    finally:
        web.stop()
