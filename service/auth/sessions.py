"""Browser sessions, kept server-side: the cookie carries only a session's id (signed by quart-auth).

A session is a record in Redis naming the key it was opened with, its tenant, the key's role (a
viewer key's session only reads, as the key does) and when it ends; it
expires with Redis's own time to live. Logging out deletes it, and so does revoking its key
(``Credentials.revoke``); each end is published on the revocation channel, where every web
process's hub ends the streams and waits opened with it. A cookie replayed after any of these
names no session: 401. Every request reads its session (one round trip) and the session's key
(the key's record, remembered for at most a second), so an ended session or a revoked key stops
within a second everywhere.

Keys (named in ``credentials.py`` with the web side's others): ``auth:session:<id>`` (hash: key id,
tenant, role, end) and ``auth:key-sessions:<key_id>`` (set: the key's sessions, for its revocation).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from actors.jobs.encoding import text
from actors.jobs.errors import redis_errors_as_unavailable

from .credentials import MEMBER, REVOKED_CHANNEL, ApiKey, key_sessions, session_record


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    key: ApiKey
    #: When the session ends by itself (unix seconds).
    expires_at: float


class Sessions:
    def __init__(self, *, client: aioredis.Redis, lifetime: int) -> None:
        """``lifetime``: seconds a session lasts from its login (``SESSION_LIFETIME``)."""
        self.client = client
        self.lifetime = lifetime

    async def open(self, key: ApiKey) -> Session:
        """A new session of ``key``, for ``lifetime`` seconds."""
        session = Session(secrets.token_urlsafe(32), key, time.time() + self.lifetime)
        record = {
            "key_id": key.key_id,
            "tenant": key.tenant,
            "role": key.role,
            "expires_at": f"{session.expires_at:.3f}",
        }
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(session_record(session.session_id), mapping=record)
                pipe.expire(session_record(session.session_id), self.lifetime)
                pipe.sadd(key_sessions(key.key_id), session.session_id)
                # The key's list of sessions outlives the newest of them, then goes by itself.
                pipe.expire(key_sessions(key.key_id), self.lifetime)
                await pipe.execute()
        return session

    async def find(self, session_id: str) -> Session | None:
        """The live session ``session_id``; None once it ended (logged out, revoked, expired)."""
        with redis_errors_as_unavailable():
            record = await self.client.hgetall(session_record(session_id))
        if b"key_id" not in record:
            return None
        # A session opened before keys had roles is a member's: every key was one then.
        role = text(record.get(b"role", MEMBER.encode()))
        key = ApiKey(text(record[b"tenant"]), text(record[b"key_id"]), role)
        return Session(session_id, key, float(record[b"expires_at"]))

    async def end(self, session: Session) -> None:
        """End ``session`` everywhere: its record goes, and its streams are told."""
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(session_record(session.session_id))
                pipe.srem(key_sessions(session.key.key_id), session.session_id)
                pipe.publish(REVOKED_CHANNEL, session.session_id)
                await pipe.execute()
