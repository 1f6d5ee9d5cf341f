"""The job engine's settings, and how every layer's settings are declared and read.

Each setting is one declaration: its environment variable (the field's name in capitals), its
type, its default, its unit and one line of doc (``setting(...)``). pydantic-settings reads them
from the environment; ``from_env()`` is called once per process by whoever builds that layer
(``actors/__init__.py`` for the engine and the job types' own, the web side for its own). An unset
or empty variable takes the default; a bad value raises ``SettingsError`` naming the variable.
``defaults()`` is every declared default and nothing read from the environment: the engine's
parts take their keyword defaults from it, so no default is written twice.

The README's configuration tables are rendered from these declarations by ``markdown_table``
(``python -m service.settings`` prints them all) and a test keeps the README equal to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, NamedTuple, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    SecretStr,
    ValidationError,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


def setting(default: Any, doc: str, *, unit: str = "", **constraints: Any) -> Any:
    """A setting's declaration: its default, one line of doc, its unit and pydantic constraints."""
    return Field(default, description=doc, json_schema_extra={"unit": unit}, **constraints)


def comma_separated(parse: Callable[[str], Any] = str.strip) -> BeforeValidator:
    """Read ``"a, b"`` as ``("a", "b")`` (each item through ``parse``); a list is taken as it is."""
    return BeforeValidator(
        lambda raw: tuple(parse(i) for i in raw.split(",") if i.strip()) if isinstance(raw, str) else raw
    )


def _pairs(raw: str, shape: str) -> dict[str, str]:
    """``"a=1, b=2"`` -> ``{"a": "1", "b": "2"}``; ``shape`` names the expected form in errors."""
    pairs = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, equals, value = entry.partition("=")
        if not (name.strip() and equals and value.strip()):
            raise ValueError(f"entry {entry!r} is not {shape}")
        pairs[name.strip()] = value.strip()
    return pairs


def _host_port(entry: str) -> tuple[str, int]:
    """``"host:port"`` (``"[::1]:26379"`` for IPv6) -> ``("host", port)``."""
    host, colon, port = entry.strip().rpartition(":")
    if not (host and colon and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"entry {entry.strip()!r} is not host:port")
    return host.strip("[]"), int(port)


class RetryPolicy(NamedTuple):
    retries: NonNegativeInt
    first_backoff: Annotated[float, Field(gt=0)]
    max_backoff: Annotated[float, Field(gt=0)]


def _retry_policies(raw: Any) -> Any:
    """``"report=5/15/600"``: ``report`` jobs get 5 retries, backing off from 15 s, doubling up to 600 s."""
    if not isinstance(raw, str):
        return raw
    shape = "<job_type>=<retries>/<first s>/<max s>"
    policies = {}
    for name, value in _pairs(raw, shape).items():
        parts = value.split("/")
        if len(parts) != 3:
            raise ValueError(f"entry {name}={value} is not {shape}")
        policies[name] = tuple(parts)
    return policies


def _check_backoffs(policies: dict[str, RetryPolicy]) -> dict[str, RetryPolicy]:
    for name, policy in policies.items():
        if policy.first_backoff > policy.max_backoff:
            raise ValueError(f"{name}: the first backoff is longer than the longest")
    return policies


class EnvSettings(BaseSettings):
    """What every layer's settings share: read once, frozen, empty means unset."""

    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="ignore")

    @classmethod
    def from_env(cls) -> Self:
        try:
            return cls()
        except ValidationError as exc:
            problems = "; ".join(_problem(error) for error in exc.errors())
            raise SettingsError(problems) from None

    @classmethod
    def defaults(cls) -> Self:
        """Every declared default; nothing read from the environment."""
        return cls.model_construct()


def _problem(error: Any) -> str:
    if not error["loc"]:  # a check across settings: its message names them
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{str(error['loc'][0]).upper()}: {error['msg']}, not {error.get('input')!r}"


class JobSettings(EnvSettings):
    """The engine: Redis, job records, retries and limits, workers and maintenance, logs."""

    redis_url: str = setting("redis://localhost:6379/0", "Redis for the broker, the job store and pub/sub")
    redis_sentinels: Annotated[tuple[tuple[str, int], ...], NoDecode, comma_separated(_host_port)] = setting(
        (),
        "`host:port,…`: Redis Sentinels to ask for the primary (wins over `REDIS_URL`'s host; its "
        "database and password still apply)",
    )
    redis_sentinel_service: str = setting("mymaster", "the primary's name among the Sentinels")
    redis_sentinel_password: SecretStr = setting(SecretStr(""), "the Sentinels' own password, if any")
    durable_writes: bool = setting(
        False, "`true`: each claim and terminal change waits for one replica to acknowledge it (`WAIT`)"
    )
    redis_timeout: NonNegativeFloat = setting(
        5.0, "how long a Redis connect or command may take before the API answers 503", unit="s"
    )
    result_ttl: NonNegativeInt = setting(
        24 * 3600, "how long a finished job's snapshot and log are kept", unit="s"
    )
    pending_ttl: NonNegativeInt = setting(
        7 * 24 * 3600, "how long an unfinished job's record is kept after its last change", unit="s"
    )
    event_log_max: NonNegativeInt = setting(
        1000, "events kept per job log (approximate trim; older ones go)", unit="events"
    )
    max_retries: NonNegativeInt = setting(3, "retries after the first attempt, for job types that set none")
    job_retries: Annotated[
        dict[str, RetryPolicy], NoDecode, BeforeValidator(_retry_policies), AfterValidator(_check_backoffs)
    ] = setting(
        {},
        "`type=retries/first_backoff_s/max_backoff_s,…`: retry policy per job type "
        "(else `MAX_RETRIES`, backing off from Dramatiq's 15 s)",
    )
    job_time_limits: Annotated[
        dict[str, Annotated[float, Field(gt=0)]],
        NoDecode,
        BeforeValidator(lambda raw: _pairs(raw, "<job_type>=<seconds>") if isinstance(raw, str) else raw),
    ] = setting({}, "`type=seconds,…`: time limit per job type (Dramatiq's 600 s otherwise)")
    cancel_grace: NonNegativeFloat = setting(
        1.5, "how long a running job has to stop after a cancel before it is interrupted", unit="s"
    )
    idempotency_ttl: NonNegativeInt = setting(
        24 * 3600, "how long an `Idempotency-Key` is remembered", unit="s"
    )
    worker_heartbeat_interval: NonNegativeFloat = setting(
        5.0, "time between worker heartbeats; a worker is gone after 3 missed", unit="s"
    )
    lease_grace: NonNegativeFloat = setting(
        15.0,
        "how long after a run's lease (3 heartbeats) lapsed the reaper requeues its job (the run may "
        "still renew it after an outage)",
        unit="s",
    )
    fair_share_reserve: NonNegativeInt = setting(
        1,
        "threads of each worker process kept for tenants that run nothing in it, once there is more "
        "than one tenant (0: none)",
    )
    outage_grace: NonNegativeFloat = setting(
        30.0, "how long a worker's writes ride out a Redis outage before a job's attempt fails", unit="s"
    )
    broker_heartbeat_timeout: NonNegativeFloat = setting(
        15.0,
        "silence after which Dramatiq redelivers a worker's unacknowledged messages (the worker's "
        "heartbeat thread speaks for it, busy or not)",
        unit="s",
    )
    broker_maintenance_chance: NonNegativeInt = setting(
        1000, "of a million broker commands, how many also run that redelivery"
    )
    log_format: Literal["text", "json"] = setting("text", "`text` or `json` (one object per line)")
    worker_metrics: bool = setting(False, "`true`: Dramatiq's Prometheus exposition in each worker")
    job_modules: Annotated[tuple[str, ...], NoDecode, comma_separated()] = setting(
        (), "comma-separated extra modules whose `@job` actors are declared too"
    )


def markdown_table(settings: type[EnvSettings]) -> str:
    """The settings of ``settings`` as the README shows them: variable, default, meaning."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in settings.model_fields.items():
        unit = (field.json_schema_extra or {}).get("unit", "")  # type: ignore[union-attr]
        rows.append(f"| `{name.upper()}` | {_shown(field.default, str(unit))} | {field.description} |")
    return "\n".join(rows)


def _shown(default: Any, unit: str) -> str:
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    if default in ((), {}, ""):
        return "empty"
    text = (
        str(default).lower()
        if isinstance(default, bool)
        else f"{default:g}"
        if isinstance(default, float)
        else str(default)
    )
    shown = f"`{text}` {unit}".rstrip()
    if unit == "s" and isinstance(default, int) and default >= 3600:
        days, hours = divmod(default // 3600, 24)
        shown += f" ({days} d)" if days > 1 and not hours else f" ({default // 3600} h)"
    elif unit == "bytes" and isinstance(default, int) and default >= MIB:
        shown += f" ({default / MIB:g} MiB)"
    return shown
