"""The Host a request names and the page a change comes from: with AUTH=false only the loopback
names are served (DNS rebinding reads nothing) and a change from another site's page is refused;
``ALLOWED_HOSTS`` is enforced with keys too; the health checks answer any Host; and no answer is a
redirect whose ``Location`` names the request's Host."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from actors.jobs.settings import SettingsError
from service.auth.hosts import host_allowed, host_name
from service.settings import WebSettings

from .support.servers import RedisServer, WebServer

#: The frontend origin the AUTH=false server trusts (CORS with credentials).
FRONTEND = "https://app.example"


@pytest.fixture(scope="module")
def local_web(redis_server: RedisServer) -> Iterator[WebServer]:
    """An AUTH=false server on loopback, trusting one frontend origin."""
    server = WebServer(redis_server, AUTH="false", CORS_ORIGINS=FRONTEND, CORS_CREDENTIALS="true")
    yield server
    server.stop()


@pytest.fixture
async def local(local_web: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=local_web.base_url, timeout=30) as http:
        yield http


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def test_host_names_and_the_allow_list() -> None:
    assert [host_name(h) for h in ("LocalHost:8000", "[::1]:80", "example.com.", "127.0.0.1")] == [
        "localhost",
        "[::1]",
        "example.com",
        "127.0.0.1",
    ]
    assert [host_name(h) for h in ("", None, "a b", "evil.example/x", "[::1", "h:1:2")] == [None] * 6
    allowed = ("localhost", ".example.com")
    assert host_allowed("localhost", allowed) and host_allowed("example.com", allowed)
    assert host_allowed("api.example.com", allowed)
    assert not host_allowed("evilexample.com", allowed) and not host_allowed("localhost.evil", allowed)
    assert not host_allowed(None, allowed) and host_allowed("anything", ("*",))


def test_allowed_hosts_are_read_as_names_and_refused_with_a_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", "Jobs.Example.com., .example.org, [::1]")
    assert WebSettings.from_env().allowed_hosts == ("jobs.example.com", ".example.org", "[::1]")
    for wrong in ("jobs.example.com:443", "https://jobs.example.com", "a b"):
        monkeypatch.setenv("ALLOWED_HOSTS", wrong)
        with pytest.raises(SettingsError, match="ALLOWED_HOSTS"):
            WebSettings.from_env()


async def test_auth_off_answers_loopback_hosts_only(local: httpx.AsyncClient, local_web: WebServer) -> None:
    port = local_web.port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "LOCALHOST"):
        response = await local.get("/workspaces", headers={"Host": host})
        assert response.status_code == 200, (host, response.text)
    # A rebinding page's requests name its own host: they read nothing.
    for host in ("evil.example", f"evil.example:{port}", "localhost.evil.example", "127.0.0.1.nip.io"):
        response = await local.get("/workspaces", headers={"Host": host})
        assert response.status_code == 400 and error_code(response) == "host_not_allowed", host
    evil = {"Host": "evil.example"}
    refused = await local.post("/jobs/quick_steps", json={"steps": 1}, headers=evil)
    assert refused.status_code == 400 and error_code(refused) == "host_not_allowed"
    refused = await local.post("/workspaces/w/documents", files={"file": ("a.txt", b"Terms.")}, headers=evil)
    assert refused.status_code == 400 and error_code(refused) == "host_not_allowed"


async def test_health_checks_answer_any_host(local: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz"):
        response = await local.get(path, headers={"Host": "10.0.3.7:8000"})
        assert response.status_code == 200, (path, response.text)


async def test_auth_off_refuses_changes_from_other_sites(
    local: httpx.AsyncClient, local_web: WebServer
) -> None:
    workspace = f"w-{uuid.uuid4().hex[:8]}"
    form = {"files": {"file": ("a.txt", b"An agreement.")}}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed page, or a file
        {"Origin": f"http://localhost:{local_web.port}.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port of localhost is another origin
        {"Origin": "https://evil.example", "Authorization": "Basic bG9jYWw6"},  # a browser's cached login
    ):
        upload = await local.post(f"/workspaces/{workspace}/documents", headers=headers, **form)
        assert upload.status_code == 403 and error_code(upload) == "cross_site_request", headers
        job = await local.post("/jobs/quick_steps", json={"steps": 1}, headers=headers)
        assert job.status_code == 403 and error_code(job) == "cross_site_request", headers
        deleted = await local.delete(f"/workspaces/{workspace}", headers=headers)
        assert deleted.status_code == 403 and error_code(deleted) == "cross_site_request", headers
    assert (await local.get("/workspaces", headers={"Origin": "https://evil.example"})).status_code == 200
    assert (await local.get(f"/workspaces/{workspace}/documents")).status_code == 404, "nothing was stored"


async def test_auth_off_takes_changes_from_its_own_pages_a_trusted_origin_scripts_and_keys(
    local: httpx.AsyncClient, local_web: WebServer, api_key: str
) -> None:
    for headers in (
        # A key is checked as with AUTH on; no page can send one cross-site without CORS.
        {"Origin": "https://evil.example", "Authorization": f"Bearer {api_key}"},
        {"Origin": local_web.base_url},
        {"Origin": f"http://localhost:{local_web.port}", "Host": f"localhost:{local_web.port}"},
        {"Origin": FRONTEND},
        {"Sec-Fetch-Site": "same-origin"},
        {},  # curl, a script: no page, no Origin
    ):
        response = await local.post("/jobs/quick_steps", json={"steps": 1}, headers=headers)
        assert response.status_code == 202, (headers, response.text)
    wrong = {"Origin": "https://evil.example", "Authorization": "Bearer wrong"}
    assert (await local.post("/jobs/quick_steps", json={"steps": 1}, headers=wrong)).status_code == 401


@pytest.fixture(scope="module")
def listed_web(redis_server: RedisServer) -> Iterator[WebServer]:
    """A server with keys whose ALLOWED_HOSTS names its public names."""
    server = WebServer(redis_server, ALLOWED_HOSTS="jobs.example.com,.example.org")
    yield server
    server.stop()


async def test_a_configured_list_is_enforced_with_keys_on(listed_web: WebServer, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=listed_web.base_url, timeout=30, headers=headers) as http:
        for host in ("jobs.example.com", "jobs.example.com:8443", "example.org", "api.example.org"):
            assert (await http.get("/workspaces", headers={"Host": host})).status_code == 200, host
        for host in ("127.0.0.1", "evil.example", "example.com"):
            response = await http.get("/workspaces", headers={"Host": host})
            assert response.status_code == 400 and error_code(response) == "host_not_allowed", host
        assert (await http.get("/readyz", headers={"Host": "10.0.3.7"})).status_code == 200


async def test_with_keys_and_no_list_any_host_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/workspaces", headers={"Host": "jobs.anywhere.example"})
    assert response.status_code == 200, response.text


async def test_no_answer_is_a_redirect_naming_the_request_s_host(client: httpx.AsyncClient) -> None:
    for path in ("/jobs//abc", "/workspaces/a//documents", "/static//app.js"):
        response = await client.get(path, headers={"Host": "evil.example"})
        assert "location" not in response.headers and response.status_code == 404, path
        assert error_code(response) == "not_found", path
    # Werkzeug redirects a path without its rule's final slash to it: no route ends with one.
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert [path for path in paths if path.endswith("/")] == []
