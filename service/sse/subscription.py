"""What a stream holds while it watches: its topics, their channels, a bounded queue, and the
hub's signals.

A ``Subscription`` is made by ``EventHub.subscribe`` and read by one stream; a ``Topic`` is one job,
one group of one namespace, or a whole namespace, each published on its own Redis channel
(``channel_of``). The hub
offers each subscription the events of its topics and its signals (``RESYNC``, ``DROPPED``,
``SHUTDOWN``, ``REVOKED``); a queue that overflows drops its client rather than waiting on it.
"""

from __future__ import annotations

import asyncio
import logging
from enum import Enum
from typing import Final

from actors.jobs.events import JobEvent
from actors.jobs.keys import group_channel, job_channel, tenant_channel

logger = logging.getLogger("jobs.hub")

#: Longest wait, in seconds, of a new stream for Redis to confirm its channels (then it goes on).
DEFAULT_READY_TIMEOUT = 5.0


class _Signal:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: "You may have missed events: re-read the log from your last seq."
RESYNC: Final = _Signal("RESYNC")
#: "Your client fell too far behind; end the stream." (for subscriptions without a task)
DROPPED: Final = _Signal("DROPPED")
#: "This process is shutting down: tell the client to reconnect elsewhere, then end."
SHUTDOWN: Final = _Signal("SHUTDOWN")
#: "The key (or session) you were opened with ended: end now."
REVOKED: Final = _Signal("REVOKED")

Item = JobEvent | _Signal


class TopicKind(Enum):
    JOB = "job"
    GROUP = "group"
    TENANT = "tenant"


#: What a subscription watches: one job, every job of one group, of one namespace, or every job of
#: the namespace (its name then repeated as the topic's name).
Topic = tuple[TopicKind, str, str]


def channel_of(topic: Topic) -> str:
    kind, namespace, name = topic
    if kind is TopicKind.JOB:
        return job_channel(name)
    return group_channel(namespace, name) if kind is TopicKind.GROUP else tenant_channel(namespace)


class Channel:
    """A watched channel: its topic, and whether Redis has confirmed the subscription."""

    __slots__ = ("confirmed", "topic")

    def __init__(self, topic: Topic) -> None:
        self.topic = topic
        self.confirmed = asyncio.Event()


class Subscription:
    """What one stream receives: events for its jobs and the hub's signals.

    A stream marks ``blocked_since`` while a chunk is being sent; the hub's sweeper cancels
    ``task`` (the request's task, which also does the sending) when a send has been blocked for
    longer than the send timeout, or when the queue overflows: a client that stops reading is
    dropped, and its connection, task and queue are freed.

    The queue is a list made at its first item and one future while the stream waits, not an
    ``asyncio.Queue``: that holds three deques and an event of about 760 bytes each, 3 KiB for
    every idle stream (docs/scaling.md, "Memory per stream").

    A wait's timeout is one timer kept across waits, re-armed only when a wait must end sooner
    than it would: a change fanned out to 10,000 streams would otherwise make and cancel 10,000
    timers (one per stream's next wait). A wait may so end early, with no item: a stream then
    sends its heartbeat a little sooner than it had to.
    """

    __slots__ = (
        "_items",
        "_timer",
        "_waiter",
        "blocked_since",
        "channels",
        "dropped",
        "maxsize",
        "owners",
        "task",
        "topics",
    )

    def __init__(
        self,
        topics: frozenset[Topic],
        maxsize: int,
        task: asyncio.Task[object] | None,
        owners: tuple[str, ...] = (),
    ) -> None:
        self.topics = topics
        self.owners = owners  # the key and session it was opened with, whose end ends it
        self.maxsize = maxsize
        self.task = task
        self.blocked_since: float | None = None
        self.dropped = False
        self.channels: list[Channel] = []  # set by the hub
        self._items: list[Item] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def ready(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for Redis to confirm every channel this subscription
        needs; whether it did. (If not, Redis is unreachable: the stream goes on, and the hub's
        ``RESYNC`` on reconnecting fills what it missed.)"""
        try:
            async with asyncio.timeout(timeout):
                for channel in self.channels:
                    await channel.confirmed.wait()
        except TimeoutError:
            return False
        return True

    def offer(self, item: Item) -> None:
        if self.dropped:
            return
        if self._items is None:
            self._items = []
        elif len(self._items) >= self.maxsize:
            self.drop("it fell more than a queue behind")
            return
        self._items.append(item)
        self._wake()

    def drop(self, reason: str) -> None:
        if self.dropped:
            return
        self.dropped = True
        logger.info(
            "Dropping a stream of %s: %s", ", ".join(sorted(name for *_, name in self.topics)), reason
        )
        if self.task is not None:
            self._items = None
            self.task.cancel()
        else:
            self._items = [DROPPED]
            self._wake()

    async def next(self, timeout: float) -> Item | None:
        """The next item, or None when ``timeout`` seconds pass without one."""
        if not self._items:
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            ends_at = loop.time() + timeout
            if self._timer is None or self._timer.when() > ends_at:
                self.close()
                self._timer = loop.call_at(ends_at, self._time_up)
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.pop(0) if self._items else None

    def close(self) -> None:
        """Stop the wait's timer (the subscription ends, or its next wait is due sooner)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _time_up(self) -> None:
        self._timer = None
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None:
            _settle(self._waiter)


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
