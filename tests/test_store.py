"""The job store against a real Redis: one atomic step per change (docs/design.md, invariants 1,
2 and 8), groups, and refusals."""

from __future__ import annotations

import json
import uuid

import pytest
import redis

from actors.jobs import history, keys
from actors.jobs.events import JobEvent
from actors.jobs.ref import JobRef
from actors.jobs.states import DEFAULT_NAMESPACE, JobStatus
from actors.jobs.store import JobStore

from .support.servers import RedisServer
from .support.stack import engine_on


def new_id() -> str:
    return str(uuid.uuid4())


def logged(store: JobStore, job_id: str) -> list[JobEvent]:
    """Every event the job's history keeps, as a reader replays it from the record."""
    return history.read(store.client, job_id, store.fields)


def test_create_writes_a_pending_snapshot_with_seq_1(job_store: JobStore) -> None:
    job_id = new_id()
    snapshot = job_store.create(JobRef(job_id), "score_contracts")
    assert snapshot is not None
    assert snapshot["status"] == "PENDING"
    assert snapshot["message"] == "Job queued, waiting to start..."
    assert (snapshot["seq"], snapshot["attempt"], snapshot["progress"]) == (1, 1, None)
    assert job_store.snapshot(job_id) == {**snapshot}
    assert job_store.create(JobRef(job_id), "score_contracts") is None, "a job is created once"


def test_every_change_gets_the_next_seq_in_snapshot_log_and_wakeup(
    job_store: JobStore, redis_client: redis.Redis
) -> None:
    job_id = new_id()
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.job_channel(job_id), keys.group_channel(DEFAULT_NAMESPACE, "team a"))
    assert [pubsub.get_message(timeout=5)["type"] for _ in range(2)] == ["subscribe", "subscribe"]

    job_store.create(JobRef(job_id, group="team a"), "t")
    job_store.transition(JobRef(job_id, group="team a"), JobStatus.STARTED)
    job_store.progress(JobRef(job_id, group="team a"), 40, "Scoring 2/5")
    final = job_store.transition(JobRef(job_id, group="team a"), JobStatus.SUCCESS, result={"score": [1, 2]})

    assert final is not None and final["seq"] == 4
    assert final["result"] == {"score": [1, 2]}, "JSON values survive the Lua script untouched"
    entries = logged(job_store, job_id)
    assert [event.event for event in entries] == ["status", "status", "progress", "status"]
    assert [event.seq for event in entries] == [1, 2, 3, 4]
    progress = json.loads(entries[2].data)
    assert (progress["progress"], progress["message"], progress["status"]) == (40, "Scoring 2/5", "STARTED")

    by_channel: dict[str, list[JobEvent]] = {}
    while sum(map(len, by_channel.values())) < 7:
        message = pubsub.get_message(timeout=5)
        assert message is not None, "every change publishes a wake-up"
        if message["type"] == "message":
            by_channel.setdefault(message["channel"].decode(), []).append(
                JobEvent.from_wakeup(message["data"])
            )
    wakeups = by_channel[keys.group_channel(DEFAULT_NAMESPACE, "team a")]
    assert [(e.seq, e.event, e.group) for e in wakeups] == [
        (1, "status", "team a"),
        (2, "status", "team a"),
        (3, "progress", "team a"),
        (4, "status", "team a"),
    ]
    on_job_channel = by_channel[keys.job_channel(job_id)]
    assert [e.seq for e in on_job_channel] == [2, 3, 4], "no one can watch a job before it exists"
    assert json.loads(wakeups[-1].data) == job_store.snapshot(job_id)
    assert [json.loads(e.data) for e in entries] == [json.loads(e.data) for e in wakeups], (
        "the history replays every event exactly as its wake-up carried it"
    )
    group_log = redis_client.xrange(keys.group_log(DEFAULT_NAMESPACE, "team a"))
    assert [e.group_entry for e in wakeups] == [entry_id.decode() for entry_id, _ in group_log]
    assert [e.previous_group_entry for e in wakeups[1:]] == [e.group_entry for e in wakeups[:-1]]
    pubsub.close()


def test_a_job_in_a_group_is_logged_and_indexed_with_it_and_others_are_not(
    job_store: JobStore, redis_client: redis.Redis
) -> None:
    group, other = f"g-{new_id()}", f"g-{new_id()}"
    grouped, loose = new_id(), new_id()
    snapshot = job_store.create(JobRef(grouped, group=group), "t")
    job_store.create(JobRef(loose), "t")
    job_store.transition(JobRef(grouped, group=group), JobStatus.STARTED)
    job_store.create(JobRef(new_id(), group=other), "t")
    assert snapshot is not None and snapshot[job_store.group_field] == group
    assert [
        job_id.decode() for job_id in redis_client.zrange(keys.group_jobs(DEFAULT_NAMESPACE, group), 0, -1)
    ] == [grouped]
    entries = [
        JobEvent.from_group_entry(DEFAULT_NAMESPACE, group, entry_id, fields)
        for entry_id, fields in redis_client.xrange(keys.group_log(DEFAULT_NAMESPACE, group))
    ]
    assert [(e.job_id, e.seq, e.status) for e in entries] == [
        (grouped, 1, JobStatus.PENDING),
        (grouped, 2, JobStatus.STARTED),
    ]


def test_a_change_that_names_another_group_fails_loudly_and_changes_nothing(job_store: JobStore) -> None:
    job_id = new_id()
    job_store.create(JobRef(job_id, group="right"), "t")
    for wrong in ("wrong", None):
        with pytest.raises(redis.exceptions.ResponseError, match="is in"):
            job_store.transition(JobRef(job_id, group=wrong), JobStatus.STARTED)
    assert job_store.snapshot(job_id)["seq"] == 1


def test_a_finished_job_refuses_further_changes(job_store: JobStore) -> None:
    job_id = new_id()
    job_store.create(JobRef(job_id), "t")
    job_store.transition(JobRef(job_id), JobStatus.FAILURE, error={"type": "ValueError", "message": "x"})
    assert job_store.transition(JobRef(job_id), JobStatus.STARTED) is None
    assert job_store.progress(JobRef(job_id), 50) is None
    assert job_store.transition(JobRef(job_id), JobStatus.SUCCESS) is None
    snapshot = job_store.snapshot(job_id)
    assert snapshot is not None and (snapshot["status"], snapshot["seq"]) == ("FAILURE", 2)


def test_changes_to_an_unknown_job_are_refused(job_store: JobStore, redis_client: redis.Redis) -> None:
    job_id = new_id()
    assert job_store.transition(JobRef(job_id), JobStatus.STARTED) is None
    assert not redis_client.exists(keys.job(job_id), keys.job_history(job_id))


def test_finished_jobs_expire_after_the_result_ttl(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    store = engine_on(redis_server, result_ttl=120, pending_ttl=3600).store
    job_id = new_id()
    store.create(JobRef(job_id), "t", message=b'{"kwargs":{}}')
    assert 3500 < redis_client.ttl(keys.job(job_id)) <= 3600
    assert 3500 < redis_client.ttl(keys.job_message(job_id)) <= 3600
    store.transition(JobRef(job_id), JobStatus.STARTED)
    assert 3500 < redis_client.ttl(keys.job_history(job_id)) <= 3600, "a history expires from its start"
    store.transition(JobRef(job_id), JobStatus.SUCCESS, result=None)
    for kept in (keys.job(job_id), keys.job_history(job_id), keys.job_message(job_id)):
        assert 100 < redis_client.ttl(kept) <= 120, kept


def test_the_log_is_trimmed_but_the_snapshot_keeps_counting(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    store = engine_on(redis_server, event_log_max=10).store
    job_id = new_id()
    store.create(JobRef(job_id), "t")
    for i in range(300):
        store.progress(JobRef(job_id), i / 3)
    assert store.snapshot(job_id)["seq"] == 301
    assert redis_client.llen(keys.job_history(job_id)) == 10
    assert [event.seq for event in logged(store, job_id)] == list(range(291, 302)), "the newest kept"


@pytest.mark.parametrize("bad", [float("nan"), "50", None, True])
def test_progress_must_be_a_number(job_store: JobStore, bad: object) -> None:
    job_id = new_id()
    job_store.create(JobRef(job_id), "t")
    with pytest.raises(ValueError):
        job_store.progress(JobRef(job_id), bad)  # type: ignore[arg-type]


def test_progress_is_clamped_to_0_100(job_store: JobStore) -> None:
    job_id = new_id()
    job_store.create(JobRef(job_id), "t")
    assert job_store.progress(JobRef(job_id), 250)["progress"] == 100
    assert job_store.progress(JobRef(job_id), -3)["progress"] == 0


def test_namespaces_keep_jobs_groups_and_listings_apart(
    job_store: JobStore, redis_client: redis.Redis
) -> None:
    mine, theirs = new_id(), new_id()
    job_store.create(JobRef(mine, namespace="tenant-a", group="acme"), "t")
    job_store.create(JobRef(theirs, namespace="tenant-b", group="acme"), "t")
    assert job_store.snapshot(mine, namespace="tenant-a")["job_id"] == mine
    assert job_store.snapshot(mine, namespace="tenant-b") is None, "another namespace's job is not found"
    assert "_namespace" not in job_store.snapshot(mine, namespace="tenant-a"), (
        "the engine's own field is hidden"
    )
    for namespace, job_id in (("tenant-a", mine), ("tenant-b", theirs)):
        assert redis_client.zrange(keys.group_jobs(namespace, "acme"), 0, -1) == [job_id.encode()]
        assert redis_client.zrange(keys.jobs_index(namespace), 0, -1) == [job_id.encode()]
        [(_, fields)] = redis_client.xrange(keys.group_log(namespace, "acme"))
        assert "_namespace" not in json.loads(fields[b"snapshot"])
    with pytest.raises(redis.exceptions.ResponseError, match="is in"):
        job_store.transition(JobRef(mine, namespace="tenant-b", group="acme"), JobStatus.STARTED)
    assert job_store.request_cancel(mine, namespace="tenant-b") is None, "no cancelling across namespaces"
    assert not redis_client.exists(keys.cancel_flag(mine)), "nothing was flagged"
    assert job_store.snapshot(mine, namespace="tenant-a")["status"] == "PENDING"
