"""Cancelling jobs in every state, and time limits, with real workers."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from actors.jobs import keys
from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .support.api import ADMIN, TENANT, bearer, new_key, start_job, stream_to_end, upload
from .support.jobs import gate_key
from .support.servers import (
    RedisServer,
    ServiceProcess,
    WebServer,
    eventually,
    free_port,
    start_workers,
    wait_until,
)
from .support.sse import messages, take_events
from .support.stack import Stack

pytestmark = pytest.mark.usefixtures("workers", "workspace")


@pytest.fixture
def one_thread() -> Iterator[Stack]:
    """A stack whose only worker thread a test may keep busy."""
    stack = Stack.start(threads=1)
    yield stack
    stack.stop()


@pytest.fixture
async def one_thread_client(one_thread: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with one_thread.client() as client:
        yield client


async def occupy_the_worker(client: httpx.AsyncClient) -> str:
    """Start a job that holds the stack's only thread until its gate opens; returns the gate."""
    gate = f"hold-{uuid.uuid4()}"
    await wait_for_status(client, await start_job(client, "gated_steps", gate=gate, steps=1), "STARTED")
    return gate


async def cancel(client: httpx.AsyncClient, job_id: str) -> httpx.Response:
    return await client.post(f"/jobs/{job_id}/cancel")


async def wait_for(client: httpx.AsyncClient, job_id: str, done, what: str) -> dict:  # type: ignore[no-untyped-def]
    """The first snapshot of the job's whole history for which ``done`` holds."""
    async with client.stream("GET", f"/jobs/{job_id}/events", params={"since": 0}) as response:
        async for message in messages(response):
            if message.data_lines and done(message.data):
                return message.data
    raise AssertionError(f"job {job_id} never reached {what}")


async def wait_for_status(client: httpx.AsyncClient, job_id: str, status: str) -> dict:
    return await wait_for(client, job_id, lambda snapshot: snapshot["status"] == status, status)


async def wait_for_status_message(client: httpx.AsyncClient, job_id: str, message: str) -> dict:
    return await wait_for(client, job_id, lambda snapshot: snapshot["message"] == message, message)


async def wait_for_terminal(client: httpx.AsyncClient, job_id: str) -> dict:
    return await wait_for(client, job_id, lambda s: JobStatus(s["status"]).is_terminal, "its end")


async def skipped_by_a_worker(workers: ServiceProcess, job_id: str) -> None:
    await eventually(
        lambda: f"Job {job_id} skipped" in workers.log_path.read_text(),
        timeout=20,
        what=f"a worker to skip job {job_id}",
    )


async def test_a_queued_job_is_cancelled_at_once_and_never_runs(
    one_thread: Stack, one_thread_client: httpx.AsyncClient
) -> None:
    client = one_thread_client
    gate = await occupy_the_worker(client)
    job_id = await start_job(client, "quick_steps", steps=2)
    response = await cancel(client, job_id)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["message"]) == ("CANCELLED", "Job cancelled")
    one_thread.redis.client().rpush(gate_key(gate), 1)
    await skipped_by_a_worker(one_thread.workers, job_id)
    snapshot = (await client.get(f"/jobs/{job_id}")).json()
    assert snapshot["status"] == "CANCELLED" and snapshot["started_at"] is None and snapshot["result"] is None
    events = await stream_to_end(client, job_id, **{"Last-Event-ID": "0"})
    assert [e.data["status"] for e in events] == ["PENDING", "CANCELLED"]


@pytest.mark.slow
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
    await skipped_by_a_worker(workers, job_id)
    events = await stream_to_end(client, job_id, **{"Last-Event-ID": "0"})
    assert [e.data["status"] for e in events] == ["PENDING", "STARTED", "PENDING", "CANCELLED"]


async def dead_letters(client: httpx.AsyncClient) -> int:
    return (await client.get("/worker/status", headers=ADMIN)).json()["queues"]["default"]["dead_letters"]


async def test_a_running_job_stops_at_its_next_progress_report(
    client: httpx.AsyncClient, redis_client: redis.Redis, workers: ServiceProcess
) -> None:
    dead_before = await dead_letters(client)
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
    assert await dead_letters(client) == dead_before, "a cancelled job is not a dead letter"
    logged = f"Job {job_id} cancelled"  # written just after the change the stream reported
    await eventually(lambda: logged in workers.log_path.read_text(), timeout=10, what="its log line")
    assert "was skipped" not in workers.log_path.read_text(), "our own skips are logged as what they are"


async def test_a_job_that_swallows_exceptions_is_still_cancelled(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    gate = f"swallow-{uuid.uuid4()}"
    job_id = await start_job(client, "swallows_errors", gate=gate, steps=3)
    redis_client.rpush(gate_key(gate), 1)
    reached = await wait_for_status_message(client, job_id, "Step 1/3")
    assert (await cancel(client, job_id)).status_code == 202
    redis_client.rpush(gate_key(gate), 1, 1)  # were the cancellation swallowed, it would finish at once
    final = await wait_for_terminal(client, job_id)
    assert final["status"] == "CANCELLED", final
    assert final["progress"] == reached["progress"], "it stopped at its next report"


@pytest.mark.slow
async def test_a_running_job_that_never_checks_is_interrupted_after_the_grace_period(
    client: httpx.AsyncClient,
) -> None:
    job_id = await start_job(client, "busy", seconds=60)
    await wait_for_status(client, job_id, "STARTED")
    started = time.monotonic()
    assert (await cancel(client, job_id)).status_code == 202
    final = await wait_for_status(client, job_id, "CANCELLED")
    assert time.monotonic() - started < 10, "interrupted after the grace (1 s here), not its 60 s of work"
    assert final["result"] is None


async def test_a_finished_job_is_retried_as_a_new_job_linked_both_ways(client: httpx.AsyncClient) -> None:
    failed = await start_job(client, "always_fails", reason="try me again")
    first = await wait_for_terminal(client, failed)
    assert first["status"] == "FAILURE" and first["retry_of"] is None and first["retried_by"] is None
    answer = await client.post(f"/jobs/{failed}/retry")
    assert answer.status_code == 202, answer.text
    again = answer.json()["job_id"]
    assert again != failed and answer.headers["location"].endswith(f"/jobs/{again}")
    second = await wait_for_terminal(client, again)
    assert (second["job_type"], second["retry_of"]) == ("always_fails", failed)
    assert second["error"]["message"] == "try me again", "the same arguments"
    assert (await client.get(f"/jobs/{failed}")).json()["retried_by"] == again
    shown = (await client.get(f"/jobs/{again}", params={"include": "arguments"})).json()
    assert shown["arguments"] == {"reason": "try me again"}
    assert "arguments" not in (await client.get(f"/jobs/{again}")).json()


async def test_a_failure_keeps_its_whole_error_and_its_traceback_for_the_admin(
    client: httpx.AsyncClient,
) -> None:
    # A message of many lines, longer than the traceback kept (the tests' always_fails retries once).
    reason = "first line\n" + "detail: a long explanation\n" * 800 + "last line"
    job_id = await start_job(client, "always_fails", reason=reason)
    retrying = await wait_for(client, job_id, lambda s: s["status"] == "PENDING" and s["error"], "a retry")
    assert retrying["error"] == {"type": "ValueError", "message": reason}, "the retry's error, whole"
    failed = await wait_for_terminal(client, job_id)
    assert failed["error"] == {"type": "ValueError", "message": reason}
    assert "traceback" not in failed

    refused = await client.get(f"/jobs/{job_id}", params={"include": "traceback"})
    assert refused.status_code == 403, "a tenant never sees the server's paths"
    shown = await client.get(
        f"/jobs/{job_id}", params={"include": "traceback", "tenant": TENANT}, headers=ADMIN
    )
    assert shown.status_code == 200, shown.text
    traceback = shown.json()["traceback"]
    assert len(traceback) <= 16 * 1024 and traceback.rstrip().endswith("last line"), "bounded, its end kept"
    assert traceback.startswith("[") and "characters cut]" in traceback.splitlines()[0]
    short = await start_job(client, "always_fails", reason="short")
    await wait_for_terminal(client, short)
    whole = await client.get(
        f"/jobs/{short}", params={"include": "traceback", "tenant": TENANT}, headers=ADMIN
    )
    assert 'File "' in whole.json()["traceback"] and "raise ValueError(reason)" in whole.json()["traceback"]
    assert whole.json()["traceback"].rstrip().endswith("ValueError: short")
    elsewhere = await client.get(
        f"/jobs/{short}", params={"include": "traceback", "tenant": "rival"}, headers=ADMIN
    )
    assert elsewhere.status_code == 404, "the admin reads in the tenant it names"


async def test_retry_is_offered_only_where_it_can_work(client: httpx.AsyncClient) -> None:
    failed = await start_job(client, "always_fails", reason="offer me")
    assert (await wait_for_terminal(client, failed)) and (await client.get(f"/jobs/{failed}")).json()[
        "retryable"
    ]
    extraction = await upload(
        client, "acme", {"file": ("offer.txt", b"A short agreement between two parties.")}
    )
    assert extraction["job_type"] == "extract_documents" and extraction["retryable"] is False
    refused = await client.post(f"/jobs/{extraction['job_id']}/retry")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "job_not_retryable"
    gate = f"offer-{uuid.uuid4()}"
    running = await start_job(client, "gated_steps", gate=gate, steps=1)
    assert (await client.get(f"/jobs/{running}")).json()["retryable"] is False, "not finished"
    await client.post(f"/jobs/{running}/cancel")


async def test_the_admin_lists_runs_again_and_forgets_dead_letters(client: httpx.AsyncClient) -> None:
    letters_url = "/queues/default/dead-letters"
    poisoned = [await start_job(client, "always_fails", reason=f"poison {n}") for n in range(2)]
    for job_id in poisoned:
        await wait_for_terminal(client, job_id)

    async def letters() -> dict[str, dict]:  # job id -> its letter
        listed = (await client.get(letters_url, headers=ADMIN)).json()["dead_letters"]
        return {letter["job_id"]: letter for letter in listed}

    async def both_dead() -> bool:
        return set(poisoned) <= set(await letters())

    await eventually(both_dead, timeout=10, what="both jobs in the dead letters")
    found = await letters()
    assert found[poisoned[0]]["job_type"] == "always_fails" and found[poisoned[0]]["dead_at"].startswith("20")
    assert found[poisoned[0]]["status"] == "FAILURE", "a letter says how its job ended"
    assert found[poisoned[0]]["error"] == {"type": "ValueError", "message": "poison 0"}, "and why"
    again = await client.post(f"{letters_url}/{found[poisoned[0]]['id']}/retry", headers=ADMIN)
    assert again.status_code == 202, again.text
    rerun = await wait_for_terminal(client, again.json()["job_id"])
    assert rerun["retry_of"] == poisoned[0] and rerun["error"]["message"] == "poison 0"
    forgotten = await client.delete(f"{letters_url}/{found[poisoned[1]]['id']}", headers=ADMIN)
    assert forgotten.status_code == 204
    assert not set(poisoned) & set(await letters()), "both left the dead letters"
    missing = await client.delete(f"{letters_url}/{found[poisoned[1]]['id']}", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "dead_letter_not_found"
    assert (await client.get("/queues/nowhere/dead-letters", headers=ADMIN)).status_code == 404
    assert (await client.get(letters_url)).status_code == 403, "a tenant's key is not the admin's"


async def test_the_jobs_ended_each_minute_are_counted_for_their_tenant(client: httpx.AsyncClient) -> None:
    def this_minute(page: dict) -> dict:
        return page["minutes"][-1]

    before = this_minute((await client.get("/stats/ended", params={"minutes": 5})).json())
    for job_type, payload in (("quick_steps", {"steps": 1}), ("always_fails", {"reason": "counted"})):
        await wait_for_terminal(client, await start_job(client, job_type, **payload))

    async def counted() -> bool:  # the workers write their counts once a second
        # The jobs may end in the minute the test began or in any after it (a minute can turn
        # between the two jobs, or before the counts are read), so sum every minute since.
        page = (await client.get("/stats/ended", params={"minutes": 5})).json()
        since = [minute for minute in page["minutes"] if minute["minute"] >= before["minute"]]
        succeeded, failed = (sum(minute[outcome] for minute in since) for outcome in ("succeeded", "failed"))
        return succeeded > before["succeeded"] and failed > before["failed"]

    await eventually(counted, timeout=15, what="this minute's counts to show both jobs")
    page = (await client.get("/stats/ended", params={"minutes": 5})).json()
    assert len(page["minutes"]) == 5 and page["minutes"][0]["minute"] < page["minutes"][-1]["minute"]
    admin_view = await client.get("/stats/ended", params={"tenant": "someone-else"}, headers=ADMIN)
    assert admin_view.status_code == 200 and this_minute(admin_view.json())["succeeded"] == 0


async def test_an_unfinished_or_unknown_job_is_not_retried(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    gate = f"retry-running-{uuid.uuid4()}"
    running = await start_job(client, "gated_steps", gate=gate, steps=1)
    refused = await client.post(f"/jobs/{running}/retry")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "job_not_finished"
    redis_client.rpush(gate_key(gate), 1)
    missing = await client.post(f"/jobs/{uuid.uuid4()}/retry")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"


async def test_cancelling_a_finished_or_unknown_job(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "quick_steps", steps=1)
    await wait_for_status(client, job_id, "SUCCESS")
    response = await cancel(client, job_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_finished"
    assert response.json()["error"]["status"] == "SUCCESS"
    assert (await cancel(client, str(uuid.uuid4()))).status_code == 404


@pytest.mark.slow
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
    client: httpx.AsyncClient, job_store: JobStore
) -> None:
    workspace = f"list-{uuid.uuid4().hex[:8]}"
    made = []
    for number in range(5):
        job_id = str(uuid.uuid4())
        job_store.create(
            JobRef(job_id, group=workspace), "score_contracts" if number % 2 else "audit_contracts"
        )
        made.append(job_id)
    job_store.transition(
        JobRef(made[1], group=workspace), JobStatus.SUCCESS, result={"scores": ["x" * 1000] * 20}
    )
    page = (await client.get("/jobs", params={"workspace": workspace, "limit": 2})).json()
    assert [j["job_id"] for j in page["jobs"]] == [made[4], made[3]]
    rest = (
        await client.get("/jobs", params={"workspace": workspace, "limit": 10, "cursor": page["next_cursor"]})
    ).json()
    assert [j["job_id"] for j in rest["jobs"]] == [made[2], made[1], made[0]] and rest["next_cursor"] is None
    done = (await client.get("/jobs", params={"workspace": workspace, "status": "SUCCESS"})).json()
    assert [j["job_id"] for j in done["jobs"]] == [made[1]]
    assert "result" not in done["jobs"][0], "a listing leaves the (20 KB) result out"
    assert done["jobs"][0]["status"] == "SUCCESS" and done["jobs"][0]["finished_at"]
    with_results = {"workspace": workspace, "status": "SUCCESS", "include": "result"}
    full = (await client.get("/jobs", params=with_results)).json()["jobs"][0]
    assert full["result"] == {"scores": ["x" * 1000] * 20}
    typed = (await client.get("/jobs", params={"workspace": workspace, "job_type": "audit_contracts"})).json()
    assert [j["job_id"] for j in typed["jobs"]] == [made[4], made[2], made[0]]
    everywhere = (await client.get("/jobs", params={"limit": 1})).json()
    assert everywhere["jobs"][0]["job_id"] == made[4] and everywhere["next_cursor"]
    for bad in (
        {"status": "DONE"},
        {"limit": "-1"},
        {"cursor": "abc"},
        {"limit": 1000},
        {"include": "error"},
    ):
        response = await client.get("/jobs", params=bad)
        assert response.status_code == 400, bad


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = (await client.get("/metrics", headers=ADMIN)).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_parse_and_move(client: httpx.AsyncClient, job_store: JobStore) -> None:
    before = await scrape(client)
    success = ("jobservice_job_status_changes_total", (("job_type", "quick_steps"), ("status", "SUCCESS")))
    runs = ("jobservice_job_duration_seconds_count", (("job_type", "quick_steps"),))
    job_id = await start_job(client, "quick_steps", steps=2)
    events = await stream_to_end(client, job_id)
    assert events[-1].data["status"] == "SUCCESS"
    idle = str(uuid.uuid4())
    job_store.create(JobRef(idle), "score_contracts")  # never queued: its stream stays open
    async with client.stream("GET", f"/jobs/{idle}/events") as response:
        stream = messages(response)  # held: an abandoned reader would close the stream
        await take_events(stream, 1)
        during = await scrape(client)

    async def counted() -> bool:  # a worker writes its counts once a second (RunMetrics)
        after = await scrape(client)
        # At least: this module's other jobs of the same type may finish meanwhile.
        return (
            after.get(success, 0) >= before.get(success, 0) + 1
            and after.get(runs, 0) >= before.get(runs, 0) + 1
        )

    await eventually(counted, timeout=15, what="the worker's counts of the job")
    after = await scrape(client)
    assert (
        after[("jobservice_job_duration_seconds_bucket", (("job_type", "quick_steps"), ("le", "+Inf")))] >= 1
    )
    assert during[("jobservice_open_streams", ())] >= 1
    assert after[("jobservice_events_pushed_total", ())] > before[("jobservice_events_pushed_total", ())]
    assert after[("jobservice_workers", ())] >= 1
    assert during[("jobservice_jobs", (("status", "PENDING"),))] >= 1, "the idle job waits"
    assert ("jobservice_jobs", (("status", "STARTED"),)) in after
    assert ("jobservice_queue_messages", (("queue", "default"), ("state", "ready"))) in after


def test_json_logs_carry_the_job_id_and_type(redis_server: RedisServer, api_key: str) -> None:
    server = WebServer(redis_server, LOG_FORMAT="json")
    try:
        created = httpx.post(
            f"{server.base_url}/jobs/quick_steps", json={"steps": 1}, headers=bearer(api_key)
        )
        job_id = created.json()["job_id"]
        wait_until(lambda: job_id in server.log_path.read_text(), timeout=10, what="the queued line")
    finally:
        server.stop()
    entries = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    queued = next(e for e in entries if e.get("job_id") == job_id)
    assert queued["job_type"] == "quick_steps" and queued["message"].startswith(f"Job {job_id} queued")
    assert queued["level"] == "INFO" and queued["logger"] == "jobs"


async def test_a_waiting_job_shows_its_queue_position_and_eta(
    one_thread: Stack, one_thread_client: httpx.AsyncClient
) -> None:
    client = one_thread_client
    await wait_for_status(client, await start_job(client, "quick_steps", steps=1), "SUCCESS")  # a recent run
    recent = keys.recent_durations("quick_steps")
    await eventually(lambda: one_thread.redis.client().llen(recent) > 0, timeout=15, what="its run time")
    gate = await occupy_the_worker(client)
    first = await start_job(client, "quick_steps", steps=1)
    second = await start_job(client, "quick_steps", steps=1)
    one, two = [(await client.get(f"/jobs/{job_id}")).json() for job_id in (first, second)]
    assert (one["queue_position"], two["queue_position"]) == (1, 2), "the held job no longer waits"
    assert two["eta_seconds"] is not None and two["eta"] is not None
    one_thread.redis.client().rpush(gate_key(gate), 1)
    await wait_for_status(client, second, "SUCCESS")
    assert "queue_position" not in (await client.get(f"/jobs/{second}")).json()


async def test_a_waiting_jobs_eta_holds_against_its_real_start(
    one_thread: Stack, one_thread_client: httpx.AsyncClient
) -> None:
    client = one_thread_client
    await wait_for_status(client, await start_job(client, "busy", seconds=1.0), "SUCCESS")  # runs of 1 s
    recent = keys.recent_durations("busy")
    await eventually(lambda: one_thread.redis.client().llen(recent) > 0, timeout=15, what="its run time")
    await wait_for_status(client, await start_job(client, "busy", seconds=1.0), "STARTED")  # the thread busy
    await start_job(client, "busy", seconds=1.0)  # one ahead
    waiting = await start_job(client, "busy", seconds=1.0)
    asked = time.time()
    estimate = (await client.get(f"/jobs/{waiting}")).json()["eta_seconds"]
    started = await wait_for_status(client, waiting, "STARTED")
    actual = datetime.fromisoformat(started["started_at"]).timestamp() - asked
    assert estimate is not None and estimate / 2 <= actual <= estimate * 2, (estimate, actual)
    await wait_for_status(client, waiting, "SUCCESS")


async def test_jobs_in_queue_counts_every_job_not_started_even_those_a_worker_fetched(
    one_thread: Stack, one_thread_client: httpx.AsyncClient
) -> None:
    client = one_thread_client
    gate = await occupy_the_worker(client)
    waiting = [await start_job(client, "quick_steps", steps=1) for _ in range(6)]
    status = (await client.get("/worker/status")).json()
    # The seed's count was the broker's queue: 4 while 6 were PENDING, the worker having fetched 2.
    assert status["jobs_in_queue"] == 6, status

    async def running_one() -> bool:  # as of the worker's next heartbeat
        return (await client.get("/worker/status")).json()["workers"][0]["running"] == 1

    await eventually(running_one, timeout=20, what="the worker to count its one running job")
    held = (await client.get("/worker/status", headers=ADMIN)).json()["workers"][0]["running_jobs"]
    assert len(held) == 1 and (await client.get(f"/jobs/{held[0]}")).json()["status"] == "STARTED"
    assert "running_jobs" not in (await client.get("/worker/status")).json()["workers"][0], "the admin's"
    one_thread.redis.client().rpush(gate_key(gate), 1)
    for job_id in waiting:
        await wait_for_status(client, job_id, "SUCCESS")
    assert (await client.get("/worker/status")).json()["jobs_in_queue"] == 0


async def test_a_retry_policy_per_job_type_and_poison_jobs_in_the_dead_letters(
    client: httpx.AsyncClient,
) -> None:
    # The tests' workers run with JOB_RETRIES="always_fails=1/0.05/0.05": one retry, 50 ms later.
    dead_before = (await client.get("/worker/status", headers=ADMIN)).json()["queues"]["default"][
        "dead_letters"
    ]
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

    async def dead_lettered() -> bool:
        status = (await client.get("/worker/status", headers=ADMIN)).json()
        return status["queues"]["default"]["dead_letters"] > dead_before

    await eventually(dead_lettered, timeout=10, what="the poison message in the dead letters")


@pytest.mark.slow
def test_dramatiq_worker_metrics_can_be_switched_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
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
        auth = bearer(new_key(web))
        job_id = httpx.post(f"{web.base_url}/jobs/quick_steps", json={"steps": 1}, headers=auth).json()[
            "job_id"
        ]
        wait_until(
            lambda: httpx.get(f"{web.base_url}/jobs/{job_id}", headers=auth).json()["status"] == "SUCCESS",
            timeout=20,
            what="the job to finish",
        )
        names = {f.name for f in text_string_to_metric_families(httpx.get(f"http://127.0.0.1:{port}/").text)}
    finally:
        web.stop()
        worker.stop()
        own_redis.stop()
    assert {"dramatiq_messages", "dramatiq_message_duration_milliseconds"} <= names, names
