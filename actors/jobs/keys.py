"""Every Redis key and channel name of the job engine; nothing else in the engine builds one.

The engine's keys share the ``jobs:`` prefix; Dramatiq's broker keys live under its own
(``dramatiq``) and are named here too, so that queue depths can be read without guessing at its
layout. A job lives in a *namespace* (one per tenant, for the web): the keys through which jobs
are found (listings, groups, idempotency keys) carry it, and a job's snapshot records it.

    jobs:job:<job_id>            hash   the job snapshot, one JSON-encoded value per field (and the
                                        engine's own ``_`` fields: namespace, run token and lease,
                                        expiry, the latest event's name when not ``status``)
    jobs:history:<job_id>        list   the job's event log as steps back from its record: one entry
                                        per event before the latest, oldest first (``history.py``)
    jobs:message:<job_id>        string the job's encoded Dramatiq message (the reaper's, a retry's,
                                        the arguments'), kept as long as its record
    jobs:index:<ns>              zset   the namespace's job ids by creation time (µs), for listings
    jobs:group-log:<ns>:<group>  stream the group's event log (all its jobs), auto ids
    jobs:group-jobs:<ns>:<group> zset   the group's job ids by creation time (µs)
    jobs:groups:<ns>             zset   the namespace's groups -> their last job's creation (unix s),
                                        so maintenance finds the group indexes without a SCAN
    jobs:tenant-log:<ns>         stream the namespace's event log (every job of it), auto ids
    jobs:events:job:<job_id>     pubsub the job's wake-ups, one message per event after its creation
    jobs:events:group:<ns>:<g>   pubsub the wake-ups of every job of a group
    jobs:events:tenant:<ns>      pubsub the wake-ups of every job of a namespace
    jobs:metrics:transitions     hash   "<job_type>\\t<status>" -> status changes counted
    jobs:metrics:run-times       hash   "<job_type>\\t<bucket|sum|count>" -> run-time histogram
    jobs:metrics:recent:<type>   list   the job type's latest run times (s), newest first
    jobs:metrics:ended:<ns>:<m>  hash   status -> the namespace's jobs that ended in minute m (unix
                                        minutes) as workers count them; kept two hours
    jobs:idem:<ns>:<sha256>      string the job an Idempotency-Key made, and its request's fingerprint
    jobs:active                  zset   job id -> its creation time (µs, > 0) until its first start
                                        (a queue position); -(its start, unix s) while STARTED
    jobs:cancel:<job_id>         string set when a job is asked to cancel (its workers look)
    jobs:workers                 zset   worker id -> last heartbeat (unix seconds)
    jobs:worker:<worker_id>      hash   host, pid, queues, threads, started_at, last_heartbeat, state,
                                        running, running_jobs (its jobs at its last heartbeat)
    jobs:reaper-turn             string the worker whose heartbeat runs the reaper this round
    jobs:namespaces              zset   namespace -> when it last created a job (unix s), for fairness
    jobs:parked:<ns>             list   the namespace's messages waiting for a fair share of threads
    jobs:parked                  set    the namespaces with parked messages
    <ns>:<queue>                 list   Dramatiq's ready messages
    <ns>:<queue>.DQ              list   Dramatiq's delayed messages (retries, eta)
    <ns>:<queue>.XQ              zset   Dramatiq's dead letters (message id -> when, unix ms)
    <ns>:<queue>.XQ.msgs         hash   their encoded messages

The job store's Lua script is handed every key it touches in ``KEYS`` (Redis's scripting rule),
so these functions are the only spelling of each name.
"""

from __future__ import annotations

PREFIX = "jobs"
DRAMATIQ_NAMESPACE = "dramatiq"

#: The prefix of every wake-up channel (see job_channel, group_channel, tenant_channel).
EVENTS_CHANNEL = f"{PREFIX}:events"
METRICS_TRANSITIONS = f"{PREFIX}:metrics:transitions"
#: Per-bucket run counts (the cumulative ``jobs:metrics:durations`` of earlier versions is not read).
METRICS_DURATIONS = f"{PREFIX}:metrics:run-times"
ACTIVE = f"{PREFIX}:active"
WORKERS = f"{PREFIX}:workers"
REAPER_TURN = f"{PREFIX}:reaper-turn"
NAMESPACES = f"{PREFIX}:namespaces"
PARKED = f"{PREFIX}:parked"


def job(job_id: str) -> str:
    return f"{PREFIX}:job:{job_id}"


def job_history(job_id: str) -> str:
    return f"{PREFIX}:history:{job_id}"


def job_message(job_id: str) -> str:
    return f"{PREFIX}:message:{job_id}"


def jobs_index(namespace: str) -> str:
    return f"{PREFIX}:index:{namespace}"


def group_log(namespace: str, group: str) -> str:
    return f"{PREFIX}:group-log:{namespace}:{group}"


def group_jobs(namespace: str, group: str) -> str:
    return f"{PREFIX}:group-jobs:{namespace}:{group}"


def groups(namespace: str) -> str:
    return f"{PREFIX}:groups:{namespace}"


def tenant_log(namespace: str) -> str:
    return f"{PREFIX}:tenant-log:{namespace}"


def job_channel(job_id: str) -> str:
    return f"{EVENTS_CHANNEL}:job:{job_id}"


def group_channel(namespace: str, group: str) -> str:
    return f"{EVENTS_CHANNEL}:group:{namespace}:{group}"


def tenant_channel(namespace: str) -> str:
    return f"{EVENTS_CHANNEL}:tenant:{namespace}"


def ended_in_minute(namespace: str, minute: int) -> str:
    return f"{PREFIX}:metrics:ended:{namespace}:{minute}"


def recent_durations(job_type: str) -> str:
    return f"{PREFIX}:metrics:recent:{job_type}"


def idempotency(namespace: str, key_digest: str) -> str:
    return f"{PREFIX}:idem:{namespace}:{key_digest}"


def parked(namespace: str) -> str:
    return f"{PREFIX}:parked:{namespace}"


def cancel_flag(job_id: str) -> str:
    return f"{PREFIX}:cancel:{job_id}"


def worker(worker_id: str) -> str:
    return f"{PREFIX}:worker:{worker_id}"


def queue(queue_name: str, namespace: str = DRAMATIQ_NAMESPACE) -> str:
    return f"{namespace}:{queue_name}"


def queue_messages(queue_name: str, namespace: str = DRAMATIQ_NAMESPACE) -> str:
    return f"{namespace}:{queue_name}.msgs"


def delay_queue(queue_name: str, namespace: str = DRAMATIQ_NAMESPACE) -> str:
    return f"{namespace}:{queue_name}.DQ"


def dead_letters(queue_name: str, namespace: str = DRAMATIQ_NAMESPACE) -> str:
    return f"{namespace}:{queue_name}.XQ"


def dead_letter_messages(queue_name: str, namespace: str = DRAMATIQ_NAMESPACE) -> str:
    return f"{namespace}:{queue_name}.XQ.msgs"
