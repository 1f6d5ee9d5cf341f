"""Small helpers for talking to the running web server in tests."""

from __future__ import annotations

from typing import Any

import httpx

from .sse import SSEMessage, collect_events


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
