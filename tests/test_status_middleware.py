"""The status middleware's rarer hooks, on Dramatiq's StubBroker with a real Redis job store.

The common paths (enqueue, start, success, failure, retries) run through real workers in
``test_job_lifecycle.py``; these cover what a worker seldom shows on demand, a terminal write
that meets an outage among them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, CurrentMessage, Retries, SkipMessage
from redis.backoff import NoBackoff
from redis.retry import Retry

from actors.jobs import job
from actors.jobs.leases import RunLeases
from actors.jobs.middleware import JobStatusMiddleware
from actors.jobs.store import JobStore

from .support.servers import free_port, wait_until


@pytest.fixture
def stub(job_store: JobStore) -> Iterator[StubBroker]:
    broker = StubBroker(
        middleware=[
            AgeLimit(),
            JobStatusMiddleware(store=job_store, leases=RunLeases(store=job_store, lease=5)),
            Retries(max_retries=0),
            CurrentMessage(),
        ]
    )
    previous = dramatiq.get_broker()
    dramatiq.set_broker(broker)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    yield broker
    worker.stop()
    dramatiq.set_broker(previous)


def declare(broker: StubBroker, fn, **options) -> dramatiq.Actor:  # type: ignore[no-untyped-def]
    return job(broker=broker, actor_name=f"{fn.__name__}_{uuid.uuid4().hex[:6]}", **options)(fn)


def test_a_message_skipped_for_age_ends_failure(stub: StubBroker, job_store: JobStore) -> None:
    def never_runs() -> None:
        raise AssertionError("a skipped job must not run")

    actor = declare(stub, never_runs, max_age=1)
    message = actor.send_with_options(delay=20)  # older than max_age by the time it is processed
    stub.join(actor.queue_name, fail_fast=False)
    snapshot = job_store.snapshot(message.message_id)
    assert snapshot["status"] == "FAILURE"
    assert snapshot["error"]["type"] == "skipped"


def test_a_result_that_is_not_json_ends_failure(stub: StubBroker, job_store: JobStore) -> None:
    def returns_a_set() -> set:
        return {1, 2}

    actor = declare(stub, returns_a_set)
    message = actor.send()
    stub.join(actor.queue_name)
    snapshot = job_store.snapshot(message.message_id)
    assert snapshot["status"] == "FAILURE"
    assert snapshot["error"]["type"] == "unserializable_result"


def test_failure_is_recorded_once_though_nack_follows(stub: StubBroker, job_store: JobStore) -> None:
    def fails() -> None:
        raise KeyError("missing clause")

    actor = declare(stub, fails)
    message = actor.send()
    stub.join(actor.queue_name, fail_fast=False)
    snapshot = job_store.snapshot(message.message_id)
    assert (snapshot["status"], snapshot["seq"]) == ("FAILURE", 3), (
        "PENDING, STARTED, FAILURE: no extra event"
    )
    assert snapshot["error"] == {"type": "KeyError", "message": "'missing clause'"}


def test_actors_that_are_not_public_jobs_get_no_record(stub: StubBroker, job_store: JobStore) -> None:
    def internal() -> None:
        return None

    actor = dramatiq.actor(internal, broker=stub, actor_name=f"internal_{uuid.uuid4().hex[:6]}")
    message = actor.send()
    stub.join(actor.queue_name)
    assert job_store.snapshot(message.message_id) is None


def test_copies_of_a_running_jobs_message_skipped_at_once_leave_its_run_be(job_store: JobStore) -> None:
    """Two copies of one message (a parked message sent back twice) skipped by two worker threads
    at once: each thread's skip is matched with its own ``after_skip_message``, whatever their
    order. A lost match once failed the running job ("skipped before it ran"), its run's fence
    taken for the copy's. The hooks are called as the two threads interleaved them."""
    status = JobStatusMiddleware(store=job_store, leases=RunLeases(store=job_store, lease=5))
    broker = StubBroker(middleware=[status, Retries(max_retries=0)])  # no worker: the test runs the hooks

    def held() -> str:
        return "done"

    message = declare(broker, held).send()
    status.before_process_message(broker, message)  # the job's run: claimed, STARTED
    copies = [message.copy(), message.copy()]
    for copy in copies:  # each finds the job held by the run: deferred, skipped
        with pytest.raises(SkipMessage):
            status.before_process_message(broker, copy)
    for copy in copies:
        status.after_skip_message(broker, copy)
    assert job_store.snapshot(message.message_id)["status"] == "STARTED", "no copy ended the run"
    status.after_process_message(broker, message, result="done")
    snapshot = job_store.snapshot(message.message_id)
    assert (snapshot["status"], snapshot["result"]) == ("SUCCESS", "done")


@pytest.fixture
def unreachable_store() -> JobStore:
    """A job store whose Redis never answers (nothing listens on its port), tried once a command."""
    client = redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    return JobStore(client=client)


def test_a_terminal_write_waits_for_redis_until_the_worker_stops_then_is_left_to_the_reaper(
    stub: StubBroker, unreachable_store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    status = JobStatusMiddleware(store=unreachable_store, leases=RunLeases(store=unreachable_store, lease=5))
    message = declare(stub, lambda: None).message()
    ending = threading.Thread(target=status.after_process_message, args=(stub, message), daemon=True)
    with caplog.at_level(logging.WARNING, logger="jobs"):
        ending.start()
        wait_until(lambda: "cannot be recorded yet" in caplog.text, timeout=10, what="the first retry")
        assert ending.is_alive(), "a running worker retries a terminal write for as long as Redis is away"
        status.before_worker_shutdown(stub, dramatiq.Worker(stub))
        ending.join(timeout=5)
    assert not ending.is_alive(), "a stopping worker gives the write up at once"
    assert (
        f"Job {message.message_id}: its SUCCESS cannot be recorded (Redis unavailable) and the worker is "
        "stopping; left to the reaper once its lease lapses"
    ) in caplog.text
