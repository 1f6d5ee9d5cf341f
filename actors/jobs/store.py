"""The job store's write side: every change to a job, applied atomically in Redis.

One Lua script (``scripts.APPLY_CHANGE``) does the whole of a change in one step (docs/design.md,
invariants 1 and 2): it merges the new fields into the snapshot hash, takes the next per-job
``seq``, appends the snapshot to the job's event log (a stream whose entry ids are ``<seq>-0``),
to its namespace's log and, for a job in a group, to the group's log; it refreshes the keys'
time to live and publishes a wake-up on the job's channel, its namespace's (and its group's).
Once a job is terminal the script refuses further changes, so a late or duplicated hook can
never move a finished job. A change costs one script call; inside it, the record is read once
and written once, and its time to live is renewed only at the job's end or once half of it has
passed.

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

from . import keys, scripts
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
    MESSAGE_FIELD,
    NAMESPACE_FIELD,
    TERMINAL_STATES,
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
        self._apply = client.register_script(scripts.APPLY_CHANGE)
        self._renew = client.register_script(scripts.RENEW_LEASES)

    def create(
        self,
        job_id: str,
        job_type: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        group: str | None = None,
        message: bytes | None = None,
        count_here: bool = True,
        retry_of: str | None = None,
    ) -> dict[str, Any] | None:
        """Write a new job as PENDING in ``namespace``; None when a job with this id exists.

        A job in a ``group`` also appears in that group's event log and job index. ``message``
        is its encoded Dramatiq message, kept in the record for the reaper (``leases.reap``);
        ``retry_of`` the finished job it runs again (``submit.retry_job``).
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
                "created_at": (now := utc_now()),
                "updated_at": now,
                "retry_of": retry_of,
                NAMESPACE_FIELD: namespace,
            }
        )
        return self._change(
            job_id,
            namespace,
            group,
            "create",
            EventType.STATUS,
            fields,
            message=message,
            count_here=count_here,
        )

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
        count_here: bool = True,
        **fields: Any,
    ) -> dict[str, Any] | None:
        """Move a job (of ``namespace`` and ``group``) to ``status``, only from ``only_from`` if
        given, only as its current ``run`` if given (a fence: a run that lost its lease moves
        nothing), only while its lease has been lapsed ``lapsed_for`` seconds if given (the
        reaper's condition); ``message`` defaults to the status's own. The change is counted in
        the status-change metrics in the same step, unless ``count_here`` is false (a worker
        counts its own changes, in batches: ``middleware.run_metrics``). None if refused: the job
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
            job_id,
            namespace,
            group,
            mode,
            EventType.STATUS,
            {"status": status, **fields},
            run=run,
            count_here=count_here,
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
        count_here: bool = True,
        **fields: Any,
    ) -> dict[str, Any] | str | None:
        """Start a run of a job: STARTED under the new token ``run``, with a lease of ``lease``
        seconds (renewed by ``renew``) and ``attempt`` counting its runs. Allowed from PENDING, or
        from STARTED when the lease has lapsed (a takeover: the old run's writes are refused from
        now on). Returns the snapshot, ``HELD`` when another run holds a live lease, or None when
        the job is finished or unknown."""
        fields.setdefault("message", JobStatus.STARTED.default_message)
        mode = f"claim:{int(lease * 1000)}"
        fields = {"status": JobStatus.STARTED, **fields}
        return self._change(
            job_id, namespace, group, mode, EventType.STATUS, fields, run=run, count_here=count_here
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

    def link_retry(self, job_id: str, retried_by: str) -> None:
        """Name, in a finished job's record, the job that runs it again (not an event: the job
        has ended; its snapshot shows the link)."""
        with redis_errors_as_unavailable():
            self.client.hset(keys.job(job_id), "retried_by", compact_json(retried_by))

    def message(self, job_id: str) -> bytes | None:
        """The job's encoded Dramatiq message, as its creation kept it."""
        with redis_errors_as_unavailable():
            return self.client.hget(keys.job(job_id), MESSAGE_FIELD)

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
        return time.time() - float(until) / 1000 if until is not None else math.inf

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
        count_here: bool = True,
        message: bytes | None = None,
    ) -> dict[str, Any] | None:
        """Apply one change (see ``scripts.APPLY_CHANGE`` for the arguments), stamped with its
        time (``updated_at``: each event of the job's log carries when it happened)."""
        if fields.get("updated_at") is None:
            fields = {**fields, "updated_at": utc_now()}
        status = fields.get("status")
        ttl = self.result_ttl if isinstance(status, JobStatus) and status.is_terminal else self.pending_ttl
        job_keys = [
            keys.job(job_id),
            keys.job_log(job_id),
            keys.jobs_index(namespace),
            keys.METRICS_TRANSITIONS,
            keys.ACTIVE,
            keys.NAMESPACES,
            keys.tenant_log(namespace),
        ]
        if group is not None:
            job_keys += [keys.group_log(namespace, group), keys.group_jobs(namespace, group)]
        args: list[str | bytes | int] = [
            job_id,
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
            "1" if count_here else "",
            time.time_ns() // 1000,
            keys.job_channel(job_id),
            keys.group_channel(namespace, group) if group is not None else "",
            keys.tenant_channel(namespace),
            *encode_fields(fields),
        ]
        if message is not None:
            args += [MESSAGE_FIELD, message]
        with redis_errors_as_unavailable():
            raw = self._apply(keys=job_keys, args=args)
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
