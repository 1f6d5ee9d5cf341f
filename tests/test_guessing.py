"""Guessing credentials costs the guesser: failed authentications are throttled per client, and an
admin token short enough to guess is refused at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from .support.api import ADMIN, bearer, new_key
from .support.servers import REPO_ROOT, RedisServer, WebServer, free_port, service_env

#: Failed authentications a client may make a minute in this module's web server.
FAILURES = 5


@pytest.fixture
def guarded_web(redis_server: RedisServer) -> Iterator[WebServer]:
    """A web server of its own per test: the failures it counts are that test's alone."""
    redis_server.client().flushdb()
    # Behind one trusted proxy: the client's address is the one X-Forwarded-For names.
    server = WebServer(redis_server, AUTH_FAILURES_PER_MINUTE=str(FAILURES), PROXY_HOPS="1")
    yield server
    server.stop()


def wrong_key() -> str:
    return f"jk_{uuid.uuid4().hex[:16]}_{uuid.uuid4().hex}"


async def test_wrong_keys_past_the_limit_are_refused_even_the_right_one(guarded_web: WebServer) -> None:
    right = new_key(guarded_web, "guessed")
    async with httpx.AsyncClient(base_url=guarded_web.base_url, timeout=30) as client:
        for _ in range(FAILURES):
            assert (await client.get("/jobs", headers=bearer(wrong_key()))).status_code == 401
        refused = await client.get("/jobs", headers=bearer(wrong_key()))
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_failures"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Refused before its credentials are looked at: a right guess now is no use.
        assert (await client.get("/jobs", headers=bearer(right))).status_code == 429
        # Another client is not refused for this one's guesses.
        elsewhere = {**bearer(right), "X-Forwarded-For": "203.0.113.7"}
        assert (await client.get("/jobs", headers=elsewhere)).status_code == 200


async def test_wrong_admin_tokens_and_logins_count_alike(guarded_web: WebServer) -> None:
    async with httpx.AsyncClient(base_url=guarded_web.base_url, timeout=30) as client:
        for attempt in range(FAILURES):
            guess = {"Authorization": f"Bearer {'x' * 40}{attempt}"}
            assert (await client.get("/admin/tenants", headers=guess)).status_code == 401
        login = await client.post("/session", json={"key": wrong_key()})
        assert login.status_code == 429 and login.json()["error"]["code"] == "too_many_failures"
        assert (await client.get("/admin/tenants", headers=ADMIN)).status_code == 429


async def test_requests_without_credentials_are_not_guesses(guarded_web: WebServer) -> None:
    key = new_key(guarded_web, "patient")
    async with httpx.AsyncClient(base_url=guarded_web.base_url, timeout=30) as client:
        for _ in range(3 * FAILURES):
            assert (await client.get("/jobs")).status_code == 401
        assert (await client.get("/jobs", headers=bearer(key))).status_code == 200


def test_an_admin_token_shorter_than_32_characters_is_refused_at_start(redis_server: RedisServer) -> None:
    env = service_env(redis_server.url, ADMIN_TOKEN="short-token-1234")
    started = subprocess.run(
        [sys.executable, "-m", "service.serve", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "ADMIN_TOKEN has 16 characters; it needs at least 32" in started.stdout + started.stderr
