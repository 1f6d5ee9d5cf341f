"""Small helpers for talking to the running web server in tests."""

from __future__ import annotations

from typing import Any

import httpx

from actors.jobs.states import DEFAULT_NAMESPACE, is_finished

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


def finished_now(base_url: str, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """``finished`` for code without an event loop: long-polls each change, never sleeps."""
    snapshot: dict[str, Any] = {"seq": -1, "status": "PENDING"}
    while not is_finished(snapshot):
        params = {"wait": 10, "since": max(snapshot["seq"], 0)} if snapshot["seq"] >= 0 else {}
        response = httpx.get(f"{base_url}/jobs/{job_id}", params=params, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        snapshot = response.json()
    return snapshot


async def finished(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """The job's snapshot once it has finished: long-polls each change, never sleeps."""
    response = await client.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    snapshot = response.json()
    while not is_finished(snapshot):
        response = await client.get(f"/jobs/{job_id}", params={"wait": 10, "since": snapshot["seq"]})
        assert response.status_code == 200, response.text
        snapshot = response.json()
    return snapshot


async def upload(client: httpx.AsyncClient, workspace: str, files: Any) -> dict[str, Any]:
    """Upload ``files`` (httpx's ``files=``) and wait for their extraction: its final snapshot."""
    response = await client.post(f"/workspaces/{workspace}/documents", files=files)
    assert response.status_code == 202, response.text
    return await finished(client, response.json()["job_id"])


#: What ``GET /jobs`` and ``GET /jobs/<id>`` add to a stored snapshot (the streams send it as stored).
DERIVED_FIELDS = ("duration", "retryable")


def as_stored(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot without the fields the REST reads derive, to compare with a stream's."""
    return {name: value for name, value in snapshot.items() if name not in DERIVED_FIELDS}
