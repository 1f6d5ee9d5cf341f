"""Jobs run by real ``dramatiq`` workers, watched over SSE from a real Hypercorn server."""

from __future__ import annotations

import httpx
import pytest
import redis

from .support.api import as_stored, start_job, statuses, stream_to_end
from .support.jobs import gate_key
from .support.servers import ServiceProcess, eventually
from .support.sse import collect_events, messages

pytestmark = pytest.mark.usefixtures("workers")


async def test_a_job_goes_pending_started_progress_success_in_order(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "quick_steps", steps=3, result="ok")
    events = await stream_to_end(client, job_id)

    seqs = [event.seq for event in events]
    assert seqs == sorted(set(seqs)), "ids strictly increase"
    # A fresh client gets the current snapshot first, then every later change.
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "no change is skipped"
    assert events[-1].event == "status" and events[-1].data["status"] == "SUCCESS"
    assert events[-1].data["result"] == {"steps": 3, "result": "ok"}
    assert events[-1].data["message"] == "Completed successfully!"

    snapshot = (await client.get(f"/jobs/{job_id}")).json()
    assert snapshot["seq"] == events[-1].seq, "snapshot and stream agree on seq"
    assert as_stored(snapshot) == events[-1].data


async def test_a_stream_from_seq_0_sees_every_event_of_the_job(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    job_id = await start_job(client, "gated_steps", gate="full-sequence", steps=2)
    async with client.stream("GET", f"/jobs/{job_id}/events", params={"since": 0}) as response:
        stream = messages(response)
        retry = await anext(stream)
        assert retry.retry is not None
        first = await anext(stream)
        assert (first.seq, first.event, first.data["status"]) == (1, "status", "PENDING")
        redis_client.rpush(gate_key("full-sequence"), 1, 1)
        rest = await collect_events(stream)
    events = [first, *rest]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert [e.event for e in events] == ["status", "status", "progress", "progress", "status"]
    assert statuses(events) == ["PENDING", "STARTED", "STARTED", "STARTED", "SUCCESS"]
    assert [e.data["progress"] for e in events] == [None, None, 50, 100, 100]
    assert [e.data["message"] for e in events[2:4]] == ["Step 1/2", "Step 2/2"]
    assert events[1].data["started_at"] is not None and events[-1].data["finished_at"] is not None


async def test_stream_headers_suit_proxies(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "quick_steps", steps=1)
    async with client.stream("GET", f"/jobs/{job_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers
        await collect_events(response)


async def test_a_failing_job_ends_failure_with_its_error(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "always_fails", reason="contract store offline")
    events = await stream_to_end(client, job_id)
    final = events[-1].data
    assert final["status"] == "FAILURE"
    assert final["message"] == "Job failed"
    assert final["error"] == {"type": "ValueError", "message": "contract store offline"}
    assert final["result"] is None


async def test_a_retried_job_shows_each_attempt_then_succeeds(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "flaky", failures=2)
    events = await stream_to_end(client, job_id, **{"Last-Event-ID": "0"})  # the whole history
    trail = [(e.data["status"], e.data["attempt"]) for e in events]
    assert trail == [
        ("PENDING", 1),
        ("STARTED", 1),
        ("PENDING", 2),
        ("STARTED", 2),
        ("PENDING", 3),
        ("STARTED", 3),
        ("SUCCESS", 3),
    ]
    retry = next(e.data for e in events if e.data["status"] == "PENDING" and e.data["attempt"] == 2)
    assert retry["message"].startswith("Retrying in ") and "attempt 2 of 3" in retry["message"]
    assert retry["error"] == {"type": "ConnectionError", "message": "flaky failure on attempt 1"}
    assert retry["retry_at"] is not None
    assert events[-1].data["result"] == {"attempts": 3}


async def test_retries_exhausted_ends_failure_with_the_last_error(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "flaky", failures=10)
    events = await stream_to_end(client, job_id, **{"Last-Event-ID": "0"})
    final = events[-1].data
    assert (final["status"], final["attempt"]) == ("FAILURE", 3)
    assert final["error"] == {"type": "ConnectionError", "message": "flaky failure on attempt 3"}
    assert [e.data["attempt"] for e in events if e.data["status"] == "STARTED"] == [1, 2, 3]


async def test_reconnecting_with_last_event_id_gets_exactly_the_missed_events(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    gate = "reconnect"
    job_id = await start_job(client, "gated_steps", gate=gate, steps=3)
    # seq: 1 PENDING, 2 STARTED, 3/4/5 progress, 6 SUCCESS
    async with client.stream("GET", f"/jobs/{job_id}/events") as response:
        redis_client.rpush(gate_key(gate), 1)
        before = await collect_events(response, until_seq=3)
    # The client is gone; the job moves on without it (watched by another client).
    async with client.stream("GET", f"/jobs/{job_id}/events") as observer:
        redis_client.rpush(gate_key(gate), 1)
        await collect_events(observer, until_seq=4)
    async with client.stream("GET", f"/jobs/{job_id}/events", headers={"Last-Event-ID": "3"}) as response:
        stream = messages(response)
        await anext(stream)  # retry:
        missed = await anext(stream)
        assert (missed.seq, missed.data["message"]) == (4, "Step 2/3"), "the missed event comes first"
        redis_client.rpush(gate_key(gate), 1)
        after = [missed, *await collect_events(stream)]
    assert before[-1].seq == 3 and before[-1].data["message"] == "Step 1/3"
    assert [e.seq for e in after] == [4, 5, 6], "each missed event once, in order, then live ones"
    assert after[-1].data["status"] == "SUCCESS"


async def test_since_query_parameter_resumes_like_last_event_id(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "quick_steps", steps=2)
    full = await stream_to_end(client, job_id)
    assert full[-1].data["status"] == "SUCCESS"
    total = full[-1].seq
    async with client.stream("GET", f"/jobs/{job_id}/events", params={"since": 2}) as response:
        resumed = await collect_events(response)
    assert [e.seq for e in resumed] == list(range(3, total + 1))


async def test_a_client_arriving_after_the_end_gets_the_terminal_snapshot(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "quick_steps", steps=1)
    await stream_to_end(client, job_id)
    late = await stream_to_end(client, job_id)
    assert len(late) == 1
    assert late[0].data["status"] == "SUCCESS"
    assert late[0].data == as_stored((await client.get(f"/jobs/{job_id}")).json())


async def test_a_client_that_has_the_terminal_event_is_told_to_stop(client: httpx.AsyncClient) -> None:
    job_id = await start_job(client, "quick_steps", steps=1)
    events = await stream_to_end(client, job_id)
    response = await client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": str(events[-1].seq)})
    assert response.status_code == 204, "204 stops EventSource from reconnecting forever"


async def test_progress_is_visible_to_polling_clients(
    client: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    job_id = await start_job(client, "gated_steps", gate="polling", steps=2)
    async with client.stream("GET", f"/jobs/{job_id}/events") as response:
        stream = messages(response)
        redis_client.rpush(gate_key("polling"), 1)
        events = await collect_events(stream, until_seq=3)
        snapshot = (await client.get(f"/jobs/{job_id}")).json()
        assert (snapshot["status"], snapshot["progress"], snapshot["message"]) == ("STARTED", 50, "Step 1/2")
        assert snapshot["seq"] >= events[-1].seq
        redis_client.rpush(gate_key("polling"), 1)
        assert (await collect_events(stream))[-1].data["status"] == "SUCCESS"


async def test_workers_log_the_job_lifecycle(client: httpx.AsyncClient, workers: ServiceProcess) -> None:
    succeeded = await start_job(client, "quick_steps", steps=1)
    failed = await start_job(client, "always_fails", reason="for the log")
    await stream_to_end(client, succeeded)
    await stream_to_end(client, failed)
    expected = [
        f"Job {succeeded} succeeded type=quick_steps in ",
        f"Job {failed} failed type=",
    ]
    # The worker writes each line just after the change the stream reported.
    await eventually(
        lambda: all(line in workers.log_path.read_text() for line in expected),
        timeout=10,
        what=f"the worker's log to show {expected}",
    )
