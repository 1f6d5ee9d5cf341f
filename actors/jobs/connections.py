"""How every process reaches Redis: one server (``REDIS_URL``) or the primary Sentinel names.

Every Redis client of the service is made here, from the engine's settings, so that a failover
is followed the same way everywhere: the workers' and the web's clients, the web's bounded pool
and its event hub. With ``REDIS_SENTINELS`` set, each connection asks the Sentinels for the
current primary when it connects, and a connection that finds its server demoted (a read-only
answer) is closed, so the next command reaches the new primary; the commands in between meet a
connection error, which the callers' retry policies ride out (a few seconds for the workers,
0.35 s for a web request, which answers 503 after). ``REDIS_URL``'s database, user name and
password still apply to the primary; its host and port are not used.

The web's pool blocks for a free connection instead of failing (``BlockingConnectionPool``);
redis-py has no blocking pool that asks Sentinel, so ``BlockingSentinelPool`` combines its two
pools. That combination leans on how the two classes call each other (``tests/test_replication.py``
pins it, with ``pyproject.toml``'s bound on redis-py).
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.connection import parse_url
from redis.sentinel import Sentinel

from .settings import JobSettings

#: What a connection to a Sentinel may take; Sentinels answer at once or are skipped.
SENTINEL_TIMEOUT_S = 1.0


class BlockingSentinelPool(AsyncSentinelPool, aioredis.BlockingConnectionPool):
    """A pool of connections to the primary the Sentinels name, which waits (up to its
    ``timeout``) for a free connection once ``max_connections`` are in use."""


def redis_client(settings: JobSettings, **options: Any) -> redis.Redis:
    """A synchronous client of the service's Redis (the workers', the engine's)."""
    if not settings.redis_sentinels:
        return redis.Redis.from_url(settings.redis_url, **options)
    sentinel = Sentinel(settings.redis_sentinels, sentinel_kwargs=_sentinel_options(settings))
    return sentinel.master_for(settings.redis_sentinel_service, **_primary_options(settings), **options)


def async_redis_client(
    settings: JobSettings, *, max_connections: int | None = None, **options: Any
) -> aioredis.Redis:
    """An asyncio client of the service's Redis; with ``max_connections``, a bounded pool that
    waits up to ``options["timeout"]`` for a free connection."""
    if not settings.redis_sentinels:
        if max_connections is None:
            return aioredis.Redis.from_url(settings.redis_url, **options)
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=max_connections, **options
        )
        return aioredis.Redis(connection_pool=pool)
    sentinel = AsyncSentinel(settings.redis_sentinels, sentinel_kwargs=_sentinel_options(settings))
    bounded = {"connection_pool_class": BlockingSentinelPool, "max_connections": max_connections}
    return sentinel.master_for(
        settings.redis_sentinel_service,
        **_primary_options(settings),
        **(bounded if max_connections is not None else {}),
        **options,
    )


def _primary_options(settings: JobSettings) -> dict[str, Any]:
    """What ``REDIS_URL`` says of the primary besides where it is: database and credentials."""
    parsed = parse_url(settings.redis_url)
    return {name: parsed[name] for name in ("db", "username", "password") if parsed.get(name) is not None}


def _sentinel_options(settings: JobSettings) -> dict[str, Any]:
    password = settings.redis_sentinel_password.get_secret_value()
    return {
        "socket_connect_timeout": SENTINEL_TIMEOUT_S,
        "socket_timeout": SENTINEL_TIMEOUT_S,
        **({"password": password} if password else {}),
    }
