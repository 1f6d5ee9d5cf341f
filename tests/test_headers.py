"""Security headers on every kind of answer (the console, its files, /docs, JSON, errors, event
streams, preflights), HSTS only for a request that came over TLS, and proxies trusted only when
PROXY_HOPS says so: a client that sends X-Forwarded-Proto itself gets no HSTS, and behind a trusted
proxy a route sees the client's address and scheme as the proxy saw them. No worker runs here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, request

from service.headers import secure_answers

from .support.api import ADMIN, bearer
from .support.servers import RedisServer, WebServer, eventually, free_port

SAME_EVERYWHERE = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@pytest.fixture(scope="module")
def proxied(redis_server: RedisServer) -> Iterator[WebServer]:
    """A web server behind one trusted proxy (nginx's place)."""
    server = WebServer(redis_server, PROXY_HOPS="1")
    yield server
    server.stop()


def policy(response: httpx.Response) -> dict[str, str]:
    """The Content-Security-Policy's directives, by name."""
    parts = response.headers["content-security-policy"].split(";")
    directives = (part.strip().split(" ", 1) for part in parts)
    return {name: value[0] if value else "" for name, *value in directives}


def assert_secured(response: httpx.Response) -> dict[str, str]:
    for name, value in SAME_EVERYWHERE.items():
        assert response.headers.get(name) == value, (response.request.url, name, response.headers)
    directives = policy(response)
    assert directives["frame-ancestors"] == "'none'", response.request.url
    assert "strict-transport-security" not in response.headers, "plain HTTP, no proxy: no HSTS"
    return directives


def test_the_console_and_its_files_allow_no_inline_script_and_no_frame(web: WebServer) -> None:
    for path in ("/", "/static/app.js", "/static/app.css", "/static/jobs-client.js", "/static/index.html"):
        response = httpx.get(f"{web.base_url}{path}", timeout=30)
        assert response.status_code == 200, path
        directives = assert_secured(response)
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'", "no inline script, no eval"
        assert directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"


def test_the_docs_keep_redocs_policy_and_are_framed_nowhere(web: WebServer, api_key: str) -> None:
    docs = httpx.get(f"{web.base_url}/docs", headers=bearer(api_key), timeout=30)
    assert docs.status_code == 200
    directives = assert_secured(docs)
    assert directives["script-src"] == "'self' blob:" and directives["worker-src"] == "blob:"
    spec = httpx.get(f"{web.base_url}/openapi.json", headers=bearer(api_key), timeout=30)
    assert spec.status_code == 200 and assert_secured(spec)["default-src"] == "'none'"


async def test_json_errors_streams_and_preflights_carry_them(web: WebServer, api_key: str) -> None:
    async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
        keyed = bearer(api_key)
        json_body = {**keyed, "Content-Type": "application/json"}
        job = await client.post("/jobs/quick_steps", json={"steps": 1}, headers=keyed)
        assert job.status_code == 202
        answers = [
            job,
            await client.get("/healthz"),
            await client.get(f"/jobs/{job.json()['job_id']}", headers=keyed),
            await client.get("/metrics", headers=ADMIN),
            await client.get("/workspaces"),  # 401
            await client.get("/no/such/route"),  # 404
            await client.delete("/healthz"),  # 405
            await client.post("/jobs/quick_steps", content=b"{", headers=json_body),  # 400
            await client.get("/" + "x" * 2000),  # 414, refused before routing
            await client.delete("/session", headers=keyed),  # 204
            await client.options("/jobs/quick_steps", headers={"Origin": "http://elsewhere.example"}),
        ]
        assert [answer.status_code for answer in answers[4:10]] == [401, 404, 405, 400, 414, 204]
        for answer in answers:
            assert assert_secured(answer)["default-src"] == "'none'", answer.request.url
        # The event stream (the job stays PENDING: no worker runs here), read as its headers arrive.
        async with client.stream("GET", f"/jobs/{job.json()['job_id']}/events", headers=keyed) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert assert_secured(stream)["default-src"] == "'none'"


def test_hsts_only_when_a_trusted_proxy_says_the_client_used_tls(web: WebServer, proxied: WebServer) -> None:
    hsts = "strict-transport-security"
    over_tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    answer = httpx.get(f"{proxied.base_url}/healthz", headers=over_tls, timeout=30)
    assert answer.headers[hsts].startswith("max-age=")
    assert httpx.get(f"{proxied.base_url}/", headers=over_tls, timeout=30).headers[hsts]
    # Behind the proxy, over plain HTTP.
    plain = {"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.7"}
    assert hsts not in httpx.get(f"{proxied.base_url}/healthz", headers=plain, timeout=30).headers
    # A client's own "https", to which the proxy appended what it saw: the proxy's word counts.
    appended = {"X-Forwarded-Proto": "https, http", "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert hsts not in httpx.get(f"{proxied.base_url}/healthz", headers=appended, timeout=30).headers
    # No proxy trusted (the default): whatever a client claims, it came over plain HTTP.
    claimed = httpx.get(f"{web.base_url}/healthz", headers=over_tls, timeout=30)
    assert hsts not in claimed.headers
    assert claimed.headers["x-frame-options"] == "DENY"


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    """A Quart app, registered as ``create_app`` registers the service's, behind one trusted
    proxy and served by Hypercorn: it answers what its route sees of the request."""
    app = Quart(__name__)

    @app.get("/who")
    async def who() -> dict[str, str | None]:
        return {"remote_addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    secure_answers(app, proxy_hops=1)
    config = Config()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    stop = asyncio.Event()
    served = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{base}/who")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(up, timeout=30, what="the echo app")
    yield base
    stop.set()
    await served


async def test_behind_a_trusted_proxy_a_route_sees_the_clients_address_and_scheme(echo: str) -> None:
    async with httpx.AsyncClient(base_url=echo, timeout=30) as client:
        forwarded = {
            "X-Forwarded-For": "198.51.100.1, 203.0.113.7",  # a client's claim, then the proxy's
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",  # the proxy sets Host; a client's word is dropped
        }
        seen = (await client.get("/who", headers=forwarded)).json()
        assert seen == {"remote_addr": "203.0.113.7", "scheme": "https", "host": echo.removeprefix("http://")}
        direct = (await client.get("/who")).json()
        assert direct["remote_addr"] == "127.0.0.1" and direct["scheme"] == "http"
