"""Public job types: which actors clients may start by name, and what arguments each takes.

A public job is an ordinary Dramatiq actor declared with ``@job`` (which sets the actor option
``public_job``); the broker's own actor table is the registry, so nothing is listed twice. An
actor's parameters are its function's keyword-only parameters: their annotations say which JSON
types a request may send, their defaults which fields are optional. ``validate_payload`` checks a
request body against them before anything is queued.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import dramatiq
from dramatiq.middleware import TimeLimitExceeded

from .errors import InvalidPayload, JobCancelled, UnknownJobType

PUBLIC_JOB_OPTION = "public_job"
DEFAULT_QUEUE = "default"

_F = TypeVar("_F", bound=Callable[..., Any])

#: JSON type names shown in error messages, by the Python annotation they stand for.
_JSON_NAMES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


#: Request-time checks beyond types, by job type (see ``job(check=...)``).
_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {}


def job(
    *,
    queue_name: str = DEFAULT_QUEUE,
    check: Callable[[dict[str, Any]], None] | None = None,
    **options: Any,
) -> Callable[[_F], dramatiq.Actor]:
    """Declare a public job: a Dramatiq actor that clients may start by its function's name.

    ``check(kwargs)`` runs after the type checks, before anything is queued, and raises a
    ``JobServiceError`` (e.g. ``InvalidPayload``) for arguments that are well-typed but wrong.
    """

    def decorate(fn: _F) -> dramatiq.Actor:
        _check_parameters(fn)
        if check is not None:
            _CHECKS[fn.__name__] = check
        # A cancelled or timed-out job ends there: another attempt would only repeat it.
        throws = (*_as_tuple(options.pop("throws", ())), JobCancelled, TimeLimitExceeded)
        return dramatiq.actor(
            fn, queue_name=queue_name, throws=throws, **{PUBLIC_JOB_OPTION: True, **options}
        )

    return decorate


def _as_tuple(
    throws: type[BaseException] | tuple[type[BaseException], ...],
) -> tuple[type[BaseException], ...]:
    return throws if isinstance(throws, tuple) else (throws,)


def public_jobs(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor]:
    return {
        name: actor for name, actor in sorted(broker.actors.items()) if actor.options.get(PUBLIC_JOB_OPTION)
    }


def get_public_job(broker: dramatiq.Broker, job_type: str) -> dramatiq.Actor:
    jobs = public_jobs(broker)
    if job_type not in jobs:
        raise UnknownJobType(job_type, list(jobs))
    return jobs[job_type]


def validate_payload(actor: dramatiq.Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return the keyword arguments for ``actor`` from a request body, or raise ``InvalidPayload``."""
    parameters = _parameters(actor.fn)
    problems: dict[str, str] = {}
    for name in payload.keys() - parameters.keys():
        problems[name] = "unexpected field"
    for name, (kinds, required) in parameters.items():
        if name not in payload:
            if required:
                problems[name] = "required"
            continue
        if not any(_matches(payload[name], kind) for kind in kinds):
            wanted = " or ".join(_JSON_NAMES.get(kind, "null") for kind in kinds)
            problems[name] = f"must be {wanted}, not {_json_name(payload[name])}"
    if problems:
        summary = "; ".join(f"{name}: {problem}" for name, problem in sorted(problems.items()))
        raise InvalidPayload(f"Invalid arguments for {actor.actor_name}: {summary}", problems=problems)
    kwargs = {name: payload[name] for name in parameters if name in payload}
    check = _CHECKS.get(actor.actor_name)
    if check is not None:
        check(kwargs)
    return kwargs


def _parameters(fn: Callable[..., Any]) -> dict[str, tuple[tuple[type, ...], bool]]:
    """Each keyword-only parameter: the types it accepts and whether it is required."""
    hints = typing.get_type_hints(fn)
    result = {}
    for param in inspect.signature(fn).parameters.values():
        annotation = hints.get(param.name, Any)
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            kinds = tuple(typing.get_origin(arg) or arg for arg in typing.get_args(annotation))
        else:
            kinds = (typing.get_origin(annotation) or annotation,)
        result[param.name] = (kinds, param.default is inspect.Parameter.empty)
    return result


def _check_parameters(fn: Callable[..., Any]) -> None:
    for param in inspect.signature(fn).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{fn.__name__}: public job parameters must be keyword-only ({param.name})")
    for name, (kinds, _) in _parameters(fn).items():
        unsupported = [kind for kind in kinds if kind not in _JSON_NAMES and kind is not type(None)]
        if unsupported:
            raise TypeError(f"{fn.__name__}: parameter {name} has a non-JSON type {unsupported}")


def _matches(value: Any, kind: type) -> bool:
    if kind is type(None):
        return value is None
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    return next((name for kind, name in reversed(_JSON_NAMES.items()) if isinstance(value, kind)), "value")
