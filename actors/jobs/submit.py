"""Starting a public job: validate its arguments, write its record, send its message; and
starting a finished one again, as a new job linked to it (``retry_job``; many at once:
``retry_jobs``).

The status middleware writes the PENDING record in ``before_enqueue``; if the send itself then
fails (Redis went away between the two writes), the job is marked FAILURE here on a best-effort
basis so that no client waits on a job that will never run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dramatiq

from . import keys
from .dramatiq_adapter import new_message_id
from .engine import JobEngine
from .errors import (
    REDIS_UNAVAILABLE_ERRORS,
    IdempotencyKeyReused,
    JobError,
    StoreUnavailable,
    redis_errors_as_unavailable,
)
from .registry import PUBLIC_JOB_OPTION, JobSpec, get_public_job, job_spec, validate_payload
from .states import (
    DEFAULT_NAMESPACE,
    MESSAGE_FIELD,
    NAMESPACE_FIELD,
    NAMESPACE_OPTION,
    RETRY_OF_OPTION,
    JobStatus,
)

logger = logging.getLogger("jobs")


@dataclass(frozen=True, slots=True)
class Submitted:
    job_id: str
    #: False when an ``Idempotency-Key`` matched an earlier request: no new job was made.
    created: bool = True


def submit_job(
    engine: JobEngine,
    job_type: str,
    payload: Mapping[str, Any],
    *,
    namespace: str = DEFAULT_NAMESPACE,
    idempotency_key: str | None = None,
    internal: bool = False,
    retry_of: str | None = None,
    job_id: str | None = None,
) -> Submitted:
    """Enqueue ``job_type`` with ``payload`` on the engine's broker, as a job of ``namespace``
    (blocking: run it off the event loop). Idempotency keys are the namespace's own.

    With an ``idempotency_key`` already used within ``IDEMPOTENCY_TTL`` for the same job type and
    payload, nothing is enqueued and the earlier job is returned; for another payload,
    ``IdempotencyKeyReused`` is raised. ``retry_of`` names the finished job this one runs again
    (its snapshot shows it). ``job_id`` is the new job's id, for a caller that must name the job in
    records it writes first (from ``new_job_id()``; default: a new one). ``internal`` allows the
    job types declared ``public=False``, which only code starts. Raises ``UnknownJobType`` and
    ``InvalidPayload`` before anything is written, and ``StoreUnavailable`` when Redis cannot be
    reached (then nothing was queued).
    """
    actor = get_public_job(engine.broker, job_type, internal=internal)
    arguments = validate_payload(actor, payload, namespace=namespace)
    options: dict[str, Any] = {NAMESPACE_OPTION: namespace}
    if retry_of is not None:
        options[RETRY_OF_OPTION] = retry_of
    message = actor.message_with_options(kwargs=arguments, **options)
    if job_id is not None:
        message = message.copy(message_id=job_id)
    client = engine.client
    claim = None
    if idempotency_key is not None:
        claim = keys.idempotency(namespace, hashlib.sha256(idempotency_key.encode()).hexdigest())
        fingerprint = hashlib.sha256(json.dumps([job_type, payload], sort_keys=True).encode()).hexdigest()
        record = json.dumps({"job_id": message.message_id, "fingerprint": fingerprint})
        with redis_errors_as_unavailable():
            if not client.set(claim, record, nx=True, ex=engine.settings.idempotency_ttl):
                earlier = json.loads(client.get(claim) or record)
                if earlier["fingerprint"] != fingerprint:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was used for a different request; use a new key"
                    )
                return Submitted(earlier["job_id"], created=False)
    try:
        engine.broker.enqueue(message)
    except (StoreUnavailable, *REDIS_UNAVAILABLE_ERRORS) as exc:
        _mark_unsent(engine, actor.options[PUBLIC_JOB_OPTION], message)
        if claim is not None:
            with contextlib.suppress(*REDIS_UNAVAILABLE_ERRORS):
                client.delete(claim)  # the key may be used again: nothing was queued
        if isinstance(exc, StoreUnavailable):
            raise
        raise StoreUnavailable(f"Redis is unavailable: {exc}") from exc
    return Submitted(message.message_id)


def new_job_id() -> str:
    """An id for a job not yet submitted (as the broker would make it): ``submit_job(job_id=...)``."""
    return new_message_id()


def retry_job(engine: JobEngine, job_id: str, *, namespace: str) -> Submitted | None:
    """Start the finished job ``job_id`` of ``namespace`` again: a new job of the same type with
    the same arguments (checked again, as for any new job), linked both ways (``retry_of`` in the
    new snapshot, ``retried_by`` in the old). None when the job's message is no longer kept
    (another namespace's job, an expired one, or one of an internal type); raises as
    ``submit_job`` does (a workspace emptied since, say)."""
    outcome = retry_jobs(engine, [job_id], namespace=namespace)[job_id]
    if isinstance(outcome, JobError):
        raise outcome
    return outcome


def retry_jobs(
    engine: JobEngine, job_ids: list[str], *, namespace: str
) -> dict[str, Submitted | JobError | None]:
    """``retry_job`` for each of ``job_ids`` (finished jobs of ``namespace``), their records read
    in one round trip: each job's new ``Submitted``, None when it cannot run again, or the
    ``JobError`` its new start raised (its arguments no longer pass their check, say). Raises
    ``StoreUnavailable`` when Redis cannot be reached (the jobs retried so far are retried)."""
    with redis_errors_as_unavailable(), engine.client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(keys.job(job_id), MESSAGE_FIELD, NAMESPACE_FIELD, engine.store.group_field)
            pipe.get(keys.job_message(job_id))
        replies = pipe.execute()
    outcomes: dict[str, Submitted | JobError | None] = {}
    records = zip(replies[::2], replies[1::2], strict=True)
    for job_id, ((legacy, owner, group), kept) in zip(job_ids, records, strict=True):
        outcomes[job_id] = None
        encoded = kept if kept is not None else legacy  # in the record: a job from before its key
        fields = {NAMESPACE_FIELD: owner, engine.store.group_field: group}
        ref = engine.store.ref_of(job_id, fields, namespace=namespace)
        if encoded is None or ref is None:
            continue
        old = dramatiq.Message.decode(encoded)
        spec = job_spec(engine.broker, old.actor_name)
        if spec is None or not spec.public:
            continue
        try:
            submitted = submit_job(engine, old.actor_name, old.kwargs, namespace=namespace, retry_of=job_id)
        except StoreUnavailable:
            raise
        except JobError as exc:
            outcomes[job_id] = exc
            continue
        engine.store.link_retry(ref, submitted.job_id)
        outcomes[job_id] = submitted
    return outcomes


def _mark_unsent(engine: JobEngine, spec: JobSpec, message: dramatiq.Message) -> None:
    try:
        engine.store.transition(
            spec.ref(message),
            JobStatus.FAILURE,
            error={"type": "enqueue_failed", "message": "The job could not be queued"},
        )
    except StoreUnavailable:
        logger.warning("Job %s could not be queued, nor marked failed: Redis unavailable", message.message_id)
