"""The job store's write side: every change to a job, applied atomically in Redis.

Each kind of change is one Lua script (``lua/change/``) that does the whole of it in one step
(docs/design.md, invariants 1 and 2): it merges the new fields into the job's record, takes the
next per-job ``seq``, appends to the job's history the step back to the record before (what the
change overwrote: ``history.py``), appends the snapshot to its namespace's log and, for a job in
a group, to the group's log; it refreshes the keys' time to live and publishes a wake-up on the
job's channel, its namespace's (and its group's). A finished job takes no change but the link
to its retry, so a late or duplicated hook can never move it. A change costs one script call;
inside it, the record is read once and written once.

Every write names its job by a ``JobRef`` (``ref.py``), made when the job is submitted or claimed,
or read from the record (``find``) by those who start from an id: a cancel, a retry, the reaper.
Reads ask in a namespace: a job of another namespace is not found, exactly as a missing one.

Status changes are counted for the metrics by the script itself, unless a ``ChangeCounter``
that is running counts them in the process (``middleware.run_metrics``): the store tells it each
change it made.

The store is synchronous: it runs in worker threads (Dramatiq hooks, actors reporting progress)
and, for cancelling and retrying, in the web side's executor; the web's new jobs take its one
asyncio path, ``create_and_send`` (the record and the message in one script). Readers use
``reader.JobReader``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis

from . import keys, scripts
from .changes import ChangeCounter, PreparedChange, change_channels, change_keys
from .clock import utc_now
from .dramatiq_adapter import Sending
from .encoding import compact_json, decode_snapshot, encode_fields, owned_by, text
from .errors import JobCancelled, StoreUnavailable, redis_errors_as_unavailable
from .ref import JobRef
from .settings import JobSettings
from .states import (
    DEFAULT_GROUP_FIELD,
    DEFAULT_NAMESPACE,
    MESSAGE_FIELD,
    NAMESPACE_FIELD,
    EventType,
    JobStatus,
    snapshot_fields,
)

DEFAULTS = JobSettings.defaults()
logger = logging.getLogger("jobs")
_T = TypeVar("_T")

CANCELLING_MESSAGE = "Cancellation requested, stopping..."
#: Longest wait between two tries of a write during an outage, in seconds.
MAX_OUTAGE_BACKOFF_S = 2.0
#: What ``claim`` answers when another run holds the job's lease.
HELD = "held"
_CANCELLED = "cancelled"
#: Scripts whose change ``DURABLE_WRITES`` waits on though the caller names no terminal status:
#: a cancel may end the job; a claim starts a run (lost in a failover, the job would run twice at
#: once, or its message, taken before the claim, would be gone with the job left PENDING).
DURABLE_SCRIPTS = frozenset({"cancel", "claim"})


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
        counter: ChangeCounter | None = None,
        durable_writes: bool = DEFAULTS.durable_writes,
        durable_timeout: float = DEFAULTS.redis_timeout,
    ) -> None:
        """``durable_writes``: a terminal change or a claim is answered only once a replica holds it (or
        ``durable_timeout`` seconds passed: then it is logged as held by the primary alone)."""
        self.client = client
        self.result_ttl = result_ttl
        self.pending_ttl = pending_ttl
        self.event_log_max = event_log_max
        self.group_field = group_field
        self.counter = counter
        self.durable_writes = durable_writes
        self.durable_timeout = durable_timeout
        #: The snapshot's fields, in the order the API shows them.
        self.fields = snapshot_fields(group_field)
        self._scripts = scripts.register(client)

    def create(
        self, ref: JobRef, job_type: str, *, message: bytes | None = None, retry_of: str | None = None
    ) -> dict[str, Any] | None:
        """Write a new job as PENDING; None when a job with this id exists.

        A job in a group also appears in that group's log and job index. ``message`` is its
        encoded Dramatiq message, kept in the record for the reaper (``leases.reap``) and for
        ``submit.retry_job``; ``retry_of`` the finished job it runs again.
        """
        fields = self._new_record(ref, job_type, retry_of)
        return self._decoded(self._change("create", ref, fields, message=message))

    async def create_and_send(
        self, client: aioredis.Redis, ref: JobRef, job_type: str, *, message: bytes, send: Sending
    ) -> dict[str, Any] | None:
        """``create``, and the job's ``message`` sent to its queue in the same step (``send``:
        where and under which id, from ``dramatiq_adapter.sending``), on the asyncio ``client``
        (the web's): one round trip, nothing sent unless the record was written."""
        change = self._prepare(
            "create",
            ref,
            self._new_record(ref, job_type, None),
            message=message,
            extra_keys=send.queue_keys,
            send=send.redis_message_id,
            message_field=MESSAGE_FIELD,
        )
        with redis_errors_as_unavailable():
            raw = await scripts.run_async(client, self._scripts["create"], change.keys, change.args)
        return self._decoded(change.done(raw))

    def _new_record(self, ref: JobRef, job_type: str, retry_of: str | None) -> dict[str, Any]:
        fields: dict[str, Any] = dict.fromkeys(self.fields)  # the hash keeps this order for the JSON
        fields.update(
            {
                "job_id": ref.job_id,
                "job_type": job_type,
                self.group_field: ref.group,
                "status": JobStatus.PENDING,
                "message": JobStatus.PENDING.default_message,
                "seq": 0,
                "attempt": 1,
                "created_at": (now := utc_now()),
                "updated_at": now,
                "retry_of": retry_of,
                NAMESPACE_FIELD: ref.namespace,
            }
        )
        return fields

    def claim(self, ref: JobRef, *, lease: float, **fields: Any) -> dict[str, Any] | str | None:
        """Start a run of a job: STARTED under the run's new token (``ref.run``), with a lease of
        ``lease`` seconds (renewed by ``renew``) and ``attempt`` counting its runs. Allowed from
        PENDING, or from STARTED when the lease has lapsed (a takeover: the old run's writes are
        refused from now on). Returns the snapshot, ``HELD`` when another run holds a live lease,
        or None when the job is finished or unknown."""
        fields = {"status": JobStatus.STARTED, "message": JobStatus.STARTED.default_message, **fields}
        raw = self._change("claim", ref, fields, lease_ms=int(lease * 1000))
        return HELD if text(raw or b"") == HELD else self._decoded(raw)

    def transition(
        self, ref: JobRef, status: JobStatus, *, only_from: JobStatus | None = None, **fields: Any
    ) -> dict[str, Any] | None:
        """Move a job to ``status`` (only from ``only_from`` if given); as the run ``ref.run`` names,
        if it names one (a fence: a run that lost its lease moves nothing). ``message`` defaults to
        the status's own. None if refused: the job is unknown, finished, or not as asked."""
        extra = {"from": compact_json(only_from)} if only_from is not None else {}
        return self._decoded(self._change("update", ref, self._status_fields(status, fields), **extra))

    def reap(
        self, ref: JobRef, status: JobStatus, *, lapsed_for: float, **fields: Any
    ) -> dict[str, Any] | None:
        """The reaper's change: ``transition`` of a STARTED job whose lease lapsed ``lapsed_for``
        seconds ago or more; None when its run renewed it meanwhile (or it is not STARTED)."""
        fields = self._status_fields(status, fields)
        return self._decoded(self._change("reap", ref, fields, lapsed_ms=int(lapsed_for * 1000)))

    def progress(self, ref: JobRef, percent: float, message: str | None = None) -> dict[str, Any] | None:
        """Record a progress report (0-100 and an optional message) as a new ``progress`` event;
        None when refused (the job is finished, or no longer the run's). Raises ``JobCancelled``,
        writing nothing, once the job was asked to cancel."""
        if not isinstance(percent, int | float) or isinstance(percent, bool) or not math.isfinite(percent):
            raise ValueError(f"progress must be a number from 0 to 100, not {percent!r}")
        clamped = round(min(max(float(percent), 0.0), 100.0), 2)
        fields: dict[str, Any] = {"progress": int(clamped) if clamped.is_integer() else clamped}
        if message is not None:
            fields["message"] = str(message)
        raw = self._change("progress", ref, fields, event=EventType.PROGRESS)
        if text(raw or b"") == _CANCELLED:
            raise JobCancelled("the job was cancelled")
        return self._decoded(raw)

    def request_cancel(self, job_id: str, *, namespace: str) -> dict[str, Any] | None:
        """Cancel a job of ``namespace``: at once if it has not started, else by flagging it for
        its worker (its message says so until it stops).

        Returns the snapshot after the request (CANCELLED, or STARTED with a "Cancelling" message),
        the unchanged snapshot of a finished job, or None for an unknown one (or another
        namespace's: nothing is flagged then).
        """
        ref = self.find(job_id, namespace=namespace)
        if ref is None:
            return None
        fields = self._status_fields(JobStatus.CANCELLED, {})
        raw = self._change(
            "cancel",
            ref,
            fields,
            flag_ttl=self.pending_ttl,
            pending_ttl=self.pending_ttl,
            cancelling=compact_json(CANCELLING_MESSAGE),
        )
        return self._decoded(raw)

    def link_retry(self, ref: JobRef, retried_by: str) -> dict[str, Any] | None:
        """Name, in a finished job, the job that runs it again: a status event of its own (the
        status unchanged, never counted), so every stream following the job sees the link."""
        return self._decoded(self._change("link_retry", ref, {"retried_by": retried_by}, count=False))

    def renew(self, runs: Mapping[str, str], *, lease: float) -> set[str]:
        """Extend the leases of ``runs`` (job id -> token) to ``lease`` seconds from now; returns
        the job ids whose run is no longer the job's (taken over, or ended)."""
        if not runs:
            return set()
        job_ids = list(runs)
        with redis_errors_as_unavailable():
            lost = self._scripts["renew_leases"](
                keys=[keys.job(job_id) for job_id in job_ids],
                args=[int(lease * 1000), *(json.dumps(runs[job_id]) for job_id in job_ids)],
            )
        return {job_ids[int(index) - 1] for index in lost}

    def cancel_requested(self, job_ids: list[str]) -> set[str]:
        """Which of ``job_ids`` have been asked to cancel."""
        if not job_ids:
            return set()
        with redis_errors_as_unavailable():
            flags = self.client.mget([keys.cancel_flag(job_id) for job_id in job_ids])
        return {job_id for job_id, flag in zip(job_ids, flags, strict=True) if flag is not None}

    def find(self, job_id: str, *, namespace: str | None = None) -> JobRef | None:
        """The ref of an existing job (of ``namespace``, if given): for those who start from an id."""
        with redis_errors_as_unavailable():
            owner, group = self.client.hmget(keys.job(job_id), NAMESPACE_FIELD, self.group_field)
        return self.ref_of(job_id, {NAMESPACE_FIELD: owner, self.group_field: group}, namespace=namespace)

    def ref_of(
        self, job_id: str, record: Mapping[str, bytes | None], *, namespace: str | None = None
    ) -> JobRef | None:
        """The ref of the job whose record (or some of its fields, by name) is ``record``; None
        when it has none, or is not of ``namespace`` (if given)."""
        owner, group = record.get(NAMESPACE_FIELD), record.get(self.group_field)
        if owner is None or (namespace is not None and json.loads(owner) != namespace):
            return None
        return JobRef(job_id, json.loads(owner), json.loads(group) if group is not None else None)

    def record(self, job_id: str) -> dict[str, bytes]:
        """The job's whole record, the engine's own fields included, by field name (empty if none),
        with its encoded message as ``MESSAGE_FIELD`` (kept beside it, see ``message``)."""
        with redis_errors_as_unavailable(), self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.job(job_id))
            pipe.get(keys.job_message(job_id))
            raw, message = pipe.execute()
        record = {text(name): value for name, value in raw.items()}
        if record and message is not None:
            record[MESSAGE_FIELD] = message
        return record

    def message(self, job_id: str) -> bytes | None:
        """The job's encoded Dramatiq message, as its creation kept it: a key of its own beside the
        record (so that the record, every value short, stays a compact listpack hash), or the
        record's ``MESSAGE_FIELD`` for a job written before that."""
        with redis_errors_as_unavailable(), self.client.pipeline(transaction=False) as pipe:
            pipe.get(keys.job_message(job_id))
            pipe.hget(keys.job(job_id), MESSAGE_FIELD)
            kept, legacy = pipe.execute()
        return kept if kept is not None else legacy

    def snapshot(self, job_id: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any] | None:
        """The job's snapshot, or None when there is no such job in ``namespace``."""
        with redis_errors_as_unavailable():
            raw = self.client.hgetall(keys.job(job_id))
        return decode_snapshot(raw, self.fields) if owned_by(raw, namespace) else None

    def lapsed_for(self, job_id: str) -> float:
        """Seconds since the job's run lease lapsed (negative while it holds; infinite for a job
        never claimed)."""
        with redis_errors_as_unavailable():
            until = self.client.hget(keys.job(job_id), "_lease_until")
        return lapsed_since(until)

    @staticmethod
    def _status_fields(status: JobStatus, fields: dict[str, Any]) -> dict[str, Any]:
        fields = {"status": status, "message": status.default_message, **fields}
        if status.is_terminal:
            fields.setdefault("finished_at", utc_now())
            fields.setdefault("retry_at", None)
        return fields

    def _change(self, script: str, ref: JobRef, fields: dict[str, Any], **options: Any) -> Any:
        """Run one of ``lua/change/``'s scripts (``_prepare`` says how); its raw answer."""
        change = self._prepare(script, ref, fields, **options)
        with redis_errors_as_unavailable():
            if self.durable_writes and change.durable:
                raw = self._replicated(change)
            else:
                raw = self._scripts[script](keys=change.keys, args=change.args)
        return change.done(raw)

    def _prepare(
        self,
        script: str,
        ref: JobRef,
        fields: dict[str, Any],
        *,
        event: EventType = EventType.STATUS,
        count: bool = True,
        message: bytes | None = None,
        extra_keys: tuple[str, ...] = (),
        **extra: Any,
    ) -> PreparedChange:
        """The keys and arguments of one of ``lua/change/``'s scripts (``_shared.lua`` says what it
        is handed; ``extra_keys`` follow the shared ones), the change stamped with its time
        (``updated_at``: each event of the log says when it happened)."""
        fields = {**fields, "updated_at": fields.get("updated_at") or utc_now()}
        status = fields.get("status")
        counting = count and event is EventType.STATUS
        # A cancel's status depends on the job's (CANCELLED or still STARTED): its script counts it.
        in_process = counting and script != "cancel" and self.counter is not None and self.counter.running
        ends = isinstance(status, JobStatus) and status.is_terminal
        where = {"job_id": ref.job_id, "event": event.value, "namespace": ref.namespace, "group": ref.group}
        change = {
            "job_id": ref.job_id,
            "namespace": ref.namespace,
            "grouped": ref.group is not None,
            "group": ref.group,
            "held": {NAMESPACE_FIELD: compact_json(ref.namespace), self.group_field: compact_json(ref.group)},
            "run": ref.run,
            "event": event.value,
            "now_us": str(time.time_ns() // 1000),
            "ttl": self.result_ttl if ends else self.pending_ttl,
            "log_ttl": max(self.pending_ttl, self.result_ttl),
            "log_max": self.event_log_max,
            "count": counting and not in_process,
            "channels": change_channels(ref),
            "wakeup": compact_json(where)[:-1],  # the script adds the logs' entry ids and the snapshot
            **extra,
        }
        args: list[str | bytes] = [compact_json(change), *encode_fields(fields)]
        if message is not None:
            args += [MESSAGE_FIELD, message]

        def done(raw: Any) -> Any:
            if in_process and raw and isinstance(status, JobStatus) and text(raw) not in (HELD, _CANCELLED):
                job_type = fields.get("job_type") or json.loads(raw)["job_type"]
                self.counter.count(job_type, status, namespace=ref.namespace, job_id=ref.job_id)  # type: ignore[union-attr]
            return raw

        return PreparedChange(
            script, ref, [*change_keys(ref), *extra_keys], args, ends or script in DURABLE_SCRIPTS, done
        )

    def _replicated(self, change: PreparedChange) -> Any:
        """The change, then ``WAIT`` for one replica, on one connection (``WAIT`` waits for what
        its own connection wrote): a primary lost after the answer keeps the change on a replica."""
        pipe = self.client.pipeline(transaction=False)
        self._scripts[change.script](keys=change.keys, args=change.args, client=pipe)
        pipe.execute_command("WAIT", 1, int(self.durable_timeout * 1000))
        raw, replicas = pipe.execute()
        if not replicas:
            logger.warning(
                "Job %s: its change is on the primary only (no replica acknowledged it within %gs)",
                change.ref.job_id,
                self.durable_timeout,
            )
        return raw

    @staticmethod
    def _decoded(raw: Any) -> dict[str, Any] | None:
        return json.loads(raw) if raw else None


def lapsed_since(lease_until: bytes | str | None) -> float:
    """Seconds since a lease (``_lease_until``, unix ms) lapsed; infinite for none."""
    return time.time() - float(lease_until) / 1000 if lease_until is not None else math.inf


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
