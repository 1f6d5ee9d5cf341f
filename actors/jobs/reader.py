"""The job store's read side, for the web process: snapshots, event logs and listings, async.

Writes happen only in ``store.py`` (one Lua script); this module reads what it wrote, turning
Redis outages into ``StoreUnavailable`` so the API can answer 503. A reader reads within one
namespace (``reader.within(namespace)``): a job of another namespace is not found, with the same
answer, the same Redis round trips and the same work as a missing one (``lua/read_owned.lua``
checks the namespace before it reads anything else).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from . import history, keys, scripts
from .encoding import decode_snapshot, owned_by, text
from .errors import StoreUnavailable, redis_errors_as_unavailable
from .events import GROUP_LOG_START, JobEvent
from .ref import is_valid_job_id
from .search import JobFilter
from .states import TRACEBACK_FIELD, JobStatus, is_finished

#: Index entries read per round trip while filling a page of a listing.
LIST_BATCH = 200
#: Transactions ``group_state`` tries: another is needed only when a job joined the group and the
#: group's log was trimmed past all its changes, both within one round trip.
GROUP_STATE_ROUNDS = 5


class JobReader:
    def __init__(
        self, *, client: aioredis.Redis, fields: Sequence[str], namespace: str | None = None
    ) -> None:
        """``fields``: the snapshot's fields in API order (the writing store's ``fields``)."""
        self.client = client
        self.fields = tuple(fields)
        self._namespace = namespace
        lua = scripts.sources()
        self._read_owned = client.register_script(lua["read_owned"])
        self._search = client.register_script(lua["search_batch"])

    def within(self, namespace: str) -> JobReader:
        """This reader, reading in ``namespace`` (the same connection pool and scripts)."""
        reader = copy.copy(self)
        reader._namespace = namespace
        return reader

    async def _owned(self, what: str, job_keys: list[str], *args: str) -> Any:
        """``read_owned.lua``'s answer for ``what``, within this reader's namespace."""
        with redis_errors_as_unavailable():
            return await self._read_owned(keys=job_keys, args=[json.dumps(self.namespace), what, *args])

    @property
    def namespace(self) -> str:
        if self._namespace is None:
            raise RuntimeError("read within a namespace: reader.within(namespace)")
        return self._namespace

    def _decode(self, raw: Any) -> dict[str, Any] | None:
        return decode_snapshot(raw, self.fields) if owned_by(raw, self.namespace) else None

    async def snapshot(self, job_id: str) -> dict[str, Any] | None:
        return (await self.snapshots([job_id]))[job_id]

    async def arguments(self, job_id: str) -> dict[str, Any] | None:
        """The arguments the job was started with (as its message carries them); None for a job
        not found in this namespace."""
        if not is_valid_job_id(job_id):
            return None
        found = await self._owned("message", [keys.job(job_id), keys.job_message(job_id)])
        if not found:
            return None
        return dict(json.loads(found).get("kwargs") or {})

    async def traceback(self, job_id: str) -> str | None:
        """The traceback of the job's last failure (bounded as the worker kept it); None for a
        job without one, or not found in this namespace."""
        if not is_valid_job_id(job_id):
            return None
        found = await self._owned("fields", [keys.job(job_id)], TRACEBACK_FIELD)
        return json.loads(found[0]) if found and found[0] is not None else None

    async def endings(self, job_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        """Each job's ``status`` and ``error``, whatever its namespace (for the admin, who reads
        the dead letters of every tenant), in one round trip; None for a job no longer kept."""
        valid = [job_id for job_id in job_ids if is_valid_job_id(job_id)]
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=False) as pipe:
                for job_id in valid:
                    pipe.hmget(keys.job(job_id), "status", "error")
                replies = await pipe.execute()
        found = {
            job_id: {"status": json.loads(status), "error": json.loads(error) if error else None}
            for job_id, (status, error) in zip(valid, replies, strict=True)
            if status is not None
        }
        return {job_id: found.get(job_id) for job_id in job_ids}

    async def snapshots(self, job_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        """Several snapshots in one round trip; None for each job that does not exist here."""
        valid = [job_id for job_id in job_ids if is_valid_job_id(job_id)]
        records = await self._owned("records", [keys.job(job_id) for job_id in valid]) if valid else []
        found = {job_id: self._decode(_pairs(raw)) for job_id, raw in zip(valid, records, strict=True)}
        return {job_id: found.get(job_id) for job_id in job_ids}

    async def events_after(self, job_id: str, seq: int) -> tuple[list[JobEvent], dict[str, Any] | None]:
        """The logged events with ``seq`` greater than ``seq``, oldest first, and the snapshot,
        read in one step so the two agree. The events may start later than ``seq + 1`` when the
        log was trimmed or expired; the snapshot is None when the job is gone (or another
        namespace's, whose log is then not read)."""
        if not is_valid_job_id(job_id):
            return [], None
        found = await self._owned("after", [keys.job(job_id), keys.job_history(job_id)], str(seq))
        record = _pairs(found[1]) if found else {}
        snapshot = self._decode(record)
        if snapshot is None:
            return [], None
        events = [event for event in history.replay(record, found[0], self.fields) if event.seq > seq]
        return events, snapshot

    async def group_state(self, group: str, limit: int) -> tuple[list[dict[str, Any]], str]:
        """The newest ``limit`` jobs of a group as they stood at its log's newest entry, newest
        first, and that entry's id (``GROUP_LOG_START`` if none): the snapshots hold every change
        logged up to that entry and none after it, so a stream that sends them under that id and
        resumes after it neither repeats nor skips a change.

        The jobs' ids are needed to ask for their snapshots, so a first read takes them; a second
        reads, in one transaction, the index again, the log's newest id and those snapshots. A
        job that joined the group in between has its whole history after the first read's newest
        entry, so its snapshot is its last entry up to the second's (read then, and only then).
        """
        index, log = keys.group_jobs(self.namespace, group), keys.group_log(self.namespace, group)
        return await self._log_state(index, log, limit, f"group {group!r}")

    async def tenant_state(self, limit: int) -> tuple[list[dict[str, Any]], str]:
        """``group_state`` for every job of this namespace: its newest ``limit`` jobs as they
        stood at its log's newest entry, and that entry's id."""
        index, log = keys.jobs_index(self.namespace), keys.tenant_log(self.namespace)
        return await self._log_state(index, log, limit, f"namespace {self.namespace!r}")

    async def _log_state(
        self, index: str, log: str, limit: int, what: str
    ) -> tuple[list[dict[str, Any]], str]:
        """``group_state``'s reading, for any job index (by creation) and the log of its jobs."""
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.zrevrange(index, 0, limit - 1)
                pipe.xrevrange(log, count=1)
                listed, newest = await pipe.execute()
            job_ids, since = [text(job_id) for job_id in listed], _entry_id(newest)
            for _ in range(GROUP_STATE_ROUNDS):
                async with self.client.pipeline(transaction=True) as pipe:
                    pipe.zrevrange(index, 0, limit - 1)
                    pipe.xrevrange(log, count=1)
                    for job_id in job_ids:
                        pipe.hgetall(keys.job(job_id))
                    listed, newest, *hashes = await pipe.execute()
                found = {job_id: self._decode(raw) for job_id, raw in zip(job_ids, hashes, strict=True)}
                job_ids, position = [text(job_id) for job_id in listed], _entry_id(newest)
                joined = [job_id for job_id in job_ids if job_id not in found]
                if joined:
                    found |= await self._as_logged(log, joined, after=since, upto=position)
                if all(job_id in found for job_id in job_ids):
                    snapshots = [found[job_id] for job_id in job_ids]
                    return [snapshot for snapshot in snapshots if snapshot is not None], position
                # A job that joined is missing from its log: trimmed already. Read its hash now.
                since = position
        raise StoreUnavailable(f"{what} changed too fast to read its jobs as of one moment")

    async def _as_logged(
        self, log: str, job_ids: list[str], *, after: str, upto: str
    ) -> dict[str, dict[str, Any] | None]:
        """Each of ``job_ids``' last snapshot in the group log between ``after`` (exclusive) and
        ``upto``; a job with no entry there is left out. Those entries are written already, so
        this read needs no transaction with the one that found ``upto``."""
        start = next_entry_id(after)
        entries = await self.client.xrange(log, min=start, max=upto) if start is not None else []
        wanted = set(job_ids)
        logged: dict[str, dict[str, Any] | None] = {}
        for _, fields in entries:
            by_name = {text(name): text(value) for name, value in fields.items()}
            if by_name["job_id"] in wanted:
                snapshot = json.loads(by_name["snapshot"])
                ordered = {name: snapshot.pop(name, None) for name in self.fields}  # as _decode orders
                logged[by_name["job_id"]] = ordered | snapshot
        return logged

    async def group_events_after(self, group: str, entry_id: str) -> tuple[list[JobEvent], str | None]:
        """The group log's entries after ``entry_id`` and its oldest entry id (None if empty)."""
        entries, oldest = await self._log_after(keys.group_log(self.namespace, group), entry_id)
        events = [
            JobEvent.from_group_entry(self.namespace, group, entry, fields) for entry, fields in entries
        ]
        return events, oldest

    async def tenant_events_after(self, entry_id: str) -> tuple[list[JobEvent], str | None]:
        """The namespace log's entries after ``entry_id`` and its oldest entry id (None if empty)."""
        entries, oldest = await self._log_after(keys.tenant_log(self.namespace), entry_id)
        events = [JobEvent.from_tenant_entry(self.namespace, entry, fields) for entry, fields in entries]
        return events, oldest

    async def _log_after(self, log: str, entry_id: str) -> tuple[list[Any], str | None]:
        """A log's raw entries after ``entry_id``, and its oldest entry's id (None if empty)."""
        after = next_entry_id(entry_id)
        with redis_errors_as_unavailable():
            async with self.client.pipeline(transaction=True) as pipe:
                # Inclusive from the next id: Redis refuses an exclusive start at the last id there is.
                pipe.xrange(log, min=after or "+", max="+")
                pipe.xrange(log, count=1)
                entries, oldest = await pipe.execute()
        return (entries if after is not None else []), text(oldest[0][0]) if oldest else None

    async def list_jobs(
        self,
        *,
        limit: int,
        cursor: int | None = None,
        status: str | None = None,
        job_type: str | None = None,
        group: str | None = None,
        where: JobFilter | None = None,
        include_result: bool = False,
        scan_cap: int | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Jobs newest first that meet ``where`` (and ``status``, ``job_type``, ``group``, its
        shorthands); the page and the cursor of the next one (None at the end). Without
        ``include_result`` the rows carry no ``result`` (it is not even read: a scoring job's is
        tens of KB). Each row says whether it could be run again as far as its record goes
        (``retryable``: finished; the job type's own say is the caller's) and how long it ran
        (``duration``).

        ``scan_cap`` bounds the jobs looked at: once that many were, the page ends with fewer
        rows (maybe none) and a cursor to go on from, so that a search matching little costs no
        more than one that matches much. The index holds creation times in µs; the cursor is the
        last one examined (exclusive)."""
        where = _merged(where or JobFilter(), status=status, job_type=job_type, group=group)
        read = [name for name in self.fields if include_result or name != "result"]
        index = (
            keys.group_jobs(self.namespace, where.group)
            if where.group is not None
            else keys.jobs_index(self.namespace)
        )
        needle, plain = where.needles
        found: list[dict[str, Any]] = []
        lower, upper = where.index_bounds
        if cursor is not None:
            upper = f"({cursor}"
        scanned = 0
        with redis_errors_as_unavailable():
            while len(found) < limit:
                batch_size = LIST_BATCH if scan_cap is None else min(LIST_BATCH, scan_cap - scanned)
                if batch_size <= 0:
                    return found, _cursor_at(upper)
                batch = await self.client.zrevrangebyscore(
                    index, upper, lower, start=0, num=batch_size, withscores=True
                )
                if not batch:
                    return found, None
                ids = [text(job_id) for job_id, _ in batch]
                examined, matches = await self._search(
                    keys=[*map(keys.job, ids), *map(keys.job_message, ids)],
                    args=[
                        json.dumps(self.namespace),
                        where.status_arg,
                        json.dumps(where.job_type) if where.job_type is not None else "",
                        needle,
                        plain,
                        limit - len(found),
                        *where.created_args,
                        *read,
                    ],
                )
                scanned += int(examined)
                upper = f"({int(batch[int(examined) - 1][1])}"
                for values in matches:
                    snapshot = decode_snapshot(
                        {name: value for name, value in zip(read, values, strict=True) if value is not None},
                        self.fields,
                    )
                    if snapshot is None:
                        continue
                    if not include_result:
                        del snapshot["result"]
                    found.append(with_derived(snapshot))
                if len(found) == limit:
                    return found, _cursor_at(upper)
        return found, None

    async def ping(self) -> None:
        with redis_errors_as_unavailable():
            await self.client.ping()


def with_derived(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with what its fields imply: ``duration`` (seconds from its start to its end,
    or to now while it runs; None before it starts) and ``retryable`` (finished: whether its job
    type may run again is the web's to add)."""
    started, ended = _unix(snapshot.get("started_at")), _unix(snapshot.get("finished_at"))
    if started is None:
        duration = None
    else:
        duration = round(max(0.0, (ended if ended is not None else time.time()) - started), 3)
    snapshot["duration"] = duration
    snapshot["retryable"] = is_finished(snapshot)
    return snapshot


def _unix(moment: str | None) -> float | None:
    """An ISO 8601 time of a snapshot as unix seconds (None for none)."""
    return datetime.fromisoformat(moment).timestamp() if moment else None


def _merged(where: JobFilter, *, status: str | None, job_type: str | None, group: str | None) -> JobFilter:
    """``where`` narrowed by the single-value shorthands ``list_jobs`` also takes."""
    if status is not None:
        where = replace(where, statuses=frozenset({JobStatus(status)}))
    if job_type is not None:
        where = replace(where, job_type=job_type)
    if group is not None:
        where = replace(where, group=group)
    return where


def _cursor_at(upper: str) -> int | None:
    """The cursor that resumes a listing after ``upper`` (an exclusive bound, ``(<µs>``)."""
    return int(upper[1:]) if upper.startswith("(") else None


def _pairs(flat: list[Any] | None) -> dict[Any, Any]:
    """A Lua script's ``HGETALL`` (or stream entry's fields): a flat list, as a dict; {} for none."""
    return dict(zip(flat[::2], flat[1::2], strict=True)) if flat else {}


def _entry_id(newest: list[Any]) -> str:
    """The id of the entry an ``XREVRANGE ... COUNT 1`` found, or ``GROUP_LOG_START`` if none."""
    return text(newest[0][0]) if newest else GROUP_LOG_START


#: The largest part of a stream entry id (both parts are unsigned 64-bit integers).
_MAX_ID_PART = 2**64 - 1


def next_entry_id(entry_id: str) -> str | None:
    """The smallest stream entry id after ``entry_id`` (``ms-seq``), or None after the last one."""
    ms_text, _, seq_text = entry_id.partition("-")
    ms, seq = int(ms_text), int(seq_text or 0)
    if seq < _MAX_ID_PART:
        return f"{ms}-{seq + 1}"
    return f"{ms + 1}-0" if ms < _MAX_ID_PART else None
