"""The fan-out hub: one Redis pub/sub connection per web process, a bounded queue per stream.

Every job change is published on its job's channel, its group's and its namespace's
(``keys.job_channel``, ``keys.group_channel``, ``keys.tenant_channel``). The hub subscribes, on
its own connection (docs/design.md, invariant 4), to the channels of the topics its streams
watch, and only those, so events nobody here watches never reach this process
(docs/scaling.md); it hands each event to the subscriptions watching its ``Topic`` (a job, a
group, or a whole tenant).

A stream reads its job's log only once its channels are confirmed by Redis (``ready``), so no
event falls between the log and the wake-ups. The wake-up is never the source of truth: each
time the hub (re)subscribes it sends the watchers ``RESYNC``, telling the stream to re-read the
job's log from the last ``seq`` it sent, so an outage loses no event. A subscription whose queue
fills up (its client stopped reading) is marked dropped and gets ``DROPPED``; the hub never
waits on a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator

import redis.asyncio as aioredis

from actors.jobs.errors import REDIS_UNAVAILABLE_ERRORS
from actors.jobs.events import JobEvent
from actors.jobs.keys import EVENTS_CHANNEL

from .subscription import (
    RESYNC,
    REVOKED,
    SHUTDOWN,
    Channel,
    Item,
    Subscription,
    Topic,
    TopicKind,
    channel_of,
)

logger = logging.getLogger("jobs.hub")

#: Seconds of silence after which the hub pings Redis to prove its connection is alive.
DEFAULT_PING_INTERVAL = 10.0
#: Shortest and longest wait between two reconnection attempts, in seconds.
MIN_BACKOFF = 0.05
DEFAULT_MAX_BACKOFF = 2.0


class EventHub:
    def __init__(
        self,
        *,
        client: aioredis.Redis,
        queue_size: int,
        send_timeout: float,
        channel: str = EVENTS_CHANNEL,
        revoked_channel: str | None = None,
        on_revoked: Callable[[str | None], object] | None = None,
        ended_owners: Callable[[list[str]], Awaitable[list[str]]] | None = None,
        ping_interval: float = DEFAULT_PING_INTERVAL,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
    ) -> None:
        self.client = client
        self.channel = channel
        self.revoked_channel = revoked_channel  # where revoked keys' and ended sessions' ids are published
        # Told each revoked key's (or ended session's) id, and None on (re)connecting: any may have
        # ended meanwhile (it then checks the owners of the open subscriptions).
        self.on_revoked = on_revoked
        # Which of the given owners have ended: asked after each reconnection, since an end
        # published while the hub was away was never heard.
        self.ended_owners = ended_owners
        self._checks: set[asyncio.Task[None]] = set()
        self.queue_size = queue_size
        self.send_timeout = send_timeout
        self.ping_interval = ping_interval
        self.max_backoff = max_backoff
        self.connected = False
        self.shutting_down = False
        self.dropped_total = 0
        self.events_sent = 0
        self.wakeups_received = 0  # every job event this process was sent (all watched, by design)
        self._by_topic: defaultdict[Topic, set[Subscription]] = defaultdict(set)
        self._by_owner: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._channels: dict[str, Channel] = {}  # every watched topic's channel, by name
        self._unconfirmed: Counter[str] = Counter()  # SUBSCRIBEs sent and not yet confirmed
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (un)subscribe, in order
        self._subscriptions: set[Subscription] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._empty = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="event-hub"),
            asyncio.create_task(self._sweep(), name="event-hub-sweeper"),
        ]

    def begin_shutdown(self) -> None:
        """Ask every stream to send its client elsewhere and end (graceful shutdown, step one)."""
        self.shutting_down = True
        self._broadcast(SHUTDOWN)

    async def drained(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every subscription to end; True if they did."""
        if not self._subscriptions:
            return True
        self._empty.clear()
        try:
            await asyncio.wait_for(self._empty.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._broadcast(SHUTDOWN)
        await self.client.aclose()

    def stats(self) -> dict[str, int | bool]:
        return {
            "hub_connected": self.connected,
            "subscriptions": len(self._subscriptions),
            "watched_jobs": sum(1 for kind, *_ in self._by_topic if kind is TopicKind.JOB),
            "watched_groups": sum(1 for kind, *_ in self._by_topic if kind is TopicKind.GROUP),
            "watched_tenants": sum(1 for kind, *_ in self._by_topic if kind is TopicKind.TENANT),
            "dropped_total": self.dropped_total,
            "events_sent": self.events_sent,
            "wakeups_received": self.wakeups_received,
        }

    @contextlib.contextmanager
    def subscribe(
        self,
        *job_ids: str,
        namespace: str,
        group: str | None = None,
        whole_namespace: bool = False,
        owners: tuple[str, ...] = (),
        cancel_on_drop: bool = True,
    ) -> Iterator[Subscription]:
        """Watch ``job_ids`` (or every job of ``group``, or with ``whole_namespace`` every job
        there is) of ``namespace`` for as long as the
        ``with`` block lasts; the end of any of its ``owners`` (a key revoked, a session ended)
        sends it ``REVOKED``.

        With ``cancel_on_drop`` the calling task is cancelled if its client stops reading;
        otherwise the subscription receives ``DROPPED``.
        """
        task = asyncio.current_task() if cancel_on_drop else None
        topics = {(TopicKind.JOB, namespace, job_id) for job_id in job_ids}
        if group is not None:
            topics.add((TopicKind.GROUP, namespace, group))
        if whole_namespace:
            topics.add((TopicKind.TENANT, namespace, namespace))
        sub = Subscription(frozenset(topics), self.queue_size, task, owners)
        self._subscriptions.add(sub)
        for owner in owners:
            self._by_owner[owner].add(sub)
        for topic in sub.topics:
            watchers = self._by_topic[topic]
            if not watchers:
                self._watch(topic)
            watchers.add(sub)
            sub.channels.append(self._channels[channel_of(topic)])
        if self.shutting_down:
            sub.offer(SHUTDOWN)
        try:
            yield sub
        finally:
            sub.close()
            self._subscriptions.discard(sub)
            if not self._subscriptions:
                self._empty.set()
            if sub.dropped:
                self.dropped_total += 1
            for owner in owners:
                self._by_owner[owner].discard(sub)
                if not self._by_owner[owner]:
                    del self._by_owner[owner]
            for topic in sub.topics:
                watchers = self._by_topic.get(topic)
                if watchers is not None:
                    watchers.discard(sub)
                    if not watchers:
                        del self._by_topic[topic]
                        self._unwatch(topic)

    def _watch(self, topic: Topic) -> None:
        name = channel_of(topic)
        self._channels[name] = Channel(topic)
        self._outbox.put_nowait(("subscribe", name))

    def _unwatch(self, topic: Topic) -> None:
        name = channel_of(topic)
        del self._channels[name]
        self._outbox.put_nowait(("unsubscribe", name))

    def owners(self) -> list[str]:
        """Every owner (key or session id) of an open subscription."""
        return list(self._by_owner)

    def end_owned_by(self, owner: str) -> None:
        """Tell every subscription of ``owner`` that it ended (revoked, logged out)."""
        for sub in list(self._by_owner.get(owner, ())):
            sub.offer(REVOKED)

    async def _end_lapsed_owners(self) -> None:
        assert self.ended_owners is not None
        try:
            for owner in await self.ended_owners(self.owners()):
                self.end_owned_by(owner)
        except Exception as exc:  # Redis went again: the next reconnection asks again
            logger.info("Could not check the open streams' keys and sessions: %s", exc)

    async def _sweep(self) -> None:
        """Drop streams whose client has not taken a chunk for ``send_timeout`` seconds."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.send_timeout / 4))
            stalled_before = loop.time() - self.send_timeout
            for sub in list(self._subscriptions):
                if sub.blocked_since is not None and sub.blocked_since < stalled_before:
                    sub.drop(f"its client took no data for {self.send_timeout:g} s")

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
        for channel in self._channels.values():
            channel.confirmed.clear()
        self._unconfirmed.clear()
        # What was asked before this connection, it subscribes to anyway; what is asked from now
        # on goes through the outbox (no await between the two lines: nothing falls between).
        self._outbox = asyncio.Queue()
        watched = list(self._channels)
        async with self.client.pubsub() as pubsub:
            # The control channel last: its confirmation means every watched one is confirmed too.
            self._unconfirmed.update(watched)
            await pubsub.subscribe(*watched, *filter(None, (self.revoked_channel, self.channel)))
            writer = asyncio.create_task(self._send_changes(pubsub), name="event-hub-subscriber")
            try:
                await self._read(pubsub, writer)
            finally:
                writer.cancel()

    async def _read(self, pubsub: aioredis.client.PubSub, writer: asyncio.Task[None]) -> None:
        while True:
            if writer.done():
                writer.result()  # a failed (un)subscribe: the connection is gone
            message = await pubsub.get_message(timeout=self.ping_interval)
            if message is None:
                await pubsub.ping()
                continue
            kind, channel = message["type"], message.get("channel")
            name = channel.decode() if isinstance(channel, bytes) else ""
            if kind == "message" and name == self.revoked_channel:  # its streams end now
                owner = message["data"].decode()
                if self.on_revoked is not None:
                    self.on_revoked(owner)
                self.end_owned_by(owner)
            elif kind == "message":
                self.wakeups_received += 1
                self._dispatch(name, message["data"])
            elif kind == "subscribe" and name == self.channel:
                self.connected = True
                if self.on_revoked is not None:
                    self.on_revoked(None)
                if self.ended_owners is not None and self._by_owner:
                    check = asyncio.create_task(self._end_lapsed_owners(), name="event-hub-owners")
                    self._checks.add(check)
                    check.add_done_callback(self._checks.discard)
                count = len(self._channels)
                logger.info("Event hub subscribed to %d %s", count, "channel" if count == 1 else "channels")
                self._broadcast(RESYNC)
            elif kind == "subscribe":
                self._confirmed(name)

    async def _send_changes(self, pubsub: aioredis.client.PubSub) -> None:
        """Send the (un)subscriptions streams ask for, in the order they asked."""
        while True:
            change, name = await self._outbox.get()
            if change == "subscribe" and name in self._channels:
                self._unconfirmed[name] += 1
                await pubsub.subscribe(name)
            elif change == "unsubscribe" and name not in self._channels:
                await pubsub.unsubscribe(name)

    def _confirmed(self, name: str) -> None:
        channel = self._channels.get(name)
        if channel is None:
            return  # no longer watched
        if self._unconfirmed[name] <= 0:
            # Not one we asked for: the client re-subscribed by itself after reconnecting, and
            # the watchers may have missed events meanwhile.
            for sub in list(self._by_topic.get(channel.topic, ())):
                sub.offer(RESYNC)
        else:
            self._unconfirmed[name] -= 1
        if self._unconfirmed[name] <= 0:
            del self._unconfirmed[name]
            channel.confirmed.set()

    def _dispatch(self, name: str, payload: bytes) -> None:
        channel = self._channels.get(name)
        if channel is None:
            return  # published just before this process stopped watching it
        try:
            event = JobEvent.from_wakeup(payload)
        except (ValueError, KeyError):
            logger.warning("Ignoring a malformed wake-up message: %.200r", payload)
            return
        if (event.namespace or "") != channel.topic[1]:
            return
        for sub in list(self._by_topic.get(channel.topic, ())):
            sub.offer(event)

    def _broadcast(self, item: Item) -> None:
        for sub in list(self._subscriptions):
            sub.offer(item)
