"""Small helpers for talking to the running web server in tests."""

from __future__ import annotations

from typing import Any

import httpx

from actors.jobs.states import DEFAULT_NAMESPACE

from .servers import ADMIN_TOKEN, WebServer
from .sse import SSEMessage, collect_events

#: The tenant the tests act as. It is the engine's default namespace, so the jobs a test writes
#: straight through the job store (playing the worker's part) are this tenant's.
TENANT = DEFAULT_NAMESPACE
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def new_key(web: WebServer, tenant: str = TENANT) -> str:
    """A new API key of ``tenant``, made with the admin token."""
    response = httpx.post(f"{web.base_url}/admin/tenants/{tenant}/keys", headers=ADMIN, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["key"]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def start_job(client: httpx.AsyncClient, job_type: str, **payload: Any) -> str:
    response = await client.post(f"/jobs/{job_type}", json=payload)
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


async def stream_to_end(client: httpx.AsyncClient, job_id: str, **headers: str) -> list[SSEMessage]:
    """Every event of the job's stream until the server closes it."""
    async with client.stream("GET", f"/jobs/{job_id}/events", headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        return await collect_events(response)


def statuses(events: list[SSEMessage]) -> list[str]:
    return [event.data["status"] for event in events]
