"""The job store's write side: every change to a job, applied atomically in Redis.

One Lua script (``_APPLY_CHANGE``) does the whole of a change in one step (docs/design.md,
invariants 1 and 2): it merges the new fields into the snapshot hash, takes the next per-job
``seq``, appends the snapshot to the job's event log (a stream whose entry ids are ``<seq>-0``)
and, for a job in a group, to the group's log; it refreshes the keys' time to live and publishes
a wake-up on ``keys.EVENTS_CHANNEL``. Once a job is terminal the script refuses further changes,
so a late or duplicated hook can never move a finished job.

A job's namespace and group are named when it is created and written into its snapshot (the
namespace in the engine's own ``_namespace`` field, never shown; the group under
``group_field``). Every later change names them again, because the script is handed every key
it touches; the script checks they agree and fails loudly when they do not. Reads ask in a
namespace: a job of another namespace is not found, exactly as a missing one.

The store is synchronous: it runs in worker threads (Dramatiq hooks, actors reporting progress)
and, for enqueueing and cancelling, in the web side's executor. Readers use ``reader.JobReader``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis

from . import keys
from .errors import StoreUnavailable
from .events import (
    compact_json,
    decode_snapshot,
    encode_fields,
    owned_by,
    redis_errors_as_unavailable,
    utc_now,
)
from .settings import JobSettings
from .states import (
    DEFAULT_GROUP_FIELD,
    DEFAULT_NAMESPACE,
    NAMESPACE_FIELD,
    TERMINAL_STATES,
    EventType,
    JobStatus,
    snapshot_fields,
)

DEFAULTS = JobSettings.defaults()
logger = logging.getLogger("jobs")
_T = TypeVar("_T")

# KEYS: 1 snapshot hash, 2 event log stream, 3 the namespace's job index (creation time in µs ->
#       job id), 4 status-change counters (see metrics.py), 5 running jobs (job id -> start, unix
#       s), 6 jobs waiting for their first start (creation time in µs -> job id: queue positions),
#       and for a job in a group: 7 the group's log, 8 the group's job index.
# ARGV: 1 job id, 2 channel, 3 event name, 4 ttl (s), 5 mode ("create" | "update" | "if:<JSON
#       status>", an update only from that status | "claim:<lease ms>", a run's start: from
#       PENDING, or from STARTED whose lease has lapsed (or is this run's) | "lapsed:<ms>", an
#       update only of a STARTED job whose lease lapsed that long ago), 6 log max length,
#       7 terminal statuses (JSON-quoted, comma separated), 8 the snapshot's group field, 9 the
#       group (JSON: a string, or null), 10 group ttl (s), 11 the namespace, 12 the run token
#       (a claim's new token; for other modes a fence: the change is refused unless it is the
#       job's current run; empty: no fence), then field/value pairs (values JSON).
# Publishes ``<job_id> <event> <previous group entry id> <group entry id>\n<namespace>\n<group>
# \n<snapshot>`` (entry ids are ``-`` for a job without a group; see JobEvent.from_wakeup).
# Returns the snapshot JSON after the change, false when the change was refused, or "held"
# when a claim finds the job STARTED under another run's live lease.
_APPLY_CHANGE = """
local job_id, channel, event, ttl, mode, log_max, terminal =
    ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local group_field, group, group_ttl, namespace, run = ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local clock = redis.call('TIME')
local now_ms = clock[1] * 1000 + math.floor(clock[2] / 1000)
local claim_ms = string.match(mode, '^claim:(%d+)$')
if mode == 'create' then
    if redis.call('EXISTS', KEYS[1]) == 1 then return false end
else
    local current = redis.call('HMGET', KEYS[1], 'status', group_field, '_namespace', '_run', '_lease_until')
    local status = current[1]
    if not status then return false end
    if string.find(terminal, status, 1, true) then return false end
    local this_run = current[4] == cjson.encode(run)
    local lapsed_ms = now_ms - tonumber(current[5] or '0')
    if claim_ms then
        if status == '"STARTED"' and not this_run and lapsed_ms < 0 then return 'held' end
    elseif string.sub(mode, 1, 7) == 'lapsed:' then
        if status ~= '"STARTED"' or lapsed_ms < tonumber(string.sub(mode, 8)) then return false end
    elseif mode ~= 'update' and mode ~= 'if:' .. status then
        return false
    end
    if run ~= '' and not claim_ms and not this_run then return false end
    local stored = tostring(current[3]) .. ' ' .. tostring(current[2])
    if stored ~= '"' .. namespace .. '" ' .. group then
        local asked = namespace .. ' ' .. group
        return redis.error_reply('job ' .. job_id .. ' is in ' .. stored .. ', not ' .. asked)
    end
    if claim_ms then
        if not this_run then  -- a new run (not this run's claim repeated after a lost reply)
            redis.call('HINCRBY', KEYS[1], '_runs', 1)
        end
        local runs = redis.call('HGET', KEYS[1], '_runs')
        redis.call('HSET', KEYS[1], '_run', cjson.encode(run), '_lease_until', now_ms + tonumber(claim_ms),
            'attempt', runs)
    end
end
if #ARGV > 12 then
    redis.call('HSET', KEYS[1], unpack(ARGV, 13))
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local flat = redis.call('HGETALL', KEYS[1])
local parts = {}
for i = 1, #flat, 2 do
    if string.byte(flat[i], 1) ~= 95 then  -- fields starting with '_' are the engine's own
        parts[#parts + 1] = '"' .. flat[i] .. '":' .. flat[i + 1]
    end
end
local snapshot = '{' .. table.concat(parts, ',') .. '}'
redis.call('XADD', KEYS[2], 'MAXLEN', '~', log_max, seq .. '-0', 'event', event, 'snapshot', snapshot)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
if event == 'status' then
    local job_type = cjson.decode(redis.call('HGET', KEYS[1], 'job_type'))
    local status = cjson.decode(redis.call('HGET', KEYS[1], 'status'))
    redis.call('HINCRBY', KEYS[4], job_type .. '\t' .. status, 1)
    if status == 'STARTED' then
        redis.call('ZADD', KEYS[5], 'NX', redis.call('TIME')[1], job_id)
    else
        redis.call('ZREM', KEYS[5], job_id)
    end
    if status ~= 'PENDING' then
        redis.call('ZREM', KEYS[6], job_id)
    end
end
local created
if mode == 'create' then
    local now = redis.call('TIME')
    created = now[1] * 1000000 + now[2]
    redis.call('ZADD', KEYS[3], created, job_id)
    redis.call('ZADD', KEYS[6], created, job_id)
    redis.call('ZREMRANGEBYSCORE', KEYS[3], 0, created - group_ttl * 1000000)
end
local previous_entry, entry = '-', '-'
if #KEYS == 8 then
    local newest = redis.call('XREVRANGE', KEYS[7], '+', '-', 'COUNT', 1)
    previous_entry = newest[1] and newest[1][1] or '0-0'
    entry = redis.call('XADD', KEYS[7], 'MAXLEN', '~', log_max, '*',
        'job_id', job_id, 'event', event, 'snapshot', snapshot)
    redis.call('EXPIRE', KEYS[7], group_ttl)
    if mode == 'create' then
        redis.call('ZADD', KEYS[8], created, job_id)
        redis.call('EXPIRE', KEYS[8], group_ttl)
    end
end
redis.call('PUBLISH', channel, job_id .. ' ' .. event .. ' ' .. previous_entry .. ' ' .. entry
    .. '\\n' .. namespace .. '\\n' .. group .. '\\n' .. snapshot)
return snapshot
"""

# KEYS: the snapshot hashes of the runs this process holds. ARGV: 1 lease (ms), then each run's
# token (JSON), in the order of KEYS. Extends each lease that is still its run's; returns how
# many were, and the indexes (1-based) of those that were not (the run was taken over, or ended).
_RENEW_LEASES = """
local clock = redis.call('TIME')
local until_ms = clock[1] * 1000 + math.floor(clock[2] / 1000) + tonumber(ARGV[1])
local lost = {}
for i = 1, #KEYS do
    if redis.call('HGET', KEYS[i], '_run') == ARGV[i + 1] then
        redis.call('HSET', KEYS[i], '_lease_until', until_ms)
    else
        lost[#lost + 1] = i
    end
end
return lost
"""

CANCELLING_MESSAGE = "Cancellation requested, stopping..."
#: Longest wait between two tries of a write during an outage, in seconds.
MAX_OUTAGE_BACKOFF_S = 2.0
#: What ``claim`` answers when another run holds the job's lease.
HELD = "held"

_TERMINAL_ARG = ",".join(json.dumps(status.value) for status in TERMINAL_STATES)


class JobStore:
    """Creates jobs and applies their changes; safe to share between threads."""

    def __init__(
        self,
        *,
        client: redis.Redis,
        result_ttl: int = DEFAULTS.result_ttl,
        pending_ttl: int = DEFAULTS.pending_ttl,
        event_log_max: int = DEFAULTS.event_log_max,
        group_field: str = DEFAULT_GROUP_FIELD,
    ) -> None:
        self.client = client
        self.result_ttl = result_ttl
        self.pending_ttl = pending_ttl
        self.event_log_max = event_log_max
        self.group_field = group_field
        #: The snapshot's fields, in the order the API shows them.
        self.fields = snapshot_fields(group_field)
        self._apply = client.register_script(_APPLY_CHANGE)
        self._renew = client.register_script(_RENEW_LEASES)

    def create(
        self, job_id: str, job_type: str, *, namespace: str = DEFAULT_NAMESPACE, group: str | None = None
    ) -> dict[str, Any] | None:
        """Write a new job as PENDING in ``namespace``; None when a job with this id exists.

        A job in a ``group`` also appears in that group's event log and job index.
        """
        fields: dict[str, Any] = dict.fromkeys(self.fields)  # the hash keeps this order for the JSON
        fields.update(
            {
                "job_id": job_id,
                "job_type": job_type,
                self.group_field: group,
                "status": JobStatus.PENDING,
                "message": JobStatus.PENDING.default_message,
                "seq": 0,
                "attempt": 1,
                "created_at": utc_now(),
                NAMESPACE_FIELD: namespace,
            }
        )
        return self._change(job_id, namespace, group, "create", EventType.STATUS, fields)

    def transition(
        self,
        job_id: str,
        status: JobStatus,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        group: str | None = None,
        only_from: JobStatus | None = None,
        run: str = "",
        lapsed_for: float | None = None,
        **fields: Any,
    ) -> dict[str, Any] | None:
        """Move a job (of ``namespace`` and ``group``) to ``status``, only from ``only_from`` if
        given, only as its current ``run`` if given (a fence: a run that lost its lease moves
        nothing), only while its lease has been lapsed ``lapsed_for`` seconds if given (the
        reaper's condition); ``message`` defaults to the status's own. None if refused: the job
        is unknown, finished, or not as asked."""
        fields.setdefault("message", status.default_message)
        if status.is_terminal:
            fields.setdefault("finished_at", utc_now())
            fields.setdefault("retry_at", None)
        if lapsed_for is not None:
            mode = f"lapsed:{int(lapsed_for * 1000)}"
        else:
            mode = "update" if only_from is None else f"if:{json.dumps(only_from.value)}"
        changed = self._change(
            job_id, namespace, group, mode, EventType.STATUS, {"status": status, **fields}, run=run
        )
        return changed if changed != HELD else None

    def claim(
        self,
        job_id: str,
        run: str,
        *,
        lease: float,
        namespace: str = DEFAULT_NAMESPACE,
        group: str | None = None,
        **fields: Any,
    ) -> dict[str, Any] | str | None:
        """Start a run of a job: STARTED under the new token ``run``, with a lease of ``lease``
        seconds (renewed by ``renew``) and ``attempt`` counting its runs. Allowed from PENDING, or
        from STARTED when the lease has lapsed (a takeover: the old run's writes are refused from
        now on). Returns the snapshot, ``HELD`` when another run holds a live lease, or None when
        the job is finished or unknown."""
        fields.setdefault("message", JobStatus.STARTED.default_message)
        mode = f"claim:{int(lease * 1000)}"
        return self._change(
            job_id, namespace, group, mode, EventType.STATUS, {"status": JobStatus.STARTED, **fields}, run=run
        )

    def renew(self, runs: dict[str, str], *, lease: float) -> set[str]:
        """Extend the leases of ``runs`` (job id -> token) to ``lease`` seconds from now; returns
        the job ids whose run is no longer the job's (taken over, or ended)."""
        if not runs:
            return set()
        job_ids = list(runs)
        with redis_errors_as_unavailable():
            lost = self._renew(
                keys=[keys.job(job_id) for job_id in job_ids],
                args=[int(lease * 1000), *(json.dumps(runs[job_id]) for job_id in job_ids)],
            )
        return {job_ids[int(index) - 1] for index in lost}

    def progress(
        self,
        job_id: str,
        percent: float,
        message: str | None = None,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        group: str | None = None,
        run: str = "",
    ) -> dict[str, Any] | None:
        """Record a progress report (0-100 and an optional message) as a new ``progress`` event;
        None when refused (the job is finished, or ``run`` is given and no longer its run)."""
        if not isinstance(percent, int | float) or isinstance(percent, bool) or not math.isfinite(percent):
            raise ValueError(f"progress must be a number from 0 to 100, not {percent!r}")
        clamped = round(min(max(float(percent), 0.0), 100.0), 2)
        fields: dict[str, Any] = {"progress": int(clamped) if clamped.is_integer() else clamped}
        if message is not None:
            fields["message"] = str(message)
        return self._change(job_id, namespace, group, "update", EventType.PROGRESS, fields, run=run)

    def request_cancel(self, job_id: str, *, namespace: str) -> dict[str, Any] | None:
        """Cancel a job of ``namespace``: at once if it has not started, else by flagging it for
        its worker.

        Returns the snapshot after the request (CANCELLED, or STARTED with a "Cancelling" message),
        the unchanged snapshot of a finished job, or None for an unknown one (or another
        namespace's: nothing is flagged then).
        """
        snapshot = self.snapshot(job_id, namespace=namespace)
        if snapshot is None or JobStatus(snapshot["status"]).is_terminal:
            return snapshot
        with redis_errors_as_unavailable():
            # The flag first: a worker that picks the job up from now on sees it and skips it.
            self.client.set(keys.cancel_flag(job_id), utc_now(), ex=self.pending_ttl)
        for _ in range(3):  # the job may move between our reads; each loop sees it further on
            if snapshot is None or JobStatus(snapshot["status"]).is_terminal:
                return snapshot
            where = {"namespace": namespace, "group": snapshot[self.group_field]}
            if snapshot["status"] == JobStatus.PENDING.value:
                changed = self.transition(job_id, JobStatus.CANCELLED, only_from=JobStatus.PENDING, **where)
            else:
                changed = self.transition(
                    job_id,
                    JobStatus.STARTED,
                    only_from=JobStatus.STARTED,
                    message=CANCELLING_MESSAGE,
                    **where,
                )
            if changed is not None:
                return changed
            snapshot = self.snapshot(job_id, namespace=namespace)
        return snapshot

    def cancel_requested(self, job_ids: list[str]) -> set[str]:
        """Which of ``job_ids`` have been asked to cancel."""
        if not job_ids:
            return set()
        with redis_errors_as_unavailable():
            flags = self.client.mget([keys.cancel_flag(job_id) for job_id in job_ids])
        return {job_id for job_id, flag in zip(job_ids, flags, strict=True) if flag is not None}

    def remember_message(self, job_id: str, data: bytes) -> None:
        """Keep the job's encoded Dramatiq message, so the reaper can requeue a job whose worker
        died with it (``maintenance.reap``)."""
        with redis_errors_as_unavailable():
            self.client.set(keys.job_message(job_id), data, ex=self.pending_ttl)

    def message(self, job_id: str) -> bytes | None:
        with redis_errors_as_unavailable():
            return self.client.get(keys.job_message(job_id))

    def snapshot(self, job_id: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any] | None:
        """The job's snapshot, or None when there is no such job in ``namespace``."""
        with redis_errors_as_unavailable():
            raw = self.client.hgetall(keys.job(job_id))
        return decode_snapshot(raw, self.fields) if owned_by(raw, namespace) else None

    def namespace_of(self, job_id: str) -> str | None:
        """The namespace a job lives in (for maintenance, which works across namespaces)."""
        with redis_errors_as_unavailable():
            raw = self.client.hget(keys.job(job_id), NAMESPACE_FIELD)
        return json.loads(raw) if raw is not None else None

    def _change(
        self,
        job_id: str,
        namespace: str,
        group: str | None,
        mode: str,
        event: EventType,
        fields: dict[str, Any],
        *,
        run: str = "",
    ) -> dict[str, Any] | None:
        status = fields.get("status")
        ttl = self.result_ttl if isinstance(status, JobStatus) and status.is_terminal else self.pending_ttl
        job_keys = [
            keys.job(job_id),
            keys.job_log(job_id),
            keys.jobs_index(namespace),
            keys.METRICS_TRANSITIONS,
            keys.RUNNING,
            keys.WAITING,
        ]
        if group is not None:
            job_keys += [keys.group_log(namespace, group), keys.group_jobs(namespace, group)]
        args = [
            job_id,
            keys.EVENTS_CHANNEL,
            event.value,
            ttl,
            mode,
            self.event_log_max,
            _TERMINAL_ARG,
            self.group_field,
            compact_json(group),
            max(self.pending_ttl, self.result_ttl),
            namespace,
            run,
        ]
        with redis_errors_as_unavailable():
            raw = self._apply(keys=job_keys, args=args + encode_fields(fields))
        if raw in (HELD, HELD.encode()):
            return HELD  # type: ignore[return-value]  # only claims can be held (see claim)
        return json.loads(raw) if raw else None


def ride_out(write: Callable[[], _T], *, grace: float, what: str) -> _T:
    """``write()``, retried with backoff while Redis is unavailable, for up to ``grace`` seconds."""
    deadline = time.monotonic() + grace
    attempt = 0
    while True:
        try:
            return write()
        except StoreUnavailable:
            attempt += 1
            if time.monotonic() >= deadline:
                raise
            if attempt == 1:
                logger.warning("Redis unavailable while writing %s; retrying for up to %gs", what, grace)
            time.sleep(min(MAX_OUTAGE_BACKOFF_S, 0.05 * 2**attempt, max(0.0, deadline - time.monotonic())))
