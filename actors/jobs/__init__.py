"""The job engine: Dramatiq jobs whose every status change is recorded in Redis and published.

It knows nothing of what the jobs do. A job type is a Dramatiq actor declared with ``@job``; the
engine gives each job a snapshot, an ordered event log, an optional group (a log of its own, for
streams of many jobs), retries, cancellation, time limits, heartbeats and maintenance.

    settings.py   JobSettings, and how every layer declares its settings
    keys.py       every Redis key and channel name
    states.py     JobStatus, default messages, snapshot fields
    errors.py     the engine's exception tree; Redis's "unreachable" errors turned into it
    clock.py      the ISO 8601 timestamps every record and event carries
    encoding.py   how a job's record is encoded in Redis (each field a JSON document)
    ref.py        JobRef: a job, its namespace and group, and the run writing to it
    events.py     JobEvent: one change, from a wake-up, a job's log or a shared log
    store.py      JobStore: each change applied atomically by one Lua script
    scripts.py    the Lua scripts, one file an operation in lua/ (lua/change/: a job's changes)
    dramatiq_adapter.py  every use of Dramatiq beyond its public API, each pinned by a test
    registry.py   @job: public job types, their parameters, checks and groups
    engine.py     JobEngine: client, store and broker, built once from the settings
    middleware/   status, run metrics, cancellation, heartbeat, log format
    progress.py   report_progress(percent, message), current_job()
    submit.py     submit_job(): validate, write the record, send the message
    metrics.py    run-time histograms kept in Redis
    maintenance.py  periodic actors: prune workers, reap orphans, clean up
    reader.py     JobReader: async reads of snapshots, logs and listings (for the web)
    fleet.py      Fleet: async reads of workers, queues, estimates and metrics (for the web)

A job type's module needs only what this package exports.
"""

from .errors import JobCancelled
from .progress import current_job, report_progress
from .registry import JobContext, job

__all__ = ["JobCancelled", "JobContext", "current_job", "job", "report_progress"]
