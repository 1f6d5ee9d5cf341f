"""Limits and the browser's defences: request rates, open streams, body sizes and types, what a
tenant may store and for how long, stream tokens' lives, CSRF, CORS, and AUTH=off on loopback
only. Each limit answers 429 or 413 (with ``Retry-After`` where it applies) and loses nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from actors.contracts.documents import DocumentStore
from actors.contracts.settings import ContractSettings

from .support.api import bearer, new_key
from .support.contracts import NDA
from .support.servers import REPO_ROOT, RedisServer, WebServer, eventually, free_port, service_env
from .support.sse import messages, take_events


@pytest.fixture(scope="module")
def tight_web(redis_server: RedisServer) -> Iterator[WebServer]:
    """A web server with small limits; each test uses keys of a tenant of its own."""
    server = WebServer(
        redis_server,
        MAX_STREAMS_PER_KEY="2",
        MAX_WORKSPACES_PER_TENANT="1",
        MAX_DOCUMENTS_PER_TENANT="3",
        MAX_BYTES_PER_TENANT="100000",
        DOCUMENT_TTL="2",
        STREAM_TOKEN_TTL="1",
        CORS_ORIGINS="https://app.example",
        CORS_CREDENTIALS="true",
    )
    yield server
    server.stop()


@pytest.fixture
async def tenant(tight_web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    key = new_key(tight_web, f"t-{uuid.uuid4().hex[:10]}")
    async with httpx.AsyncClient(base_url=tight_web.base_url, timeout=30, headers=bearer(key)) as client:
        yield client


@pytest.fixture
def rate_limited_web(redis_server: RedisServer) -> Iterator[WebServer]:
    server = WebServer(redis_server, RATE_LIMIT_PER_MINUTE="20")
    yield server
    server.stop()


async def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_go_on(
    rate_limited_web: WebServer,
) -> None:
    key, other = new_key(rate_limited_web, "busy"), new_key(rate_limited_web, "calm")
    async with httpx.AsyncClient(
        base_url=rate_limited_web.base_url, timeout=30, headers=bearer(key)
    ) as client:
        answers = [(await client.get("/jobs")).status_code for _ in range(25)]
        assert answers[:20] == [200] * 20 and 429 in answers[20:], answers
        refused = await client.get("/jobs")
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await client.get("/jobs", headers=bearer(other))).status_code == 200, "another key goes on"


async def test_a_key_over_its_open_streams_gets_429_and_can_poll_instead(
    tenant: httpx.AsyncClient, tight_web: WebServer
) -> None:
    # A job no worker runs here (this module starts none): its streams stay open.
    job_id = (await tenant.post("/jobs/quick_steps", json={"steps": 1})).json()["job_id"]
    async with (
        tenant.stream("GET", f"/jobs/{job_id}/events") as one,
        tenant.stream("GET", f"/jobs/{job_id}/events") as two,
    ):
        assert (one.status_code, two.status_code) == (200, 200)
        readers = [messages(one), messages(two)]  # held: an abandoned reader would close its stream
        for reader in readers:
            await take_events(reader, 1)
        refused = await tenant.get(f"/jobs/{job_id}/events")
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_streams"
        assert int(refused.headers["retry-after"]) > 0
        assert (await tenant.get(f"/jobs/{job_id}", params={"wait": 0})).status_code == 200, "polling works"


def test_a_json_body_of_unannounced_length_is_refused_once_past_1_mib(tight_web: WebServer) -> None:
    key = new_key(tight_web, "big-bodies")
    with socket.create_connection(("127.0.0.1", tight_web.port), timeout=30) as sock:
        sock.sendall(
            b"POST /jobs/quick_steps HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {key}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        # One chunk just past the limit, and the body never ends: it is refused all the same.
        chunk = b"{" + b" " * (1024 * 1024 + 1)
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        raw = b""
        while b"}}" not in raw and (data := sock.recv(4096)):  # until the JSON answer ends
            raw += data
    answer = raw.decode()
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "request_entity_too_large" in answer


async def test_a_body_that_is_not_said_to_be_json_is_415(tenant: httpx.AsyncClient) -> None:
    response = await tenant.post(
        "/jobs/quick_steps", content=b'{"steps": 1}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"


async def test_a_tenants_filenames_documents_bytes_and_workspaces_are_limited(
    tenant: httpx.AsyncClient,
) -> None:
    long_name = await tenant.post(
        "/workspaces/w/documents", files={"file": ("x" * 252 + ".txt", NDA.encode())}
    )
    assert long_name.status_code == 413 and long_name.json()["error"]["code"] == "filename_too_long"
    ok = await tenant.post(
        "/workspaces/w/documents", files=[("file", (f"{i}.txt", f"{i}. {NDA}".encode())) for i in range(3)]
    )
    assert ok.status_code == 202  # staged; no worker runs here, so they stay staged (and count)
    for workspace, files in (
        ("w", [("file", ("4.txt", b"4. " + NDA.encode()))]),  # a fourth document
        ("second", [("file", ("a.txt", NDA.encode()))]),  # a second workspace
    ):
        refused = await tenant.post(f"/workspaces/{workspace}/documents", files=files)
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "quota_exceeded", workspace
    # A file the workspace already has costs nothing: only new files count against the quotas.
    again = await tenant.post("/workspaces/w/documents", files={"file": ("copy.txt", b"0. " + NDA.encode())})
    assert again.status_code == 200 and again.json()["documents"][0]["duplicate"] is True, again.text
    listed = (await tenant.get("/workspaces/w/documents")).json()
    assert len(listed["documents"] + listed["extracting"]) == 3, "nothing half-stored"


async def test_a_tenants_bytes_are_limited(tight_web: WebServer) -> None:
    key = new_key(tight_web, f"bytes-{uuid.uuid4().hex[:8]}")
    async with httpx.AsyncClient(base_url=tight_web.base_url, timeout=30, headers=bearer(key)) as client:
        big = ("big.txt", b"clause. " * 15_000)  # 120 KB, over the tenant's 100 KB
        refused = await client.post("/workspaces/w/documents", files={"file": big})
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "quota_exceeded"


@pytest.mark.slow
async def test_document_text_expires_with_its_ttl(tight_web: WebServer, redis_server: RedisServer) -> None:
    name = f"ttl-{uuid.uuid4().hex[:8]}"
    # Extracted here, as a worker with the same DOCUMENT_TTL would.
    store = DocumentStore(client=redis_server.client(), settings=ContractSettings(document_ttl=2))
    [document] = store.add(name, "w", [("n.txt", NDA.encode())])
    assert document["expires_at"]
    async with httpx.AsyncClient(
        base_url=tight_web.base_url, timeout=30, headers=bearer(new_key(tight_web, name))
    ) as tenant:
        listed = (await tenant.get("/workspaces/w/documents")).json()["documents"]
        assert [d["doc_id"] for d in listed] == [document["doc_id"]]

        async def gone() -> bool:
            response = await tenant.get("/workspaces/w/documents")
            return response.status_code == 404 or response.json()["documents"] == []

        await eventually(gone, timeout=20, what="the document to expire (DOCUMENT_TTL=2)")


@pytest.mark.slow
async def test_a_stream_token_expires(tenant: httpx.AsyncClient, tight_web: WebServer) -> None:
    job_id = (await tenant.post("/jobs/quick_steps", json={"steps": 1})).json()["job_id"]
    token = (await tenant.post("/stream-tokens", json={"jobs": [job_id]})).json()["token"]
    browser = httpx.AsyncClient(base_url=tight_web.base_url, timeout=30)  # the token is all it has

    async def expired() -> bool:
        async with browser.stream("GET", f"/jobs/{job_id}/events", params={"token": token}) as response:
            if response.status_code != 401:
                return False  # a stream: the token is still valid (closed here, unread)
            return b"token_expired" in await response.aread()

    async with browser:
        await eventually(expired, timeout=20, what="the stream token to expire (STREAM_TOKEN_TTL=1)")


async def test_a_session_cookie_changes_nothing_from_another_origin(tight_web: WebServer) -> None:
    key = new_key(tight_web, f"browser-{uuid.uuid4().hex[:8]}")
    async with httpx.AsyncClient(base_url=tight_web.base_url, timeout=30) as browser:
        login = await browser.post("/session", json={"key": key})
        assert login.status_code == 200
        set_cookie = login.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "Secure" in set_cookie and "SameSite=Lax" in set_cookie
        cookie = {"Cookie": set_cookie.split(";")[0]}  # sent by hand: the server speaks plain HTTP here
        assert (await browser.get("/session", headers=cookie)).json()["via"] == "session"
        for origin in ("https://evil.example", None):
            headers = {**cookie, **({"Origin": origin} if origin else {})}
            refused = await browser.post("/jobs/quick_steps", json={"steps": 1}, headers=headers)
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "cross_site_request"
        behind_tls_proxy = tight_web.base_url.replace("http://", "https://")  # the browser saw https
        for origin in (tight_web.base_url, behind_tls_proxy, "https://app.example"):
            allowed = await browser.post(
                "/jobs/quick_steps", json={"steps": 1}, headers={**cookie, "Origin": origin}
            )
            assert allowed.status_code == 202, origin
        assert (
            await browser.delete("/session", headers={**cookie, "Origin": tight_web.base_url})
        ).status_code == 204


async def test_cors_answers_listed_origins_only_and_never_null(tight_web: WebServer) -> None:
    async with httpx.AsyncClient(base_url=tight_web.base_url, timeout=30) as client:
        for origin, allowed in (
            ("https://app.example", True),
            ("https://evil.example", False),
            ("null", False),
        ):
            response = await client.get("/healthz", headers={"Origin": origin})
            assert ("access-control-allow-origin" in response.headers) is allowed, origin


def auth_off_server(bind: str, redis_server: RedisServer) -> subprocess.CompletedProcess[str] | None:
    """``python -m service.serve`` with AUTH=false on ``bind``: its output if it exited."""
    env = service_env(redis_server.url, AUTH="false")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.serve", "--bind", bind],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=20)
        return subprocess.CompletedProcess(process.args, process.returncode, output)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None


def test_auth_off_refuses_to_listen_beyond_loopback(redis_server: RedisServer) -> None:
    exited = auth_off_server(f"0.0.0.0:{free_port()}", redis_server)
    assert exited is not None and exited.returncode != 0
    assert "AUTH=false is allowed only" in exited.stdout


def test_auth_off_on_loopback_acts_as_the_local_tenant_and_says_so(redis_server: RedisServer) -> None:
    server = WebServer(redis_server, AUTH="false")
    try:
        assert httpx.get(f"{server.base_url}/session").json() == {
            "tenant": "local",
            "key_id": None,
            "via": "local",
            "role": "member",
        }
    finally:
        server.stop()
    assert "NO AUTHENTICATION" in server.log_path.read_text()


@pytest.fixture
def one_stream_web(redis_server: RedisServer) -> Iterator[WebServer]:
    server = WebServer(redis_server, MAX_STREAMS="1", SYNC_WAIT_LIMIT="30")
    yield server
    server.stop()


async def test_a_full_process_refuses_more_waits_but_never_loses_a_job(
    one_stream_web: WebServer, redis_server: RedisServer
) -> None:
    name = f"full-{uuid.uuid4().hex[:8]}"
    key = new_key(one_stream_web, name)
    DocumentStore(client=redis_server.client()).add(name, "w", [("n.txt", NDA.encode())])  # no worker here
    async with httpx.AsyncClient(base_url=one_stream_web.base_url, timeout=30, headers=bearer(key)) as client:
        job_id = (await client.post("/jobs/quick_steps", json={"steps": 1})).json()["job_id"]
        async with client.stream("GET", f"/jobs/{job_id}/events") as stream:
            reader = messages(stream)  # held open: the process's one subscription
            await take_events(reader, 1)
            refused = await client.get(f"/jobs/{job_id}", params={"wait": 5})
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_streams"
            # The legacy sync path cannot wait here either: it answers 202 with the queued job.
            queued = await client.post("/audit", json={"workspace_name": "w"})
            assert queued.status_code == 202, queued.text
            assert (await client.get(queued.json()["status_url"])).json()["status"] == "PENDING"
