"""The job store's read side, for the web process: snapshots, event logs and listings, async.

Writes happen only in ``store.py`` (one Lua script); this module reads what it wrote, turning
Redis outages into ``StoreUnavailable`` so the API can answer 503. A reader reads within one
namespace (``reader.within(namespace)``): a job of another namespace is not found, with the same
answer and the same Redis round trips as a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from . import keys
from .events import (
    GROUP_LOG_START,
    JobEvent,
    decode_snapshot,
    is_valid_job_id,
    owned_by,
    redis_errors_as_unavailable,
    text,
)

#: Index entries read per round trip while filling a page of a listing.
LIST_BATCH = 200


class JobReader:
    def __init__(
        self, *, client: aioredis.Redis, fields: Sequence[str], namespace: str | None = None
    ) -> None:
        """``fields``: the snapshot's fields in API order (the writing store's ``fields``)."""
        self.client = client
        self.fields = tuple(fields)
        self._namespace = namespace

    def within(self, namespace: str) -> JobReader:
        """This reader, reading in ``namespace`` (the same connection pool)."""
        return JobReader(client=self.client, fields=self.fields, namespace=namespace)

    @property
    def namespace(self) -> str:
        if self._namespace is None:
            raise RuntimeError("read within a namespace: reader.within(namespace)")
        return self._namespace

    def _decode(self, raw: Any) -> dict[str, Any] | None:
        return decode_snapshot(raw, self.fields) if owned_by(raw, self.namespace) else None

    async def snapshot(self, job_id: str) -> dict[str, Any] | None:
        if not is_valid_job_id(job_id):
            return None
        with redis_errors_as_unavailable():
            return self._decode(await self.client.hgetall(keys.job(job_id)))

    async def snapshots(self, job_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        """Several snapshots in one round trip; None for each job that does not exist."""
        valid = [job_id for job_id in job_ids if is_valid_job_id(job_id)]
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=False) as pipe:
                for job_id in valid:
                    pipe.hgetall(keys.job(job_id))
                replies = await pipe.execute()
        found = {job_id: self._decode(raw) for job_id, raw in zip(valid, replies, strict=True)}
        return {job_id: found.get(job_id) for job_id in job_ids}

    async def events_after(self, job_id: str, seq: int) -> tuple[list[JobEvent], dict[str, Any] | None]:
        """The logged events with ``seq`` greater than ``seq``, oldest first, and the snapshot,
        read in one transaction so the two agree. The events may start later than ``seq + 1``
        when the log was trimmed or expired; the snapshot is None when the job is gone."""
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.xrange(keys.job_log(job_id), min=f"{seq + 1}-0", max="+")
                pipe.hgetall(keys.job(job_id))
                entries, raw_snapshot = await pipe.execute()
        snapshot = self._decode(raw_snapshot)
        if snapshot is None:
            return [], None  # gone, or never this namespace's: its log says nothing either
        return [JobEvent.from_log_entry(job_id, fields) for _, fields in entries], snapshot

    async def group_state(self, group: str, limit: int) -> tuple[list[dict[str, Any]], str]:
        """The newest ``limit`` jobs of a group and its log's newest entry id (``GROUP_LOG_START``
        if none), read together so a stream can start from that entry without missing a change."""
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.zrevrange(keys.group_jobs(self.namespace, group), 0, limit - 1)
                pipe.xrevrange(keys.group_log(self.namespace, group), count=1)
                job_ids, newest = await pipe.execute()
            async with self.client.pipeline(transaction=False) as pipe:
                for job_id in job_ids:
                    pipe.hgetall(keys.job(text(job_id)))
                replies = await pipe.execute()
        snapshots = [s for s in map(self._decode, replies) if s is not None]
        return snapshots, text(newest[0][0]) if newest else GROUP_LOG_START

    async def group_events_after(self, group: str, entry_id: str) -> tuple[list[JobEvent], str | None]:
        """The group log's entries after ``entry_id`` and its oldest entry id (None if empty)."""
        after = next_entry_id(entry_id)
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                # Inclusive from the next id: Redis refuses an exclusive start at the last id there is.
                pipe.xrange(keys.group_log(self.namespace, group), min=after or "+", max="+")
                pipe.xrange(keys.group_log(self.namespace, group), count=1)
                entries, oldest = await pipe.execute()
        if after is None:
            entries = []
        events = [
            JobEvent.from_group_entry(self.namespace, group, entry, fields) for entry, fields in entries
        ]
        return events, text(oldest[0][0]) if oldest else None

    async def list_jobs(
        self,
        *,
        limit: int,
        cursor: int | None = None,
        status: str | None = None,
        job_type: str | None = None,
        group: str | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Jobs newest first, filtered; the page and the cursor of the next one (None at the end).

        The index holds creation times in µs; the cursor is the last one returned (exclusive)."""
        index = (
            keys.group_jobs(self.namespace, group) if group is not None else keys.jobs_index(self.namespace)
        )
        found: list[dict[str, Any]] = []
        upper = f"({cursor}" if cursor is not None else "+inf"
        with redis_errors_as_unavailable():
            while len(found) < limit:
                batch = await self.client.zrevrangebyscore(
                    index, upper, "-inf", start=0, num=LIST_BATCH, withscores=True
                )
                if not batch:
                    return found, None
                async with self.client.pipeline(transaction=False) as pipe:
                    for job_id, _ in batch:
                        pipe.hgetall(keys.job(text(job_id)))
                    replies = await pipe.execute()
                for (_, created), raw in zip(batch, replies, strict=True):
                    snapshot = self._decode(raw)
                    upper = f"({int(created)}"
                    if snapshot is None:
                        continue  # expired; the index forgets it when it ages out
                    if (status is None or snapshot["status"] == status) and (
                        job_type is None or snapshot["job_type"] == job_type
                    ):
                        found.append(snapshot)
                        if len(found) == limit:
                            return found, int(created)
        return found, None

    async def ping(self) -> None:
        with redis_errors_as_unavailable():
            await self.client.ping()


#: The largest part of a stream entry id (both parts are unsigned 64-bit integers).
_MAX_ID_PART = 2**64 - 1


def next_entry_id(entry_id: str) -> str | None:
    """The smallest stream entry id after ``entry_id`` (``ms-seq``), or None after the last one."""
    ms_text, _, seq_text = entry_id.partition("-")
    ms, seq = int(ms_text), int(seq_text or 0)
    if seq < _MAX_ID_PART:
        return f"{ms}-{seq + 1}"
    return f"{ms + 1}-0" if ms < _MAX_ID_PART else None
