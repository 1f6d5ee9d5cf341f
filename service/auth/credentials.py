"""Tenants' API keys and the service's signing secret, kept in Redis, async.

A key is shown once, when it is made: ``jk_<key_id>_<secret>``. Redis keeps only its SHA-256
(a key is 32 random bytes, so a fast hash is as strong as a slow one; nothing here is a
password) beside its tenant and its role, so a leaked Redis gives no usable key. A key's role is
``member`` (anything the tenant may do) or ``viewer`` (reads only: ``identity.py`` refuses its
changes); a key made before roles existed is a member. Revoking a key deletes it and
publishes its id on ``REVOKED_CHANNEL``, where each web process's hub ends that key's open
streams and drops it from the process's memory of verified keys; the key's browser sessions
(``sessions.py``) are deleted with it. That memory saves a request the round trip of reading its
key (``verify``, ``lookup``); it forgets each key after ``cache_ttl`` seconds (one) and everything
whenever the hub reconnects, so a revocation whose message was lost in an outage is honoured
within a second anyway.

The signing secret (browser sessions, stream tokens) is ``SECRET_KEY`` when set, else one made
once and kept in Redis, so every web process signs alike with nothing configured.

The web side's Redis keys are named here and nowhere else:

    auth:key:<key_id>        hash   tenant, sha256 of the key, role, created_at
    auth:tenant:<tenant>     set    the tenant's key ids
    auth:tenants             set    every tenant with a key
    auth:secret              string the generated signing secret
    auth:first-start         string held while one web process makes the local tenant's key
    auth:rate:<key_id>       string the key's rate-limit state (see limits.py)
    auth:session:<id>        hash   a browser session: key_id, tenant, expires_at (see sessions.py)
    auth:key-sessions:<kid>  set    the ids of a key's sessions, ended with it
    auth:failures:<client>   string failed authentications of one client this minute (throttle.py)
    auth:revoked             pubsub the id of each key revoked and of each session ended
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from actors.jobs.clock import utc_now
from actors.jobs.encoding import text
from actors.jobs.errors import redis_errors_as_unavailable
from actors.jobs.fairness import namespace_noted

PREFIX = "auth"
REVOKED_CHANNEL = f"{PREFIX}:revoked"
TENANTS = f"{PREFIX}:tenants"
SECRET = f"{PREFIX}:secret"
FIRST_START = f"{PREFIX}:first-start"
#: What a key looks like: ``jk_`` (a job-service key, easy to spot in a leak scanner), its id, a secret.
KEY_MARK = "jk"
#: Seconds a web process trusts a key it verified without reading it again.
DEFAULT_KEY_CACHE_TTL = 1.0
#: Keys remembered at most (then the memory starts afresh).
MAX_CACHED_KEYS = 10_000
#: A key's roles: a member does anything its tenant may; a viewer only reads.
MEMBER, VIEWER = "member", "viewer"
ROLES = (MEMBER, VIEWER)


def key_record(key_id: str) -> str:
    return f"{PREFIX}:key:{key_id}"


def tenant_keys(tenant: str) -> str:
    return f"{PREFIX}:tenant:{tenant}"


def rate_state(key_id: str) -> str:
    return f"{PREFIX}:rate:{key_id}"


def session_record(session_id: str) -> str:
    return f"{PREFIX}:session:{session_id}"


def key_sessions(key_id: str) -> str:
    return f"{PREFIX}:key-sessions:{key_id}"


def auth_failures(client: str) -> str:
    return f"{PREFIX}:failures:{client}"


@dataclass(frozen=True, slots=True)
class ApiKey:
    tenant: str
    key_id: str
    role: str = MEMBER


@dataclass(frozen=True, slots=True)
class _Known:
    """A key as read from Redis, trusted until ``until`` (monotonic seconds)."""

    sha256: str
    tenant: str
    role: str
    until: float


class Credentials:
    def __init__(self, *, client: aioredis.Redis, cache_ttl: float = DEFAULT_KEY_CACHE_TTL) -> None:
        self.client = client
        self.cache_ttl = cache_ttl
        self._verified: dict[str, _Known] = {}  # by key id

    async def create(self, tenant: str, role: str = MEMBER) -> tuple[ApiKey, str]:
        """A new key of ``tenant`` with ``role`` (one of ``ROLES``), and its secret form (shown
        once, never stored)."""
        if role not in ROLES:
            raise ValueError(f"A key's role is one of {', '.join(ROLES)}, not {role!r}")
        key_id = secrets.token_hex(8)
        secret = f"{KEY_MARK}_{key_id}_{secrets.token_urlsafe(32)}"
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(
                    key_record(key_id),
                    mapping={"tenant": tenant, "sha256": _digest(secret), "role": role, "at": utc_now()},
                )
                pipe.sadd(tenant_keys(tenant), key_id)
                pipe.sadd(TENANTS, tenant)
                # The workers keep a fair share of their threads for every tenant from now on.
                pipe.zadd(*namespace_noted(tenant), nx=True)
                await pipe.execute()
        return ApiKey(tenant, key_id, role), secret

    async def verify(self, secret: str) -> ApiKey | None:
        """The key ``secret`` is, if it is one that exists; None for anything else."""
        mark, _, rest = secret.partition("_")
        key_id, _, _ = rest.partition("_")
        if mark != KEY_MARK or not key_id:
            return None
        known = await self._known(key_id)
        if known is None or not hmac.compare_digest(known.sha256, _digest(secret)):
            return None
        return ApiKey(known.tenant, key_id, known.role)

    async def _known(self, key_id: str) -> _Known | None:
        """The key as stored, read again once ``cache_ttl`` has passed; None when there is no
        such key."""
        now = time.monotonic()
        known = self._verified.get(key_id)
        if known is None or known.until <= now:
            with redis_errors_as_unavailable():
                record = await self.client.hgetall(key_record(key_id))
            if b"sha256" not in record:
                self._verified.pop(key_id, None)
                return None
            if len(self._verified) >= MAX_CACHED_KEYS:
                self._verified.clear()
            role = text(record.get(b"role", MEMBER.encode()))
            known = _Known(text(record[b"sha256"]), text(record[b"tenant"]), role, now + self.cache_ttl)
            self._verified[key_id] = known
        return known

    def forget(self, key_id: str | None = None) -> None:
        """Stop trusting the verified key ``key_id`` (revoked), or every key (None: a revocation
        may have been missed)."""
        if key_id is None:
            self._verified.clear()
        else:
            self._verified.pop(key_id, None)

    async def lookup(self, key_id: str) -> ApiKey | None:
        """The key of ``key_id`` while it exists (for sessions and stream tokens, which name it)."""
        known = await self._known(key_id)
        return ApiKey(known.tenant, key_id, known.role) if known is not None else None

    async def list(self, tenant: str) -> list[dict[str, str]]:
        """The tenant's keys: ``{key_id, role, created_at}`` each, by key id."""
        with redis_errors_as_unavailable():
            key_ids = sorted(text(k) for k in await self.client.smembers(tenant_keys(tenant)))
            async with self.client.pipeline(transaction=False) as pipe:
                for key_id in key_ids:
                    pipe.hmget(key_record(key_id), "at", "role")
                found = await pipe.execute()
        return [
            {"key_id": key_id, "role": text(role) if role else MEMBER, "created_at": text(at)}
            for key_id, (at, role) in zip(key_ids, found, strict=True)
            if at is not None
        ]

    async def revoke(self, tenant: str, key_id: str) -> bool:
        """Revoke the tenant's key ``key_id`` at once, with its sessions; False when the tenant has
        no such key. (A session opened while this runs is refused anyway: every request looks its
        key up.)"""
        with redis_errors_as_unavailable():
            if await self.client.hget(key_record(key_id), "tenant") != tenant.encode():
                return False
            sessions = [text(s) for s in await self.client.smembers(key_sessions(key_id))]
            async with self.client.pipeline(transaction=True) as pipe:
                ended = [key_sessions(key_id), *map(session_record, sessions)]
                pipe.delete(key_record(key_id), rate_state(key_id), *ended)
                pipe.srem(tenant_keys(tenant), key_id)
                pipe.publish(REVOKED_CHANNEL, key_id)
                await pipe.execute()
        self.forget(key_id)
        return True

    async def ended(self, owners: list[str]) -> list[str]:
        """Those of ``owners`` (key ids and session ids, as streams hold them) that no longer exist."""
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=False) as pipe:
                for owner in owners:
                    pipe.exists(key_record(owner), session_record(owner))
                found = await pipe.execute()
        return [owner for owner, count in zip(owners, found, strict=True) if not count]

    async def tenants(self) -> list[str]:
        with redis_errors_as_unavailable():
            return sorted(text(name) for name in await self.client.smembers(TENANTS))

    async def any_key(self) -> bool:
        with redis_errors_as_unavailable():
            return bool(await self.client.scard(TENANTS))

    async def claim_first_start(self) -> bool:
        """True for the one web process that makes the first tenant's key (a minute's claim)."""
        with redis_errors_as_unavailable():
            return bool(await self.client.set(FIRST_START, "1", nx=True, ex=60))

    async def signing_secret(self) -> str:
        """The generated signing secret, made by the first web process that asks."""
        with redis_errors_as_unavailable():
            await self.client.set(SECRET, secrets.token_urlsafe(48), nx=True)
            return text(await self.client.get(SECRET))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
