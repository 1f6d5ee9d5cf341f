"""A job's history against a real Redis (issue 25): every event a client may resume after is
replayed from the record and its steps back, exactly as its wake-up carried it; a finished no-op
job keeps a compact record, a short history and its message within about 2 KB; and maintenance's
sweep costs the same whatever the number of jobs kept."""

from __future__ import annotations

import json
import uuid

import redis
import redis.asyncio as aioredis

from actors.jobs import keys
from actors.jobs.events import JobEvent
from actors.jobs.maintenance import sweep
from actors.jobs.reader import JobReader
from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .support.servers import RedisServer, redis_running
from .support.stack import engine_on

NAMESPACE = "history-tests"
#: About the size of a real job's encoded Dramatiq message.
MESSAGE = json.dumps(
    {"queue_name": "default", "actor_name": "quick_steps", "kwargs": {"steps": 0}, "pad": "x" * 180}
)


def wakeups(pubsub: redis.client.PubSub, count: int) -> list[JobEvent]:
    events = []
    while len(events) < count:
        message = pubsub.get_message(timeout=5)
        assert message is not None, "every change publishes a wake-up"
        if message["type"] == "message":
            events.append(JobEvent.from_wakeup(message["data"]))
    return events


def as_sent(events: list[JobEvent]) -> list[tuple[int, str, dict]]:
    return [(event.seq, event.event, json.loads(event.data)) for event in events]


async def test_a_stream_resumes_a_finished_job_from_any_position_with_every_event(
    job_store: JobStore, redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    job_id, group = str(uuid.uuid4()), f"g-{uuid.uuid4()}"
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.tenant_channel(NAMESPACE))
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    ref = JobRef(job_id, NAMESPACE, group)
    job_store.create(ref, "t", message=MESSAGE.encode())
    job_store.claim(JobRef(job_id, NAMESPACE, group, run="first"), lease=0, worker="w1")
    taken = JobRef(job_id, NAMESPACE, group, run="second")
    job_store.claim(taken, lease=30, worker="w2")  # a takeover: a long message, a hashtable record
    job_store.progress(taken, 25, "Step 1/4")
    job_store.progress(taken, 50)
    job_store.transition(taken, JobStatus.STARTED, custom={"added": "by this change"})
    job_store.transition(taken, JobStatus.SUCCESS, result={"steps": 4})
    job_store.link_retry(ref, "the-retry")
    sent = wakeups(pubsub, 8)
    pubsub.close()
    assert [event.seq for event in sent] == list(range(1, 9))

    reader = JobReader(client=aioredis.Redis.from_url(redis_server.url), fields=job_store.fields)
    within = reader.within(NAMESPACE)
    try:
        for position in range(0, 10):
            events, snapshot = await within.events_after(job_id, position)
            assert as_sent(events) == as_sent(sent[position:]), f"resumed after seq {position}"
            assert snapshot == json.loads(sent[-1].data)
        assert await reader.within("another").events_after(job_id, 0) == ([], None)
        assert await within.arguments(job_id) == {"steps": 0}
    finally:
        await reader.client.aclose()
    replayed = [json.loads(event.data) for event in sent]
    assert "custom" not in replayed[4] and replayed[5]["custom"] == {"added": "by this change"}


async def test_a_trimmed_history_replays_the_newest_events_and_no_older(redis_server: RedisServer) -> None:
    store = engine_on(redis_server, event_log_max=3).store
    job_id = str(uuid.uuid4())
    store.create(JobRef(job_id, NAMESPACE), "t")
    for step in range(10):
        store.progress(JobRef(job_id, NAMESPACE), step * 10)
    reader = JobReader(client=aioredis.Redis.from_url(redis_server.url), fields=store.fields)
    try:
        events, snapshot = await reader.within(NAMESPACE).events_after(job_id, 2)
    finally:
        await reader.client.aclose()
    assert snapshot is not None and snapshot["seq"] == 11
    assert [event.seq for event in events] == [8, 9, 10, 11], "three steps back from the record"
    assert [json.loads(event.data)["progress"] for event in events] == [60, 70, 80, 90]


def test_a_finished_no_op_job_takes_about_two_kilobytes(
    job_store: JobStore, redis_client: redis.Redis
) -> None:
    job_id = str(uuid.uuid4())
    job_store.create(JobRef(job_id), "quick_steps", message=MESSAGE.encode())
    run = JobRef(job_id, run=uuid.uuid4().hex)
    job_store.claim(run, lease=30, worker="a-worker-1234", started_at="2026-01-01T00:00:00.000Z")
    job_store.transition(run, JobStatus.SUCCESS, result={"steps": 0, "result": "done"})
    own = (keys.job(job_id), keys.job_history(job_id), keys.job_message(job_id))
    sizes = {key: redis_client.memory_usage(key, samples=0) for key in own}
    assert redis_client.object("encoding", keys.job(job_id)) == b"listpack", "every value within 64 bytes"
    assert redis_client.llen(keys.job_history(job_id)) == 2, "a step back to each earlier event"
    assert sum(sizes.values()) < 2_000, sizes  # 7 KB before issue 25: a stream took 4.8 KB
    assert job_store.message(job_id) == MESSAGE.encode()
    assert json.loads(job_store.record(job_id)["_message"]) == json.loads(MESSAGE)


def test_a_sweep_costs_the_same_whatever_the_jobs_kept() -> None:
    with redis_running() as server:
        store = engine_on(server).store
        client = server.client()

        def sweep_commands() -> int:
            before = int(client.info("stats")["total_commands_processed"])
            sweep(client, kept_for=3600)
            return int(client.info("stats")["total_commands_processed"]) - before

        def add_jobs(count: int, group: str | None) -> None:
            for _ in range(count):
                ref = JobRef(str(uuid.uuid4()), NAMESPACE, group)
                store.create(ref, "t")
                store.transition(ref, JobStatus.SUCCESS)

        add_jobs(5, None)
        add_jobs(5, "a group")
        few = sweep_commands()
        add_jobs(200, None)
        add_jobs(200, "a group")
        assert sweep_commands() == few

        expired = str(uuid.uuid4())
        client.zadd(keys.jobs_index(NAMESPACE), {expired: 1_000_000})  # created long ago, and gone
        assert sweep(client, kept_for=3600) == {"stale index entries": 1, "expired groups": 0}
        assert client.zscore(keys.jobs_index(NAMESPACE), expired) is None
        client.delete(keys.group_jobs(NAMESPACE, "a group"))
        assert sweep(client, kept_for=3600)["expired groups"] == 1
        assert client.zcard(keys.groups(NAMESPACE)) == 0
