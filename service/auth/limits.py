"""Request rates per key, in Redis, so every web process counts the same requests.

A generic cell rate algorithm (GCRA, the token bucket's exact cousin) in one Lua script: each key
has a "theoretical arrival time"; a request moves it on by ``60 / per_minute`` seconds, and is
refused while it lies more than a minute ahead, with the wait until it is not as
``Retry-After``. One script per request (a ``GET`` and a ``SET`` inside), atomic across
processes, and the state expires by itself. The time is the web process's own clock: a skew of
milliseconds between processes moves nothing that matters against a minute. (quart-rate-limiter
does the same per route and per process store; a per-key budget across every route and process
is what a tenant's key is promised, hence this one script.)
"""

from __future__ import annotations

import math
import time

import redis.asyncio as aioredis

from actors.jobs.errors import redis_errors_as_unavailable

from .credentials import rate_state

#: KEYS: the key's state. ARGV: the interval between requests (µs), the burst allowance (µs), the
#: time (unix µs). Returns 0 when the request may go, else the µs to wait.
_GCRA = """
local interval, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > burst then return tat - now - burst end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
return 0
"""


class RateLimiter:
    def __init__(self, *, client: aioredis.Redis, per_minute: int) -> None:
        """``per_minute`` requests a minute per key, all of them at once if none came before."""
        self.per_minute = per_minute
        self._interval_us = 60_000_000 // max(per_minute, 1)
        self._burst_us = 60_000_000 - self._interval_us
        self._script = client.register_script(_GCRA)

    async def wait(self, key_id: str) -> int:
        """0 when the key may make this request now, else the whole seconds to wait first."""
        if self.per_minute <= 0:
            return 0
        with redis_errors_as_unavailable():
            micros = int(
                await self._script(
                    keys=[rate_state(key_id)],
                    args=[self._interval_us, self._burst_us, time.time_ns() // 1000],
                )
            )
        return math.ceil(micros / 1_000_000) if micros else 0
