"""The HTTP API's contract: creation answers, legacy routes, errors as 4xx JSON, ops endpoints."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from actors.contracts.documents import DocumentStore
from actors.jobs import keys
from actors.jobs.ref import JobRef

from .conftest import WORKSPACE
from .support.api import ADMIN, TENANT, start_job, stream_to_end
from .support.contracts import NDA
from .support.jobs import gate_key
from .support.servers import WebServer
from .support.sse import messages
from .support.stack import Stack

pytestmark = pytest.mark.usefixtures("workspace")

SCORE_BODY = {
    "criterion": "Payment within 30 days",
    "workspace_name": WORKSPACE,
    "max_score": 10,
    "compare_chatgpt": False,
    "share_data_with_chatgpt": False,
}


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


async def test_create_job_answers_202_with_urls_and_location(client: httpx.AsyncClient) -> None:
    response = await client.post("/jobs/score_contracts", json=SCORE_BODY)
    assert response.status_code == 202
    body = response.json()
    job_id = body["job_id"]
    assert body["status"] == "PENDING"
    assert body["status_url"] == f"/jobs/{job_id}" == response.headers["location"]
    assert body["events_url"] == f"/jobs/{job_id}/events"
    # The record exists as soon as the answer does: a real job is never "not found".
    snapshot = (await client.get(body["status_url"])).json()
    assert snapshot["job_id"] == job_id and snapshot["job_type"] == "score_contracts"
    # A job still waiting also shows where it stands in the queue (queue_position, eta_seconds, eta).
    assert [field for field in snapshot if field not in ("queue_position", "eta_seconds", "eta")] == [
        "job_id",
        "job_type",
        "workspace",
        "status",
        "message",
        "progress",
        "seq",
        "attempt",
        "result",
        "error",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
        "retry_at",
        "worker",
        "retry_of",
        "retried_by",
        "duration",
        "retryable",
    ]


@pytest.mark.usefixtures("workers")
async def test_score_async_mode_queues_a_job_like_post_jobs(client: httpx.AsyncClient) -> None:
    response = await client.post("/score", params={"async_mode": "true"}, json=SCORE_BODY)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert (await client.get(f"/jobs/{job_id}")).json()["job_type"] == "score_contracts"


@pytest.mark.usefixtures("workers")
async def test_audit_sync_mode_returns_the_finished_job(client: httpx.AsyncClient) -> None:
    response = await client.post("/audit", json={"workspace_name": WORKSPACE})  # async_mode defaults to false
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "SUCCESS" and body["job_type"] == "audit_contracts"
    assert body["result"]["workspace_name"] == WORKSPACE


@pytest.fixture
def one_thread() -> Iterator[Stack]:
    """A stack whose only worker thread a test may keep busy."""
    stack = Stack.start(threads=1, SYNC_WAIT_LIMIT="1")
    yield stack
    stack.stop()


async def test_sync_mode_answers_202_when_the_job_outlasts_the_wait_and_loses_nothing(
    one_thread: Stack,
) -> None:
    DocumentStore(client=one_thread.redis.client()).add(TENANT, WORKSPACE, [("nda.txt", NDA.encode())])
    async with one_thread.client() as client:
        # Occupy the only worker thread, so the scoring job waits in the queue past the sync limit.
        gate = f"busy-{uuid.uuid4()}"
        blocker = await start_job(client, "gated_steps", gate=gate, steps=1)
        async with client.stream("GET", f"/jobs/{blocker}/events") as stream:
            async for message in messages(stream):
                if message.data_lines and message.data["status"] == "STARTED":
                    break
        response = await client.post("/score", params={"async_mode": "false"}, json=SCORE_BODY)
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        assert response.headers["location"] == f"/jobs/{job_id}"

        one_thread.redis.client().rpush(gate_key(gate), 1)
        events = await stream_to_end(client, job_id)
    assert events[-1].data["status"] == "SUCCESS", "the job answered 202 still finishes"


async def test_unknown_job_type_is_404_listing_valid_types(client: httpx.AsyncClient) -> None:
    error = assert_error(await client.post("/jobs/launch_rockets", json={}), 404, "unknown_job_type")
    assert "score_contracts" in error["valid_job_types"]


async def test_unknown_job_id_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"/jobs/{uuid.uuid4()}"), 404, "job_not_found")
    assert_error(await client.get(f"/jobs/{uuid.uuid4()}/events"), 404, "job_not_found")
    assert_error(await client.get("/jobs/not a real id!"), 404, "job_not_found")


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"42"])
async def test_a_body_that_is_not_a_json_object_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/jobs/score_contracts", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_json")


async def test_wrong_field_types_are_422_naming_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/score", json={**SCORE_BODY, "max_score": "ten", "criterion": None})
    error = assert_error(response, 422, "invalid_payload")
    assert set(error["fields"]) == {"max_score", "criterion"}


async def test_missing_fields_are_422(client: httpx.AsyncClient) -> None:
    error = assert_error(await client.post("/jobs/score_contracts", json={}), 422, "invalid_payload")
    assert error["fields"] == {"criterion": "required", "workspace_name": "required"}


async def test_bad_async_mode_and_bad_last_event_id_are_400(client: httpx.AsyncClient) -> None:
    assert_error(
        await client.post("/score", params={"async_mode": "maybe"}, json=SCORE_BODY), 400, "invalid_parameter"
    )
    job_id = await start_job(client, "score_contracts", **SCORE_BODY)
    assert_error(
        await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": "abc"}), 400, "invalid_parameter"
    )
    assert_error(await client.get(f"/jobs/{job_id}/events", params={"since": "-4"}), 400, "invalid_parameter")


async def test_rejected_requests_queue_nothing(client: httpx.AsyncClient, redis_client: redis.Redis) -> None:
    queued_before = redis_client.llen(keys.queue("default"))
    records_before = count_job_records(redis_client)
    await client.post("/jobs/score_contracts", json={"criterion": 5})
    await client.post("/jobs/score_contracts", content=b"{")
    await client.post("/jobs/nope", json={})
    assert redis_client.llen(keys.queue("default")) <= queued_before
    assert count_job_records(redis_client) == records_before


def count_job_records(client: redis.Redis) -> int:
    return sum(1 for _ in client.scan_iter(match=keys.job("*"), count=1000))


async def test_unknown_route_and_wrong_method_are_json(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/nowhere"), 404, "not_found")
    assert_error(await client.delete("/jobs/score_contracts"), 405, "method_not_allowed")


async def test_an_oversized_body_is_413_before_any_of_it_is_read(web: WebServer, api_key: str) -> None:
    # Announced over the limit: refused at once, so the client need not send it (HTTP/1.1 clients
    # that send a whole body before reading the answer may find the connection closed instead).
    head = (
        "POST /jobs/score_contracts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {api_key}\r\nContent-Length: {2 * 1024 * 1024}\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
    writer.write(head.encode())
    raw = b""
    while b"}}" not in raw and (data := await reader.read(4096)):  # until the JSON answer ends
        raw += data
    writer.close()
    answer = raw.decode()
    assert answer.startswith("HTTP/1.1 413") and "request_entity_too_large" in answer, answer[:300]


async def test_idle_streams_send_heartbeat_comments(client: httpx.AsyncClient, job_store) -> None:
    job_id = str(uuid.uuid4())
    job_store.create(JobRef(job_id), "score_contracts")  # a job nobody works on: the stream stays idle
    async with client.stream("GET", f"/jobs/{job_id}/events") as response:
        stream = messages(response)
        seen = [await anext(stream) for _ in range(3)]  # retry:, the snapshot, then a comment
    assert seen[0].retry == 3000
    assert seen[1].data["status"] == "PENDING"
    assert seen[2].comments == ["keepalive"]


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["redis_connected"] is True


@pytest.mark.usefixtures("workers")
async def test_worker_status_keeps_the_seed_keys_and_shows_hosts_to_the_admin_only(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/worker/status")).json()
    assert body["status"] == "running"
    assert body["redis_connected"] is True
    assert body["worker_thread_alive"] is True
    assert isinstance(body["jobs_in_queue"], int)
    assert body["workers"], "this module's worker is listed"
    for worker in body["workers"]:
        assert set(worker) == {"threads", "running", "queues", "state", "seconds_since_heartbeat"}, (
            "no host, pid or id for a tenant"
        )
        assert (
            worker["threads"] >= 1 and worker["seconds_since_heartbeat"] < 5 and "default" in worker["queues"]
        )
    assert "queues" not in body
    admin = (await client.get("/worker/status", headers=ADMIN)).json()
    for worker in admin["workers"]:
        assert worker["pid"] > 0 and worker["host"] and worker["id"]
    assert set(admin["queues"]["default"]) == {"ready", "delayed", "dead_letters"}
