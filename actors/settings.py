"""Configuration, read once from the environment.

This module is the only place in the project that reads ``os.environ``. Everything else receives
the :class:`Settings` instance that the broker set-up in ``actors/__init__.py`` reads at import
time (``actors.settings``); ``service.create_app`` passes that same instance to the web side.

Each variable, its unit and its default is documented in the README's "Configuration" section.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
#: Finished jobs (snapshot and event log) are kept this long, in seconds.
DEFAULT_RESULT_TTL = 24 * 3600
#: Unfinished jobs are kept this long, in seconds (Dramatiq's longest delay is 7 days).
DEFAULT_PENDING_TTL = 7 * 24 * 3600
#: Seconds between ``:`` heartbeat comments on an idle event stream (Cloudflare cuts at 100 s).
DEFAULT_SSE_HEARTBEAT = 15.0
#: Milliseconds a browser waits before reconnecting a dropped stream (the SSE ``retry:`` field).
DEFAULT_SSE_RETRY_MS = 3000
#: Events buffered per stream before a client that stops reading is dropped.
DEFAULT_SSE_QUEUE_SIZE = 256
#: Seconds a stream may wait for its client to take data before the client is dropped.
DEFAULT_SSE_SEND_TIMEOUT = 30.0
#: Seconds a stream lives before it asks its client to reconnect (plus up to 10 % jitter).
DEFAULT_SSE_MAX_LIFE = 600.0
#: Seconds the legacy ``async_mode=false`` path waits for a job before answering 202.
DEFAULT_SYNC_WAIT_LIMIT = 90.0
#: Events kept per job log (approximate; older ones are trimmed).
DEFAULT_EVENT_LOG_MAX = 1000
#: Seconds between worker heartbeats; a worker is gone after three missed ones.
DEFAULT_WORKER_HEARTBEAT = 5.0
#: Retries after the first attempt, for job types that do not set their own.
DEFAULT_MAX_RETRIES = 3
#: Redis connections per web process for reads (requests wait for a free one; streams hold none).
DEFAULT_REDIS_POOL_SIZE = 16
#: Largest contract file accepted, and largest upload request, in bytes.
DEFAULT_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: The optional LLM scorer: seconds per request, retries after the first try, first backoff (s),
#: characters of a contract sent.
DEFAULT_LLM_TIMEOUT = 60.0
DEFAULT_LLM_MAX_RETRIES = 4
DEFAULT_LLM_RETRY_BASE = 2.0
DEFAULT_LLM_MAX_CHARS = 20_000
#: Seconds a running job has to stop by itself once asked to cancel, before it is interrupted.
DEFAULT_CANCEL_GRACE = 10.0
#: Seconds a job may sit STARTED on a dead worker before the reaper requeues or fails it.
DEFAULT_ORPHAN_AFTER = 180.0
#: Dramatiq's Redis broker: seconds without a heartbeat before a worker's unacknowledged messages
#: are redelivered, and how many of a million broker commands also run that maintenance.
DEFAULT_BROKER_HEARTBEAT_TIMEOUT = 60.0
DEFAULT_BROKER_MAINTENANCE_CHANCE = 1000
#: Seconds an Idempotency-Key is remembered.
DEFAULT_IDEMPOTENCY_TTL = 24 * 3600
#: Seconds a Redis command may take before the web side answers 503.
DEFAULT_REDIS_TIMEOUT = 5.0


_Number = TypeVar("_Number", int, float)


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    redis_url: str = DEFAULT_REDIS_URL
    result_ttl: int = DEFAULT_RESULT_TTL
    pending_ttl: int = DEFAULT_PENDING_TTL
    sse_heartbeat: float = DEFAULT_SSE_HEARTBEAT
    sse_retry_ms: int = DEFAULT_SSE_RETRY_MS
    sse_queue_size: int = DEFAULT_SSE_QUEUE_SIZE
    sse_send_timeout: float = DEFAULT_SSE_SEND_TIMEOUT
    sse_max_life: float = DEFAULT_SSE_MAX_LIFE
    sync_wait_limit: float = DEFAULT_SYNC_WAIT_LIMIT
    event_log_max: int = DEFAULT_EVENT_LOG_MAX
    worker_heartbeat: float = DEFAULT_WORKER_HEARTBEAT
    max_retries: int = DEFAULT_MAX_RETRIES
    redis_timeout: float = DEFAULT_REDIS_TIMEOUT
    redis_pool_size: int = DEFAULT_REDIS_POOL_SIZE
    cancel_grace: float = DEFAULT_CANCEL_GRACE
    idempotency_ttl: int = DEFAULT_IDEMPOTENCY_TTL
    orphan_after: float = DEFAULT_ORPHAN_AFTER
    #: Origins allowed to call the API from a browser ("*" for any), and whether with cookies.
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    cors_credentials: bool = False
    #: Dramatiq's own Prometheus exposition in each worker (its port: ``dramatiq_prom_port``).
    worker_metrics: bool = False
    #: "text" (the seed's lines) or "json" (one object per line, with job_id and job_type).
    log_format: str = "text"
    broker_heartbeat_timeout: float = DEFAULT_BROKER_HEARTBEAT_TIMEOUT
    broker_maintenance_chance: int = DEFAULT_BROKER_MAINTENANCE_CHANCE
    #: Time limit per job type, in seconds (Dramatiq's default of 10 minutes for the others).
    job_time_limits: dict[str, float] = field(default_factory=dict)
    #: Retry policy per job type: (retries, first backoff s, longest backoff s).
    job_retries: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    #: An OpenAI-compatible endpoint (``.../v1``); empty means no LLM scorer.
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = DEFAULT_LLM_TIMEOUT
    llm_max_retries: int = DEFAULT_LLM_MAX_RETRIES
    llm_retry_base: float = DEFAULT_LLM_RETRY_BASE
    llm_max_chars: int = DEFAULT_LLM_MAX_CHARS
    #: Extra modules whose actors are imported alongside the built-in ones (plug-in job types).
    job_modules: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            redis_url=env.get("REDIS_URL") or DEFAULT_REDIS_URL,
            result_ttl=_number(env, "RESULT_TTL", DEFAULT_RESULT_TTL, int),
            pending_ttl=_number(env, "PENDING_TTL", DEFAULT_PENDING_TTL, int),
            sse_heartbeat=_number(env, "SSE_HEARTBEAT_INTERVAL", DEFAULT_SSE_HEARTBEAT, float),
            sse_retry_ms=_number(env, "SSE_RETRY_MS", DEFAULT_SSE_RETRY_MS, int),
            sse_queue_size=_number(env, "SSE_QUEUE_SIZE", DEFAULT_SSE_QUEUE_SIZE, int),
            sse_send_timeout=_number(env, "SSE_SEND_TIMEOUT", DEFAULT_SSE_SEND_TIMEOUT, float),
            sse_max_life=_number(env, "SSE_MAX_LIFE", DEFAULT_SSE_MAX_LIFE, float),
            sync_wait_limit=_number(env, "SYNC_WAIT_LIMIT", DEFAULT_SYNC_WAIT_LIMIT, float),
            event_log_max=_number(env, "EVENT_LOG_MAX", DEFAULT_EVENT_LOG_MAX, int),
            worker_heartbeat=_number(env, "WORKER_HEARTBEAT_INTERVAL", DEFAULT_WORKER_HEARTBEAT, float),
            max_retries=_number(env, "MAX_RETRIES", DEFAULT_MAX_RETRIES, int),
            redis_timeout=_number(env, "REDIS_TIMEOUT", DEFAULT_REDIS_TIMEOUT, float),
            redis_pool_size=max(1, _number(env, "REDIS_POOL_SIZE", DEFAULT_REDIS_POOL_SIZE, int)),
            cancel_grace=_number(env, "CANCEL_GRACE", DEFAULT_CANCEL_GRACE, float),
            idempotency_ttl=_number(env, "IDEMPOTENCY_TTL", DEFAULT_IDEMPOTENCY_TTL, int),
            orphan_after=_number(env, "ORPHAN_AFTER", DEFAULT_ORPHAN_AFTER, float),
            log_format=_choice(env, "LOG_FORMAT", ("text", "json")),
            worker_metrics=_choice(env, "WORKER_METRICS", ("false", "true")) == "true",
            cors_origins=tuple(
                o.strip().rstrip("/") for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()
            ),
            cors_credentials=_choice(env, "CORS_CREDENTIALS", ("false", "true")) == "true",
            broker_heartbeat_timeout=_number(
                env, "BROKER_HEARTBEAT_TIMEOUT", DEFAULT_BROKER_HEARTBEAT_TIMEOUT, float
            ),
            broker_maintenance_chance=_number(
                env, "BROKER_MAINTENANCE_CHANCE", DEFAULT_BROKER_MAINTENANCE_CHANCE, int
            ),
            job_time_limits=_time_limits(env.get("JOB_TIME_LIMITS", "")),
            job_retries=_retry_policies(env.get("JOB_RETRIES", "")),
            max_document_bytes=_number(env, "MAX_DOCUMENT_BYTES", DEFAULT_MAX_DOCUMENT_BYTES, int),
            max_upload_bytes=_number(env, "MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, int),
            llm_base_url=env.get("LLM_BASE_URL", "").strip().rstrip("/"),
            llm_model=env.get("LLM_MODEL", "").strip(),
            llm_api_key=env.get("LLM_API_KEY", "").strip(),
            llm_timeout=_number(env, "LLM_TIMEOUT", DEFAULT_LLM_TIMEOUT, float),
            llm_max_retries=_number(env, "LLM_MAX_RETRIES", DEFAULT_LLM_MAX_RETRIES, int),
            llm_retry_base=_number(env, "LLM_RETRY_BASE", DEFAULT_LLM_RETRY_BASE, float),
            llm_max_chars=_number(env, "LLM_MAX_CHARS", DEFAULT_LLM_MAX_CHARS, int),
            job_modules=tuple(m.strip() for m in env.get("JOB_MODULES", "").split(",") if m.strip()),
        )


def _retry_policies(raw: str) -> dict[str, tuple[int, float, float]]:
    """``"score_contracts=5/15/600"`` -> 5 retries, backoff from 15 s doubling up to 600 s."""
    policies = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, _, policy = entry.partition("=")
        try:
            retries, first, longest = policy.split("/")
            parsed = (int(retries), float(first), float(longest))
        except ValueError:
            raise SettingsError(
                f"JOB_RETRIES entry {entry!r} is not <job_type>=<retries>/<first s>/<max s>"
            ) from None
        if not name.strip() or parsed[0] < 0 or not 0 < parsed[1] <= parsed[2]:
            raise SettingsError(f"JOB_RETRIES entry {entry!r} is not <job_type>=<retries>/<first s>/<max s>")
        policies[name.strip()] = parsed
    return policies


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        raise SettingsError(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


def _time_limits(raw: str) -> dict[str, float]:
    """``"score_contracts=600, audit_contracts=300"`` -> ``{"score_contracts": 600.0, ...}``."""
    limits = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, _, seconds = entry.partition("=")
        try:
            limits[name.strip()] = float(seconds)
        except ValueError:
            raise SettingsError(f"JOB_TIME_LIMITS entry {entry!r} is not <job_type>=<seconds>") from None
        if not name.strip() or limits[name.strip()] <= 0:
            raise SettingsError(f"JOB_TIME_LIMITS entry {entry!r} is not <job_type>=<seconds>")
    return limits


def _number(env: Mapping[str, str], name: str, default: _Number, kind: type[_Number]) -> _Number:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value
