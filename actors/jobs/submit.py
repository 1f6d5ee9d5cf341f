"""Starting a public job: validate its arguments, write its record, send its message; and
starting a finished one again, as a new job linked to it (``retry_job``; many at once:
``retry_jobs``).

The status middleware writes the PENDING record in ``before_enqueue``; if the send itself then
fails (Redis went away between the two writes), the job is marked FAILURE here on a best-effort
basis so that no client waits on a job that will never run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis.asyncio as aioredis

from . import keys
from .dramatiq_adapter import new_message_id, sending
from .engine import JobEngine
from .errors import (
    REDIS_UNAVAILABLE_ERRORS,
    IdempotencyKeyReused,
    JobError,
    StoreUnavailable,
    redis_errors_as_unavailable,
)
from .middleware import job_logger
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
    (blocking: run it off the event loop; the web's own path is ``submit_job_async``).
    Idempotency keys are the namespace's own.

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
    message = _message(actor, arguments, namespace, retry_of=retry_of, job_id=job_id)
    client = engine.client
    claim = _Claim.of(engine, namespace, idempotency_key, job_type, payload, message)
    if claim is not None:
        with redis_errors_as_unavailable():
            if not client.set(claim.key, claim.record, nx=True, ex=claim.ttl):
                return claim.earlier(client.get(claim.key))
    try:
        engine.broker.enqueue(message)
    except (StoreUnavailable, *REDIS_UNAVAILABLE_ERRORS) as exc:
        _mark_unsent(engine, actor.options[PUBLIC_JOB_OPTION], message)
        if claim is not None:
            with contextlib.suppress(*REDIS_UNAVAILABLE_ERRORS):
                client.delete(claim.key)  # the key may be used again: nothing was queued
        if isinstance(exc, StoreUnavailable):
            raise
        raise StoreUnavailable(f"Redis is unavailable: {exc}") from exc
    return Submitted(message.message_id)


async def submit_job_async(
    engine: JobEngine,
    client: aioredis.Redis,
    job_type: str,
    payload: Mapping[str, Any],
    *,
    namespace: str = DEFAULT_NAMESPACE,
    idempotency_key: str | None = None,
) -> Submitted:
    """``submit_job`` for the web's event loop, on its asyncio ``client``: no thread, and the job's
    record and its message written by one script in one round trip (``JobStore.create_and_send``).
    A job type's check may read Redis through the engine's synchronous client: it runs in a
    thread; a job type without one is validated in the loop (its body is at most 1 MiB)."""
    actor = get_public_job(engine.broker, job_type)
    spec: JobSpec = actor.options[PUBLIC_JOB_OPTION]
    if spec.check is None:
        arguments = validate_payload(actor, payload, namespace=namespace)
    else:
        arguments = await asyncio.to_thread(validate_payload, actor, payload, namespace=namespace)
    message = _message(actor, arguments, namespace)
    claim = _Claim.of(engine, namespace, idempotency_key, job_type, payload, message)
    if claim is not None:
        with redis_errors_as_unavailable():
            if not await client.set(claim.key, claim.record, nx=True, ex=claim.ttl):
                return claim.earlier(await client.get(claim.key))
    queued, send = sending(engine.broker, message)
    try:
        await engine.store.create_and_send(
            client, spec.ref(queued), actor.actor_name, message=queued.encode(), send=send
        )
    except StoreUnavailable:
        if claim is not None:
            with contextlib.suppress(*REDIS_UNAVAILABLE_ERRORS):
                await client.delete(claim.key)  # the key may be used again: nothing was queued
        raise
    job_logger(queued).info("Job %s queued type=%s", queued.message_id, queued.actor_name)
    return Submitted(queued.message_id)


def _message(
    actor: dramatiq.Actor,
    arguments: dict[str, Any],
    namespace: str,
    *,
    retry_of: str | None = None,
    job_id: str | None = None,
) -> dramatiq.Message:
    options: dict[str, Any] = {NAMESPACE_OPTION: namespace}
    if retry_of is not None:
        options[RETRY_OF_OPTION] = retry_of
    message = actor.message_with_options(kwargs=arguments, **options)
    return message.copy(message_id=job_id) if job_id is not None else message


@dataclass(frozen=True, slots=True)
class _Claim:
    """An ``Idempotency-Key``'s claim: its Redis key, what it records, for how long."""

    key: str
    record: str
    fingerprint: str
    ttl: int

    @classmethod
    def of(
        cls,
        engine: JobEngine,
        namespace: str,
        idempotency_key: str | None,
        job_type: str,
        payload: Mapping[str, Any],
        message: dramatiq.Message,
    ) -> _Claim | None:
        if idempotency_key is None:
            return None
        key = keys.idempotency(namespace, hashlib.sha256(idempotency_key.encode()).hexdigest())
        fingerprint = hashlib.sha256(json.dumps([job_type, payload], sort_keys=True).encode()).hexdigest()
        record = json.dumps({"job_id": message.message_id, "fingerprint": fingerprint})
        return cls(key, record, fingerprint, engine.settings.idempotency_ttl)

    def earlier(self, stored: bytes | None) -> Submitted:
        """The job an earlier request with this key made (the claim was taken: ``stored`` is
        its record, or None if it expired since); ``IdempotencyKeyReused`` for another payload."""
        earlier = json.loads(stored or self.record)
        if earlier["fingerprint"] != self.fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was used for a different request; use a new key")
        return Submitted(earlier["job_id"], created=False)


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
