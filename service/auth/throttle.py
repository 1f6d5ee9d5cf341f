"""Failed authentication, throttled per client: guessing keys or the admin token costs the guesser.

Every credential presented and found wrong (a key, the admin token, a stream token, a session
that has ended, a login's key) is counted against the client's address, in Redis, so that every
web process counts the same failures: one ``INCR`` whose key expires a minute after the client's
first failure. Past ``AUTH_FAILURES_PER_MINUTE`` failures the client is refused with 429
``too_many_failures`` (and ``Retry-After``) until that minute is over, before its credentials
are looked at, right or wrong. Each web process remembers the clients it refused until then, so
an honest request costs no round trip: a process refuses a client from the first failure past
the limit it sees itself. A request that presents no credential is not a guess and is not counted.

The client's address is the connection's, or the one a trusted proxy names (``PROXY_HOPS``).
"""

from __future__ import annotations

import math
import time

import redis.asyncio as aioredis

from actors.jobs.errors import redis_errors_as_unavailable

from ..errors import TooManyRequests
from .credentials import auth_failures

#: The window failures are counted in, from a client's first failure, in seconds.
WINDOW_S = 60
#: Clients a process remembers refusing at most (then it starts afresh; Redis still counts).
MAX_REMEMBERED = 10_000


class FailureThrottle:
    def __init__(self, *, client: aioredis.Redis, per_minute: int) -> None:
        """``per_minute``: failed authentications one client may make a minute (0: no limit)."""
        self.client = client
        self.per_minute = per_minute
        self._refused_until: dict[str, float] = {}  # client address -> monotonic end of its refusal

    def check(self, address: str) -> None:
        """Refuse ``address`` (429) while it is past its failures for the minute."""
        until = self._refused_until.get(address)
        if until is None:
            return
        wait = until - time.monotonic()
        if wait <= 0:
            del self._refused_until[address]
            return
        raise self._refusal(wait)

    async def failed(self, address: str) -> None:
        """Count a failed authentication of ``address``; raises 429 once it is past the limit."""
        if self.per_minute <= 0:
            return
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(auth_failures(address))
                pipe.expire(auth_failures(address), WINDOW_S, nx=True)
                pipe.pttl(auth_failures(address))
                failures, _, ttl_ms = await pipe.execute()
        if failures > self.per_minute:
            if len(self._refused_until) >= MAX_REMEMBERED:
                self._refused_until.clear()
            wait = max(ttl_ms, 0) / 1000
            self._refused_until[address] = time.monotonic() + wait
            raise self._refusal(wait)

    def _refusal(self, wait: float) -> TooManyRequests:
        return TooManyRequests(
            f"Too many failed authentications from this client; retry in {math.ceil(wait)} s",
            code="too_many_failures",
            retry_after=math.ceil(wait),
        )
