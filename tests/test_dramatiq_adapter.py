"""Pins what the engine relies on in Dramatiq beyond its public API (``dramatiq_adapter.py``): each
test fails when a Dramatiq release changes it, before any job notices. CI runs these on the
lowest and the highest Dramatiq that ``pyproject.toml`` allows."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import redis
import redis.asyncio as aioredis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Middleware, Retries, SkipMessage
from dramatiq.worker import ConsumerThread
from redis.backoff import NoBackoff
from redis.retry import Retry

from actors.jobs import dramatiq_adapter
from actors.jobs.dramatiq_adapter import (
    dispatch_qsize,
    new_message_id,
    quiet_worker_warnings,
    retry_error,
    sending,
    stoppable_consumer,
)
from actors.jobs.ref import JobRef
from actors.jobs.store import JobStore

from .support.servers import RedisServer, free_port


@pytest.fixture
def flushed(redis_client: redis.Redis) -> redis.Redis:
    redis_client.flushall()
    return redis_client


def redis_broker(server: RedisServer, **options: int) -> RedisBroker:
    broker = RedisBroker(client=server.client(), namespace=f"pin-{uuid.uuid4().hex[:6]}", **options)
    broker.declare_queue("default")
    return broker


def test_dispatch_qsize_reports_the_worker_alive_and_changes_no_queue(
    redis_server: RedisServer, flushed: redis.Redis
) -> None:
    broker = redis_broker(redis_server)
    broker.enqueue(dramatiq.Message(queue_name="default", actor_name="a", args=(), kwargs={}, options={}))
    dispatch_qsize(broker, "default", maintenance=False)
    assert flushed.zscore(f"{broker.namespace}:__heartbeats__", broker.broker_id) is not None
    assert flushed.llen(f"{broker.namespace}:default") == 1


def test_dispatch_qsize_with_maintenance_sends_a_dead_workers_messages_back(
    redis_server: RedisServer, flushed: redis.Redis
) -> None:
    dead = redis_broker(redis_server, heartbeat_timeout=1)
    message = dramatiq.Message(queue_name="default", actor_name="a", args=(), kwargs={}, options={})
    queued = dead.enqueue(message).options["redis_message_id"]  # what the queue holds
    consumer = dead.consume("default", prefetch=1, timeout=100)
    assert next(m for m in consumer if m is not None).message_id == message.message_id  # fetched, unacked
    assert flushed.llen(f"{dead.namespace}:default") == 0
    flushed.zadd(f"{dead.namespace}:__heartbeats__", {dead.broker_id: 0})  # its last beat: long ago
    alive = RedisBroker(client=redis_server.client(), namespace=dead.namespace, heartbeat_timeout=1)
    dispatch_qsize(alive, "default", maintenance=True)
    assert flushed.lrange(f"{dead.namespace}:default", 0, -1) == [queued.encode()]


class _Sent(Middleware):
    """Keeps each message as it is sent (a retry carries what Retries kept of the failure)."""

    def __init__(self) -> None:
        self.sent: list[dramatiq.Message] = []

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int | None) -> None:
        self.sent.append(message)


class _Skips(Middleware):
    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if message.kwargs.get("skip"):
            raise SkipMessage()


@pytest.fixture
def stub() -> Iterator[tuple[StubBroker, _Sent]]:
    sent = _Sent()
    broker = StubBroker(middleware=[_Skips(), Retries(max_retries=1, min_backoff=1, max_backoff=1), sent])
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    yield broker, sent
    worker.stop()


def test_a_retried_message_carries_its_failure_as_retry_error_reads_it(
    stub: tuple[StubBroker, _Sent],
) -> None:
    broker, sent = stub

    def fails() -> None:
        raise ValueError("the ledger does not balance\nsecond line")

    actor = dramatiq.actor(fails, broker=broker, actor_name=f"fails_{uuid.uuid4().hex[:6]}")
    actor.send()
    broker.join(actor.queue_name, fail_fast=False)
    retry = next(message for message in sent.sent if message.options.get("retries"))
    assert retry_error(retry) == {"type": "ValueError", "message": "the ledger does not balance\nsecond line"}


def test_the_worker_warnings_the_engine_drops_are_still_worded_as_it_expects(
    stub: tuple[StubBroker, _Sent], caplog: pytest.LogCaptureFixture
) -> None:
    broker, _ = stub

    def answers(skip: bool = False) -> int:
        return 42

    actor = dramatiq.actor(answers, broker=broker, actor_name=f"answers_{uuid.uuid4().hex[:6]}")
    with caplog.at_level(logging.WARNING, logger=dramatiq_adapter.WORKER_LOGGER):
        actor.send()
        skipped = actor.send(skip=True)
        broker.join(actor.queue_name, fail_fast=False)
    worker_warnings = [r for r in caplog.records if r.name == dramatiq_adapter.WORKER_LOGGER]
    assert {"discarded", "skipped"} <= {_kind(record) for record in worker_warnings}
    quiet = quiet_worker_warnings({skipped.message_id})
    try:
        assert not any(quiet.filter(record) for record in worker_warnings)
        assert quiet.filter(logging.LogRecord("x", logging.WARNING, "", 0, "another warning", (), None))
    finally:
        logging.getLogger(dramatiq_adapter.WORKER_LOGGER).removeFilter(quiet)


def _kind(record: logging.LogRecord) -> str:
    if "Results middleware" in record.getMessage():
        return "discarded"
    return "skipped" if "was skipped" in record.getMessage() else "other"


def test_a_new_message_id_is_one_dramatiq_would_make() -> None:
    made = dramatiq.Message(queue_name="q", actor_name="a", args=(), kwargs={}, options={}).message_id
    assert uuid.UUID(made).version == uuid.UUID(new_message_id()).version == 4


def test_a_stoppable_consumer_fetches_and_acks_as_the_brokers_own(
    redis_server: RedisServer, flushed: redis.Redis
) -> None:
    broker = redis_broker(redis_server)
    message = broker.enqueue(
        dramatiq.Message(queue_name="default", actor_name="a", args=(), kwargs={}, options={})
    )
    consumer = stoppable_consumer(broker, "default", 1, 100, stopping=threading.Event())
    fetched = next(m for m in consumer if m is not None)
    assert fetched.message_id == message.message_id
    acks = f"{broker.namespace}:__acks__.{broker.broker_id}.default"
    assert flushed.scard(acks) == 1, "fetched: held in this worker's acks until acknowledged"
    consumer.ack(fetched)
    assert flushed.scard(acks) == 0


def test_a_stoppable_consumer_gives_up_an_ack_only_once_the_worker_stops() -> None:
    """While the worker runs, an ack Redis cannot take raises what Dramatiq's worker threads retry
    until Redis answers; once it stops, the ack is given up. A requeue raises what ``Worker.stop``
    logs and goes past, a ``BrokerConnectionError``."""
    unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    broker = RedisBroker(client=unreachable, namespace="pin-gone")
    stopping = threading.Event()
    consumer = stoppable_consumer(broker, "default", 1, 100, stopping=stopping)
    message = MessageProxy(
        dramatiq.Message(
            queue_name="default", actor_name="a", args=(), kwargs={}, options={"redis_message_id": "m"}
        )
    )
    for settle in (consumer.ack, consumer.nack):
        with pytest.raises(BrokerConnectionError):
            settle(message)
    with pytest.raises(BrokerConnectionError):
        consumer.requeue([message])
    stopping.set()
    consumer.ack(message)
    consumer.nack(message)
    assert "except BrokerConnectionError" in inspect.getsource(dramatiq.Worker.stop), "requeue failures pass"
    assert "except BrokerConnectionError" in inspect.getsource(ConsumerThread.post_process_message)


def test_a_message_the_create_script_sends_is_consumed_as_one_the_broker_enqueued(
    redis_server: RedisServer, flushed: redis.Redis
) -> None:
    """The web's submit writes the message as the broker's dispatch script does (``sending``)."""
    broker = redis_broker(redis_server)
    message = dramatiq.Message(queue_name="default", actor_name="a", args=(), kwargs={}, options={})
    queued, send = sending(broker, message)

    async def send_it() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        try:
            store = JobStore(client=redis_server.client())
            await store.create_and_send(
                client, JobRef(message.message_id), "a", message=queued.encode(), send=send
            )
        finally:
            await client.aclose()

    asyncio.run(send_it())
    ours = {key.decode() for key in flushed.keys(f"{broker.namespace}:*")}
    broker.enqueue(dramatiq.Message(queue_name="default", actor_name="a", args=(), kwargs={}, options={}))
    assert {key.decode() for key in flushed.keys(f"{broker.namespace}:*")} - {
        f"{broker.namespace}:__heartbeats__"
    } == ours, "the broker's own enqueue writes the keys ours writes, and no other (but its heartbeat)"
    consumer = broker.consume("default", prefetch=1, timeout=100)
    fetched = next(m for m in consumer if m is not None)
    assert fetched.message_id == message.message_id
    assert fetched.options["redis_message_id"] == send.redis_message_id
    consumer.ack(fetched)
    assert flushed.hlen(f"{broker.namespace}:default.msgs") == 1, "acknowledged: gone, the broker's stays"
