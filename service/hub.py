"""The fan-out hub: one Redis pub/sub connection per web process, a bounded queue per stream.

Every job change is published on ``keys.EVENTS_CHANNEL``; the hub reads that channel on its own
connection (DESIGN invariant 4) and hands each event to the subscriptions watching its job. The
wake-up is never the source of truth: each time the hub (re)subscribes it sends every
subscription ``RESYNC``, telling the stream to re-read the job's log from the last ``seq`` it
sent, so an outage loses no event. A subscription whose queue fills up (its client stopped
reading) is marked dropped and gets ``DROPPED``; the hub never waits on a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Final

import redis.asyncio as aioredis

from actors import keys
from actors.records import REDIS_UNAVAILABLE_ERRORS, JobEvent
from actors.settings import DEFAULT_SSE_QUEUE_SIZE

logger = logging.getLogger("jobs.hub")

#: Seconds of silence after which the hub pings Redis to prove its connection is alive.
DEFAULT_PING_INTERVAL = 10.0
#: Shortest and longest wait between two reconnection attempts, in seconds.
MIN_BACKOFF = 0.05
DEFAULT_MAX_BACKOFF = 2.0


class _Signal:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: "You may have missed events: re-read the log from your last seq."
RESYNC: Final = _Signal("RESYNC")
#: "Your client fell too far behind; end the stream."
DROPPED: Final = _Signal("DROPPED")

Item = JobEvent | _Signal


class Subscription:
    """What one stream receives: events for its jobs, ``RESYNC`` and ``DROPPED``."""

    __slots__ = ("dropped", "job_ids", "queue")

    def __init__(self, job_ids: frozenset[str], maxsize: int) -> None:
        self.job_ids = job_ids
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize)
        self.dropped = False

    def offer(self, item: Item) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(DROPPED)

    async def next(self, timeout: float) -> Item | None:
        """The next item, or None when ``timeout`` seconds pass without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class EventHub:
    def __init__(
        self,
        *,
        client: aioredis.Redis,
        channel: str = keys.EVENTS_CHANNEL,
        queue_size: int = DEFAULT_SSE_QUEUE_SIZE,
        ping_interval: float = DEFAULT_PING_INTERVAL,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
    ) -> None:
        self.client = client
        self.channel = channel
        self.queue_size = queue_size
        self.ping_interval = ping_interval
        self.max_backoff = max_backoff
        self.connected = False
        self._by_job: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subs in list(self._by_job.values()):
            for sub in subs:
                sub.offer(DROPPED)
        await self.client.aclose()

    @contextlib.contextmanager
    def subscribe(self, *job_ids: str) -> Iterator[Subscription]:
        """Watch ``job_ids`` for as long as the ``with`` block lasts."""
        sub = Subscription(frozenset(job_ids), self.queue_size)
        for job_id in sub.job_ids:
            self._by_job[job_id].add(sub)
        try:
            yield sub
        finally:
            for job_id in sub.job_ids:
                watchers = self._by_job.get(job_id)
                if watchers is not None:
                    watchers.discard(sub)
                    if not watchers:
                        del self._by_job[job_id]

    async def _run(self) -> None:
        backoff = MIN_BACKOFF
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the hub must outlive any single failure
                if self.connected:
                    logger.warning("Event hub lost Redis (%s); reconnecting", exc)
                    backoff = MIN_BACKOFF
                elif not isinstance(exc, REDIS_UNAVAILABLE_ERRORS):
                    logger.exception("Event hub failed; reconnecting")
                self.connected = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _listen(self) -> None:
        async with self.client.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            while True:
                message = await pubsub.get_message(timeout=self.ping_interval)
                if message is None:
                    await pubsub.ping()
                elif message["type"] == "subscribe":
                    self.connected = True
                    logger.info("Event hub subscribed to %s", self.channel)
                    self._broadcast(RESYNC)
                elif message["type"] == "message":
                    self._dispatch(message["data"])

    def _dispatch(self, payload: bytes) -> None:
        try:
            event = JobEvent.from_wakeup(payload)
        except (ValueError, KeyError):
            logger.warning("Ignoring a malformed wake-up message: %.200r", payload)
            return
        for sub in self._by_job.get(event.job_id, ()):
            sub.offer(event)

    def _broadcast(self, item: Item) -> None:
        for sub in {sub for subs in self._by_job.values() for sub in subs}:
            sub.offer(item)
