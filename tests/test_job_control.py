"""Cancelling jobs in every state, and time limits, with real workers."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import httpx
import pytest
import redis

from .conftest import WORKER_THREADS
from .support.api import start_job, stream_to_end
from .support.jobs import gate_key
from .support.servers import ServiceProcess, wait_until
from .support.sse import messages, take_events

pytestmark = pytest.mark.usefixtures("workers")


async def cancel(client: httpx.AsyncClient, job_id: str) -> httpx.Response:
    return await client.post(f"/jobs/{job_id}/cancel")


async def wait_for_status(client: httpx.AsyncClient, job_id: str, status: str) -> dict:
    async with client.stream("GET", f"/jobs/{job_id}/events", params={"since": 0}) as response:
        async for message in messages(response):
            if message.data_lines and message.data["status"] == status:
                return message.data
    raise AssertionError(f"job {job_id} never reached {status}")


def skipped_by_a_worker(workers: ServiceProcess, job_id: str) -> None:
    wait_until(
        lambda: f"Job {job_id} skipped" in workers.log_path.read_text(),
        timeout=20,
        what=f"a worker to skip job {job_id}",
    )


async def test_a_queued_job_is_cancelled_at_once_and_never_runs(
    client: httpx.AsyncClient, redis_client: redis.Redis, workers: ServiceProcess
) -> None:
    gate = f"cancel-queued-{uuid.uuid4()}"
    blockers = [await start_job(client, "gated_steps", gate=gate, steps=1) for _ in range(WORKER_THREADS)]
    for blocker in blockers:
        await wait_for_status(client, blocker, "STARTED")
    job_id = await start_job(client, "quick_steps", steps=2)
    response = await cancel(client, job_id)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["message"]) == ("CANCELLED", "Job cancelled")
    redis_client.rpush(gate_key(gate), *[1] * WORKER_THREADS)
    skipped_by_a_worker(workers, job_id)
    snapshot = (await client.get(f"/jobs/{job_id}")).json()
    assert snapshot["status"] == "CANCELLED" and snapshot["started_at"] is None and snapshot["result"] is None
    events = await stream_to_end(client, job_id, **{"Last-Event-ID": "0"})
    assert [e.data["status"] for e in events] == ["PENDING", "CANCELLED"]


async def test_a_job_waiting_for_its_retry_is_cancelled_and_never_retried(
    client: httpx.AsyncClient, workers: ServiceProcess
) -> None:
    job_id = await start_job(client, "slow_retry", failures=1)
    waiting = None
    async with client.stream("GET", f"/jobs/{job_id}/events", params={"since": 0}) as response:
        async for message in messages(response):
            if message.data_lines and message.data["attempt"] == 2:
                waiting = message.data
                break
    assert waiting is not None and waiting["status"] == "PENDING" and waiting["retry_at"]
    response = await cancel(client, job_id)
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
    skipped_by_a_worker(workers, job_id)
    events = await stream_to_end(client, job_id, **{"Last-Event-ID": "0"})
    assert [e.data["status"] for e in events] == ["PENDING", "STARTED", "PENDING", "CANCELLED"]


async def test_a_running_job_stops_at_its_next_progress_report(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    gate = f"cancel-running-{uuid.uuid4()}"
    job_id = await start_job(client, "gated_steps", gate=gate, steps=3)
    async with client.stream("GET", f"/jobs/{job_id}/events") as response:
        stream = messages(response)
        redis_client.rpush(gate_key(gate), 1)
        async for message in stream:
            if message.data_lines and message.data["message"] == "Step 1/3":
                break
        answer = await cancel(client, job_id)
        assert answer.status_code == 202
        assert answer.json()["message"] == "Cancellation requested, stopping..."
        redis_client.rpush(gate_key(gate), 1)  # the job reaches its next checkpoint
        rest = await take_events(stream, 2)
    assert [(e.data["status"], e.data["message"]) for e in rest] == [
        ("STARTED", "Cancellation requested, stopping..."),
        ("CANCELLED", "Job cancelled"),
    ]
    assert round(rest[-1].data["progress"]) == 33, "it keeps the progress it reached"


async def test_a_running_job_that_never_checks_is_interrupted_after_the_grace_period(
    client: httpx.AsyncClient,
) -> None:
    job_id = await start_job(client, "busy", seconds=60)
    await wait_for_status(client, job_id, "STARTED")
    started = time.monotonic()
    assert (await cancel(client, job_id)).status_code == 202
    final = await wait_for_status(client, job_id, "CANCELLED")
    assert time.monotonic() - started < 10, "interrupted after the 1 s grace, not after its 60 s of work"
    assert final["result"] is None


async def test_cancelling_a_finished_or_unknown_job(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "quick_steps", steps=1)
    await wait_for_status(client, job_id, "SUCCESS")
    response = await cancel(client, job_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_finished"
    assert response.json()["error"]["status"] == "SUCCESS"
    assert (await cancel(client, str(uuid.uuid4()))).status_code == 404


async def test_a_job_over_its_time_limit_fails_with_a_timeout(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "limited", seconds=30)
    final = await wait_for_status(client, job_id, "FAILURE")
    assert final["error"] == {"type": "timeout", "message": "The job ran longer than its time limit of 1 s"}
    assert final["attempt"] == 1, "a timeout is not retried"


async def test_an_idempotency_key_replayed_returns_the_same_job(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = await client.post("/jobs/quick_steps", json={"steps": 1}, headers=key)
    assert first.status_code == 202
    job_id = first.json()["job_id"]
    await wait_for_status(client, job_id, "SUCCESS")
    again = await client.post("/jobs/quick_steps", json={"steps": 1}, headers=key)
    assert again.status_code == 200, "not a new job"
    assert again.json()["job_id"] == job_id and again.json()["status"] == "SUCCESS"
    assert again.headers["location"] == f"/jobs/{job_id}"
    other = await client.post("/jobs/quick_steps", json={"steps": 2}, headers=key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    legacy = {"Idempotency-Key": f"score-{uuid.uuid4()}"}
    body = {"criterion": "payment", "workspace_name": "acme"}
    one = await client.post("/score", params={"async_mode": "true"}, json=body, headers=legacy)
    two = await client.post("/score", params={"async_mode": "true"}, json=body, headers=legacy)
    assert (one.status_code, two.status_code) == (202, 200) and one.json()["job_id"] == two.json()["job_id"]


async def test_a_malformed_idempotency_key_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/jobs/quick_steps", json={}, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_parameter"


async def test_jobs_are_listed_newest_first_filtered_and_paginated(
    client: httpx.AsyncClient, job_store
) -> None:  # type: ignore[no-untyped-def]
    from actors.states import JobStatus

    workspace = f"list-{uuid.uuid4().hex[:8]}"
    made = []
    for number in range(5):
        job_id = str(uuid.uuid4())
        job_store.create(job_id, "score_contracts" if number % 2 else "audit_contracts", workspace)
        made.append(job_id)
    job_store.transition(made[1], JobStatus.SUCCESS, result=None)
    page = (await client.get("/jobs", params={"workspace": workspace, "limit": 2})).json()
    assert [j["job_id"] for j in page["jobs"]] == [made[4], made[3]]
    rest = (
        await client.get("/jobs", params={"workspace": workspace, "limit": 10, "cursor": page["next_cursor"]})
    ).json()
    assert [j["job_id"] for j in rest["jobs"]] == [made[2], made[1], made[0]] and rest["next_cursor"] is None
    done = (await client.get("/jobs", params={"workspace": workspace, "status": "SUCCESS"})).json()
    assert [j["job_id"] for j in done["jobs"]] == [made[1]]
    typed = (await client.get("/jobs", params={"workspace": workspace, "job_type": "audit_contracts"})).json()
    assert [j["job_id"] for j in typed["jobs"]] == [made[4], made[2], made[0]]
    everywhere = (await client.get("/jobs", params={"limit": 1})).json()
    assert everywhere["jobs"][0]["job_id"] == made[4] and everywhere["next_cursor"]
    for bad in ({"status": "DONE"}, {"limit": "-1"}, {"cursor": "abc"}, {"limit": 1000}):
        response = await client.get("/jobs", params=bad)
        assert response.status_code == 400, bad


def scrape(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{base_url}/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_parse_and_move(client: httpx.AsyncClient, job_store) -> None:  # type: ignore[no-untyped-def]
    base_url = str(client.base_url)
    before = scrape(base_url)
    success = ("jobservice_job_status_changes_total", (("job_type", "quick_steps"), ("status", "SUCCESS")))
    runs = ("jobservice_job_duration_seconds_count", (("job_type", "quick_steps"),))
    job_id = await start_job(client, "quick_steps", steps=2)
    events = await stream_to_end(client, job_id)
    assert events[-1].data["status"] == "SUCCESS"
    idle = str(uuid.uuid4())
    job_store.create(idle, "score_contracts")  # never queued: its stream stays open
    async with client.stream("GET", f"/jobs/{idle}/events") as response:
        await take_events(messages(response), 1)
        during = scrape(base_url)
    after = scrape(base_url)
    assert after[success] == before.get(success, 0) + 1
    assert after[runs] == before.get(runs, 0) + 1
    assert (
        after[("jobservice_job_duration_seconds_bucket", (("job_type", "quick_steps"), ("le", "+Inf")))] >= 1
    )
    assert during[("jobservice_open_streams", ())] >= 1
    assert after[("jobservice_events_pushed_total", ())] > before[("jobservice_events_pushed_total", ())]
    assert after[("jobservice_workers", ())] >= 1
    assert during[("jobservice_jobs", (("status", "PENDING"),))] >= 1, "the idle job waits"
    assert ("jobservice_jobs", (("status", "STARTED"),)) in after
    assert ("jobservice_queue_messages", (("queue", "default"), ("state", "ready"))) in after


def test_json_logs_carry_the_job_id_and_type(redis_server) -> None:  # type: ignore[no-untyped-def]
    import json

    from .support.servers import WebServer

    server = WebServer(redis_server, LOG_FORMAT="json")
    try:
        created = httpx.post(f"{server.base_url}/jobs/quick_steps", json={"steps": 1})
        job_id = created.json()["job_id"]
        wait_until(lambda: job_id in server.log_path.read_text(), timeout=10, what="the queued line")
    finally:
        server.stop()
    entries = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    queued = next(e for e in entries if e.get("job_id") == job_id)
    assert queued["job_type"] == "quick_steps" and queued["message"].startswith(f"Job {job_id} queued")
    assert queued["level"] == "INFO" and queued["logger"] == "jobs"


async def test_a_waiting_job_shows_its_queue_position_and_eta(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    await wait_for_status(client, await start_job(client, "quick_steps", steps=1), "SUCCESS")  # a recent run
    gate = f"queue-{uuid.uuid4()}"
    blockers = [await start_job(client, "gated_steps", gate=gate, steps=1) for _ in range(WORKER_THREADS)]
    for blocker in blockers:
        await wait_for_status(client, blocker, "STARTED")
    first = await start_job(client, "quick_steps", steps=1)
    second = await start_job(client, "quick_steps", steps=1)
    one, two = [(await client.get(f"/jobs/{job_id}")).json() for job_id in (first, second)]
    assert two["queue_position"] == one["queue_position"] + 1 >= 2
    assert two["eta_seconds"] is not None and two["eta"] is not None
    redis_client.rpush(gate_key(gate), *[1] * WORKER_THREADS)
    await wait_for_status(client, second, "SUCCESS")
    assert "queue_position" not in (await client.get(f"/jobs/{second}")).json()


async def test_a_retry_policy_per_job_type_and_poison_jobs_in_the_dead_letters(
    client: httpx.AsyncClient,
) -> None:
    # The tests' workers run with JOB_RETRIES="always_fails=1/0.05/0.05": one retry, 50 ms later.
    dead_before = (await client.get("/worker/status")).json()["queues"]["default"]["dead_letters"]
    job_id = await start_job(client, "always_fails", reason="poison")
    events = await stream_to_end(client, job_id, **{"Last-Event-ID": "0"})
    assert [(e.data["status"], e.data["attempt"]) for e in events] == [
        ("PENDING", 1),
        ("STARTED", 1),
        ("PENDING", 2),
        ("STARTED", 2),
        ("FAILURE", 2),
    ]
    assert re.fullmatch(r"Retrying in \d+ ms \(attempt 2 of 2\): poison", events[2].data["message"])
    await asyncio.to_thread(
        wait_until,
        lambda: (
            httpx.get(f"{client.base_url}/worker/status").json()["queues"]["default"]["dead_letters"]
            > dead_before
        ),
        timeout=10,
        what="the poison message in the dead letters",
    )


def test_dramatiq_worker_metrics_can_be_switched_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client.parser import text_string_to_metric_families

    from .support.servers import RedisServer, WebServer, free_port, start_workers

    port = free_port()
    own_redis = RedisServer()
    own_redis.start()
    worker = start_workers(
        own_redis,
        WORKER_METRICS="true",
        dramatiq_prom_port=str(port),
        dramatiq_prom_host="127.0.0.1",
        dramatiq_prom_db=str(tmp_path),
    )
    web = WebServer(own_redis)
    try:
        job_id = httpx.post(f"{web.base_url}/jobs/quick_steps", json={"steps": 1}).json()["job_id"]
        wait_until(
            lambda: httpx.get(f"{web.base_url}/jobs/{job_id}").json()["status"] == "SUCCESS",
            timeout=20,
            what="the job to finish",
        )
        names = {f.name for f in text_string_to_metric_families(httpx.get(f"http://127.0.0.1:{port}/").text)}
    finally:
        web.stop()
        worker.stop()
        own_redis.stop()
    assert {"dramatiq_messages", "dramatiq_message_duration_milliseconds"} <= names, names
