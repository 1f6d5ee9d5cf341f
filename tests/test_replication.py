"""Redis with a replica and Sentinels: the service's clients follow the primary the Sentinels name,
the web's bounded pool still waits for a free connection, and ``DURABLE_WRITES`` makes a terminal
change or a claim wait until a replica holds it.

The whole failover under running jobs and open streams is rehearsed in ``test_failover.py``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from actors.jobs import keys
from actors.jobs.connections import BlockingSentinelPool, async_redis_client, redis_client
from actors.jobs.ref import JobRef
from actors.jobs.settings import JobSettings, SettingsError
from actors.jobs.states import JobStatus

from .support.sentinel import SentinelGroup
from .support.servers import RedisServer, redis_running
from .support.stack import engine_on

pytestmark = pytest.mark.slow


def sentinel_settings(sentinel_group: SentinelGroup) -> JobSettings:
    return JobSettings.defaults().model_copy(
        update={
            "redis_url": "redis://ignored-host:1/0",  # only its database applies
            "redis_sentinels": tuple(("127.0.0.1", port) for port in sentinel_group.sentinel_ports),
        }
    )


def test_a_sentinel_list_that_is_not_host_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_SENTINELS", "127.0.0.1:26379,localhost")
    with pytest.raises(SettingsError, match=r"REDIS_SENTINELS.*'localhost' is not host:port"):
        JobSettings.from_env()
    monkeypatch.setenv("REDIS_SENTINELS", " 10.0.0.1:26379, [::1]:26380 ")
    assert JobSettings.from_env().redis_sentinels == (("10.0.0.1", 26379), ("::1", 26380))


def test_clients_reach_the_primary_the_sentinels_name(sentinel_group: SentinelGroup) -> None:
    settings = sentinel_settings(sentinel_group)
    marker = f"written-{uuid.uuid4().hex}"
    redis_client(settings).set(marker, "1")
    assert sentinel_group.primary.client().get(marker) == b"1"

    async def through_the_async_pool() -> bytes | None:
        client = async_redis_client(settings, max_connections=2, timeout=5)
        try:
            return await client.get(marker)
        finally:
            await client.aclose()

    assert asyncio.run(through_the_async_pool()) == b"1"


def test_the_bounded_sentinel_pool_waits_for_a_connection_instead_of_failing(
    sentinel_group: SentinelGroup,
) -> None:
    """redis-py has no blocking pool that asks Sentinel: ours combines its two (connections.py)."""

    async def two_commands_on_one_connection() -> list[object]:
        client = async_redis_client(sentinel_settings(sentinel_group), max_connections=1, timeout=10)
        assert isinstance(client.connection_pool, BlockingSentinelPool)
        list_key = f"tests:list-{uuid.uuid4().hex}"
        try:
            # The first holds the pool's only connection until the second pushes, from a second
            # client: the first client's own second command waits for the connection to come back.
            waiting = asyncio.create_task(client.blpop([list_key], timeout=10))
            second = asyncio.create_task(client.get(list_key))
            pusher = async_redis_client(sentinel_settings(sentinel_group))
            await pusher.rpush(list_key, "x")
            await pusher.aclose()
            return [await waiting, await second]
        finally:
            await client.aclose()

    popped, after = asyncio.run(two_commands_on_one_connection())
    assert popped[1] == b"x" and after is None  # the second waited, and ran after the pop


def test_durable_writes_answer_a_terminal_change_once_the_replica_holds_it(
    sentinel_group: SentinelGroup,
) -> None:
    engine = engine_on(sentinel_group.primary, durable_writes=True)
    ref = JobRef(str(uuid.uuid4()))
    engine.store.create(ref, "quick_steps")
    engine.store.transition(ref, JobStatus.SUCCESS, result={"ok": True})
    # No wait on the test's side: WAIT returned only once the replica had the change.
    assert sentinel_group.replica.client().hget(keys.job(ref.job_id), "status") == b'"SUCCESS"'


def test_durable_writes_start_a_run_only_once_the_replica_holds_its_claim(
    sentinel_group: SentinelGroup,
) -> None:
    """A claim lost in a failover would let the promoted replica hand the job out again."""
    engine = engine_on(sentinel_group.primary, durable_writes=True)
    ref = JobRef(str(uuid.uuid4()))
    engine.store.create(ref, "quick_steps")
    run = JobRef(ref.job_id, run="a-run")
    waits_before = waits_on(sentinel_group.primary)
    assert engine.store.claim(run, lease=30, worker="w")["status"] == "STARTED"
    # The claim was answered after a WAIT (loopback replication alone would often be as quick).
    assert waits_on(sentinel_group.primary) == waits_before + 1
    held = sentinel_group.replica.client().hmget(keys.job(ref.job_id), "status", "_run")
    assert held == [b'"STARTED"', b'"a-run"']


def waits_on(server: RedisServer) -> int:
    """How many WAIT commands the server has run."""
    return int(server.client().info("commandstats").get("cmdstat_wait", {}).get("calls", 0))


def test_durable_writes_without_a_replica_say_the_change_is_on_the_primary_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with redis_running() as lone:
        store = engine_on(lone, durable_writes=True, redis_timeout=0.5).store
        ref = JobRef(str(uuid.uuid4()))
        store.create(ref, "quick_steps")
        with caplog.at_level(logging.WARNING, logger="jobs"):
            assert store.transition(ref, JobStatus.FAILURE, error={"type": "X", "message": "y"}) is not None
    assert f"Job {ref.job_id}: its change is on the primary only" in caplog.text


def test_a_lone_server_is_unchanged_by_the_sentinel_settings(redis_server: RedisServer) -> None:
    """Without ``REDIS_SENTINELS``, ``REDIS_URL`` is the server, as before."""
    settings = JobSettings.defaults().model_copy(update={"redis_url": redis_server.url})
    assert redis_client(settings).ping()
