"""Fair share between namespaces (tenants): one namespace's flood never keeps another's job waiting
for a thread.

Each worker process keeps ``reserve`` of its threads (``FAIR_SHARE_RESERVE``, one by default) for
namespaces that run nothing in it: a namespace that already runs a job here may not take the
last free threads, so a job of another namespace finds a thread as soon as it is fetched, however
many heavy jobs the first one queued. Its messages are fetched in turn all the same; one that may
not start is *parked*: kept, as sent, in its namespace's list in Redis (``keys.parked``), and its
job stays PENDING. Each time a job of that namespace ends here, one of its parked messages goes
back to its queue; every heartbeat, a process with free threads sends back as many as it has
free, so a parked job is never stranded by the process that parked it going away. A message
sent back that still may not start is parked again; one whose job ended meanwhile (cancelled) is
skipped, and the next is sent back at once.

The reserve is kept once the fleet serves more than one namespace (``keys.NAMESPACES``: each
namespace that has created a job, written by the store's script, or been named by its owner
ahead of its first job, ``note_namespace``; a tenant's first key does), so a deployment of one
tenant uses every thread. With one thread there is nothing to reserve.

Parking is crash-safe in one direction: a message is listed before its fetched copy is
acknowledged, and sent back before it is removed from the list, so a process that dies in between
leaves two copies of a message (the job's fencing runs it once), never none.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter

import dramatiq
import redis

from . import keys, scripts
from .encoding import text
from .errors import REDIS_UNAVAILABLE_ERRORS, StoreUnavailable

logger = logging.getLogger("jobs.fairness")

#: Threads of each worker process kept for namespaces that run nothing in it.
DEFAULT_RESERVE = 1
#: Option carried by a message sent back from its namespace's parked list.
PARKED_OPTION = "parked"


def namespace_noted(namespace: str) -> tuple[str, dict[str, float]]:
    """The key and member that say ``namespace`` is served (for a caller's own ``ZADD ... NX``:
    the web notes a tenant when it makes its first key, before it has any job)."""
    return keys.NAMESPACES, {namespace: time.time()}


class FairShare:
    def __init__(self, *, client: redis.Redis, reserve: int = DEFAULT_RESERVE) -> None:
        self.client = client
        self.reserve = reserve
        #: This process's threads (known once its worker boots) and whether more than one
        #: namespace is served (read every heartbeat): the reserve is kept only with both.
        self.threads = 0
        self.shared = False
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._any_parked = False  # whether any message may be parked (so that sending back is worth a look)
        self._unpark = client.register_script(scripts.sources()["unpark"])

    @property
    def keeping_reserve(self) -> bool:
        return self.shared and self.reserve > 0 and self.threads > 1

    def admit(self, namespace: str) -> bool:
        """Whether a job of ``namespace`` may start here now; if so it counts as running until
        ``leave``. A namespace running nothing here is always admitted."""
        with self._lock:
            running = sum(self._running.values())
            free_after = self.threads - running - 1
            if self._running[namespace] and self.keeping_reserve and free_after < self.reserve:
                return False
            self._running[namespace] += 1
            return True

    def admit_or_park(self, namespace: str, message: dramatiq.Message) -> bool:
        """``admit``; a message not admitted is parked (and False). While Redis cannot take it,
        it is admitted past its share rather than kept nowhere."""
        if self.admit(namespace):
            return True
        try:
            self.park(namespace, message)
        except REDIS_UNAVAILABLE_ERRORS:
            with self._lock:
                self._running[namespace] += 1
            return True
        logger.info(
            "Job %s parked type=%s: tenant %s holds its share of this worker's threads",
            message.message_id,
            message.actor_name,
            namespace,
            extra={"job_id": message.message_id, "job_type": message.actor_name},
        )
        return False

    def leave(self, namespace: str, *, broker: dramatiq.Broker | None = None) -> None:
        """A job of ``namespace`` admitted here is no longer running (ended, or skipped); with
        ``broker``, one of the namespace's parked messages goes back to its queue."""
        with self._lock:
            self._running[namespace] -= 1
            if self._running[namespace] <= 0:
                del self._running[namespace]
        if broker is not None:
            with contextlib.suppress(StoreUnavailable, *REDIS_UNAVAILABLE_ERRORS):
                self.send_back(broker, namespace)  # else the heartbeat's round sends it back later

    def park(self, namespace: str, message: dramatiq.Message) -> None:
        """Keep ``message`` (not admitted) in its namespace's list until a thread is free for it."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.rpush(keys.parked(namespace), message.encode())
            pipe.sadd(keys.PARKED, namespace)
            pipe.execute()
        self._any_parked = True

    def send_back(self, broker: dramatiq.Broker, namespace: str) -> bool:
        """Send the oldest parked message of ``namespace`` back to its queue; whether there was one
        (no round trip while nothing has been parked)."""
        if not self._any_parked:
            return False
        raw = self.client.lindex(keys.parked(namespace), 0)
        if raw is None:
            return False
        message = dramatiq.Message.decode(raw)
        broker.enqueue(message.copy(options={PARKED_OPTION: True}))
        self._unpark(keys=[keys.parked(namespace), keys.PARKED], args=[raw, namespace])
        return True

    def on_beat(self, broker: dramatiq.Broker) -> None:
        """Each heartbeat: learn whether more than one namespace is served, and send back as many
        parked messages as this process has free threads (those of namespaces running nothing
        here first)."""
        try:
            self.shared = self.client.zcard(keys.NAMESPACES) > 1
            parked = sorted(text(name) for name in self.client.smembers(keys.PARKED))
            self._any_parked = bool(parked)
            with self._lock:
                free = self.threads - sum(self._running.values())
                parked.sort(key=lambda namespace: self._running[namespace])
            for namespace in parked[: max(free, 0)]:
                self.send_back(broker, namespace)
        except REDIS_UNAVAILABLE_ERRORS as exc:
            logger.info("Fair share's round skipped: Redis unavailable (%s)", exc)
