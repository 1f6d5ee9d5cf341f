"""The job store's write side: every change to a job, applied atomically in Redis.

One Lua script (``_APPLY_CHANGE``) does the whole of a change in one step (DESIGN invariants 1-2):
it merges the new fields into the snapshot hash, takes the next per-job ``seq``, appends the
snapshot to the job's event log (a stream whose entry ids are ``<seq>-0``), refreshes both keys'
time to live and publishes a wake-up on ``keys.EVENTS_CHANNEL``. Once a job is terminal the
script refuses further changes, so a late or duplicated hook can never move a finished job.

The store is synchronous: it runs in worker threads (Dramatiq hooks, actors reporting progress)
and, for enqueueing, in the web side's executor. Readers use ``service.jobs_reader``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import redis

from . import keys
from .records import decode_snapshot, encode_fields, redis_errors_as_unavailable, utc_now
from .settings import DEFAULT_EVENT_LOG_MAX, DEFAULT_PENDING_TTL, DEFAULT_RESULT_TTL
from .states import SNAPSHOT_FIELDS, TERMINAL_STATES, EventType, JobStatus

# KEYS: snapshot hash, event log stream, index of all jobs (creation time in µs -> job id),
#       status-change counters (see actors.metrics), running jobs (job id -> start, unix s),
#       jobs waiting for their first start (creation time in µs -> job id: queue positions).
# ARGV: job id, channel, event name, ttl (s), mode ("create" | "update" | "if:<JSON status>", an
#       update only from that status), log max length,
#       terminal statuses (JSON-quoted, comma separated), workspace log prefix, workspace jobs
#       prefix, workspace ttl (s), then field/value pairs (values JSON).
# A job with a workspace also gets its event appended to the workspace's log (auto id) and, when
# created, its id added to the workspace's job index.
# Publishes ``<job_id> <event> <previous workspace entry id> <workspace entry id> <snapshot>``
# (entry ids are ``-`` for a job without a workspace).
# Returns the snapshot JSON after the change, or false when the change was refused.
_APPLY_CHANGE = """
local job_id, channel, event, ttl, mode, log_max, terminal =
    ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local ws_log_prefix, ws_jobs_prefix, ws_ttl = ARGV[8], ARGV[9], ARGV[10]
local exists = redis.call('EXISTS', KEYS[1]) == 1
if mode == 'create' then
    if exists then return false end
else
    if not exists then return false end
    local status = redis.call('HGET', KEYS[1], 'status')
    if status and string.find(terminal, status, 1, true) then return false end
    if mode ~= 'update' and mode ~= 'if:' .. status then return false end
end
if #ARGV > 10 then
    redis.call('HSET', KEYS[1], unpack(ARGV, 11))
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local flat = redis.call('HGETALL', KEYS[1])
local parts = {}
for i = 1, #flat, 2 do
    parts[#parts + 1] = '"' .. flat[i] .. '":' .. flat[i + 1]
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
    redis.call('ZREMRANGEBYSCORE', KEYS[3], 0, created - ws_ttl * 1000000)
end
local ws_prev, ws_id = '-', '-'
local ws = redis.call('HGET', KEYS[1], 'workspace')
if ws and ws ~= 'null' then
    local name = cjson.decode(ws)
    local ws_log = ws_log_prefix .. name
    local newest = redis.call('XREVRANGE', ws_log, '+', '-', 'COUNT', 1)
    ws_prev = newest[1] and newest[1][1] or '0-0'
    ws_id = redis.call('XADD', ws_log, 'MAXLEN', '~', log_max, '*',
        'job_id', job_id, 'event', event, 'snapshot', snapshot)
    redis.call('EXPIRE', ws_log, ws_ttl)
    if mode == 'create' then
        local ws_jobs = ws_jobs_prefix .. name
        redis.call('ZADD', ws_jobs, created, job_id)
        redis.call('EXPIRE', ws_jobs, ws_ttl)
    end
end
redis.call('PUBLISH', channel, job_id .. ' ' .. event .. ' ' .. ws_prev .. ' ' .. ws_id .. ' ' .. snapshot)
return snapshot
"""

CANCELLING_MESSAGE = "Cancellation requested, stopping..."

_TERMINAL_ARG = ",".join(json.dumps(status.value) for status in TERMINAL_STATES)


class JobStore:
    """Creates jobs and applies their changes; safe to share between threads."""

    def __init__(
        self,
        *,
        client: redis.Redis,
        result_ttl: int = DEFAULT_RESULT_TTL,
        pending_ttl: int = DEFAULT_PENDING_TTL,
        event_log_max: int = DEFAULT_EVENT_LOG_MAX,
    ) -> None:
        self.client = client
        self.result_ttl = result_ttl
        self.pending_ttl = pending_ttl
        self.event_log_max = event_log_max
        self._apply = client.register_script(_APPLY_CHANGE)

    def create(self, job_id: str, job_type: str, workspace: str | None = None) -> dict[str, Any] | None:
        """Write a new job as PENDING; None when a job with this id already exists.

        A job in a ``workspace`` also appears in that workspace's event log and job index.
        """
        fields: dict[str, Any] = dict.fromkeys(SNAPSHOT_FIELDS)  # hash keeps this order for the JSON
        fields.update(
            job_id=job_id,
            job_type=job_type,
            workspace=workspace,
            status=JobStatus.PENDING,
            message=JobStatus.PENDING.default_message,
            seq=0,
            attempt=1,
            created_at=utc_now(),
        )
        return self._change(job_id, "create", EventType.STATUS, fields)

    def transition(
        self, job_id: str, status: JobStatus, *, only_from: JobStatus | None = None, **fields: Any
    ) -> dict[str, Any] | None:
        """Move a job to ``status`` (only from ``only_from``, if given); ``message`` defaults to the
        status's own. None if refused: the job is unknown, finished, or not in ``only_from``."""
        fields.setdefault("message", status.default_message)
        if status.is_terminal:
            fields.setdefault("finished_at", utc_now())
            fields.setdefault("retry_at", None)
        mode = "update" if only_from is None else f"if:{json.dumps(only_from.value)}"
        return self._change(job_id, mode, EventType.STATUS, {"status": status, **fields})

    def request_cancel(self, job_id: str) -> dict[str, Any] | None:
        """Cancel a job: at once if it has not started, else by flagging it for its worker.

        Returns the snapshot after the request (CANCELLED, or STARTED with a "Cancelling" message),
        the unchanged snapshot of a finished job, or None for an unknown one.
        """
        with redis_errors_as_unavailable():
            # The flag first: a worker that picks the job up from now on sees it and skips it.
            self.client.set(keys.cancel_flag(job_id), utc_now(), ex=self.pending_ttl)
        for _ in range(3):  # the job may move between our reads; each loop sees it further on
            snapshot = self.snapshot(job_id)
            if snapshot is None or JobStatus(snapshot["status"]).is_terminal:
                return snapshot
            if snapshot["status"] == JobStatus.PENDING.value:
                changed = self.transition(job_id, JobStatus.CANCELLED, only_from=JobStatus.PENDING)
            else:
                changed = self.transition(
                    job_id, JobStatus.STARTED, only_from=JobStatus.STARTED, message=CANCELLING_MESSAGE
                )
            if changed is not None:
                return changed
        return self.snapshot(job_id)

    def remember_message(self, job_id: str, data: bytes) -> None:
        """Keep the job's encoded Dramatiq message, so the reaper can requeue a job whose worker
        died with it (``maintenance.reap_orphans``)."""
        with redis_errors_as_unavailable():
            self.client.set(keys.job_message(job_id), data, ex=self.pending_ttl)

    def message(self, job_id: str) -> bytes | None:
        with redis_errors_as_unavailable():
            return self.client.get(keys.job_message(job_id))

    def cancel_requested(self, job_ids: list[str]) -> set[str]:
        """Which of ``job_ids`` have been asked to cancel."""
        if not job_ids:
            return set()
        with redis_errors_as_unavailable():
            flags = self.client.mget([keys.cancel_flag(job_id) for job_id in job_ids])
        return {job_id for job_id, flag in zip(job_ids, flags, strict=True) if flag is not None}

    def progress(self, job_id: str, percent: float, message: str | None = None) -> dict[str, Any] | None:
        """Record a progress report (0-100 and an optional message) as a new ``progress`` event."""
        if not isinstance(percent, int | float) or isinstance(percent, bool) or not math.isfinite(percent):
            raise ValueError(f"progress must be a number from 0 to 100, not {percent!r}")
        clamped = round(min(max(float(percent), 0.0), 100.0), 2)
        fields: dict[str, Any] = {"progress": int(clamped) if clamped.is_integer() else clamped}
        if message is not None:
            fields["message"] = str(message)
        return self._change(job_id, "update", EventType.PROGRESS, fields)

    def snapshot(self, job_id: str) -> dict[str, Any] | None:
        with redis_errors_as_unavailable():
            return decode_snapshot(self.client.hgetall(keys.job(job_id)))

    def _change(
        self, job_id: str, mode: str, event: EventType, fields: dict[str, Any]
    ) -> dict[str, Any] | None:
        status = fields.get("status")
        ttl = self.result_ttl if isinstance(status, JobStatus) and status.is_terminal else self.pending_ttl
        args = [
            job_id,
            keys.EVENTS_CHANNEL,
            event.value,
            ttl,
            mode,
            self.event_log_max,
            _TERMINAL_ARG,
            keys.WORKSPACE_LOG_PREFIX,
            keys.WORKSPACE_JOBS_PREFIX,
            max(self.pending_ttl, self.result_ttl),
        ]
        with redis_errors_as_unavailable():
            raw = self._apply(
                keys=[
                    keys.job(job_id),
                    keys.job_log(job_id),
                    keys.JOBS_INDEX,
                    keys.METRICS_TRANSITIONS,
                    keys.RUNNING,
                    keys.WAITING,
                ],
                args=args + encode_fields(fields),
            )
        return json.loads(raw) if raw else None
