"""Public job types: which actors clients may start by name, what arguments each takes, and how
its jobs are grouped.

A public job is an ordinary Dramatiq actor declared with ``@job``, which stores a ``JobSpec`` in
the actor's options (``PUBLIC_JOB_OPTION``); the broker's own actor table is the registry, so
nothing is listed twice and nothing is looked up under another name. An actor's parameters are
its function's keyword-only parameters: their annotations say which JSON types a request may
send, their defaults which fields are optional. ``validate_payload`` checks a request body
against them, then runs the job type's own ``check``, before anything is queued.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import dramatiq
from dramatiq.middleware import TimeLimitExceeded

from .errors import InvalidPayload, JobCancelled, UnknownJobType
from .states import DEFAULT_NAMESPACE, NAMESPACE_OPTION

PUBLIC_JOB_OPTION = "public_job"
DEFAULT_QUEUE = "default"

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class JobContext:
    """Where a job is asked for or runs: the broker (whose middleware carries each layer's parts,
    e.g. ``JobEngine.of(context.broker)``) and the job's namespace."""

    broker: dramatiq.Broker
    namespace: str


#: A job type's own request-time check: ``check(arguments, context)`` raises for arguments that
#: are well-typed but wrong (an error of the caller's layer, e.g. ``InvalidPayload``).
Check = Callable[[dict[str, Any], JobContext], None]

#: JSON type names shown in error messages, by the Python annotation they stand for.
_JSON_NAMES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


@dataclass(frozen=True, slots=True)
class Parameter:
    kinds: tuple[type, ...]
    required: bool


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What ``@job`` declared about a job type, kept in its actor's options."""

    parameters: dict[str, Parameter]
    check: Check | None = None
    #: The argument whose value names the job's group (None: its jobs are in no group).
    group_by: str | None = None

    def group_of(self, arguments: Mapping[str, Any]) -> str | None:
        value = arguments.get(self.group_by) if self.group_by is not None else None
        return value if isinstance(value, str) and value else None


def job(
    *,
    queue_name: str = DEFAULT_QUEUE,
    group_by: str | None = None,
    check: Check | None = None,
    **options: Any,
) -> Callable[[_F], dramatiq.Actor]:
    """Declare a public job: a Dramatiq actor that clients may start by its actor name.

    ``group_by`` names the string parameter that places each job in a group (its group log and
    stream); ``check(arguments, context)`` runs after the type checks, before anything is queued.
    Other options go to ``dramatiq.actor``.
    """

    def decorate(fn: _F) -> dramatiq.Actor:
        spec = JobSpec(parameters=_parameters(fn), check=check, group_by=group_by)
        grouping = spec.parameters.get(group_by) if group_by is not None else None
        if group_by is not None and (grouping is None or str not in grouping.kinds):
            raise TypeError(f"{fn.__name__}: group_by={group_by!r} must name a str parameter")
        # A cancelled or timed-out job ends there: another attempt would only repeat it.
        throws = (*_as_tuple(options.pop("throws", ())), JobCancelled, TimeLimitExceeded)
        return dramatiq.actor(
            fn, queue_name=queue_name, throws=throws, **{PUBLIC_JOB_OPTION: spec, **options}
        )

    return decorate


def namespace_of(message: dramatiq.Message) -> str:
    """The namespace the message's job lives in."""
    return message.options.get(NAMESPACE_OPTION, DEFAULT_NAMESPACE)


def job_spec(broker: dramatiq.Broker, actor_name: str) -> JobSpec | None:
    """The spec of ``actor_name`` when it is a public job; None for any other actor."""
    actor = broker.actors.get(actor_name)
    return actor.options.get(PUBLIC_JOB_OPTION) if actor is not None else None


def public_jobs(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor]:
    return {
        name: actor for name, actor in sorted(broker.actors.items()) if actor.options.get(PUBLIC_JOB_OPTION)
    }


def get_public_job(broker: dramatiq.Broker, job_type: str) -> dramatiq.Actor:
    jobs = public_jobs(broker)
    if job_type not in jobs:
        raise UnknownJobType(job_type, list(jobs))
    return jobs[job_type]


def validate_payload(
    actor: dramatiq.Actor, payload: Mapping[str, Any], *, namespace: str = DEFAULT_NAMESPACE
) -> dict[str, Any]:
    """Return the keyword arguments for ``actor`` from a request body, or raise ``InvalidPayload``
    (or the check's own error); the job would live in ``namespace``."""
    spec: JobSpec = actor.options[PUBLIC_JOB_OPTION]
    problems: dict[str, str] = {}
    for name in payload.keys() - spec.parameters.keys():
        problems[name] = "unexpected field"
    for name, parameter in spec.parameters.items():
        if name not in payload:
            if parameter.required:
                problems[name] = "required"
            continue
        if not any(_matches(payload[name], kind) for kind in parameter.kinds):
            wanted = " or ".join(_JSON_NAMES.get(kind, "null") for kind in parameter.kinds)
            problems[name] = f"must be {wanted}, not {_json_name(payload[name])}"
    if problems:
        summary = "; ".join(f"{name}: {problem}" for name, problem in sorted(problems.items()))
        raise InvalidPayload(f"Invalid arguments for {actor.actor_name}: {summary}", problems=problems)
    arguments = {name: payload[name] for name in spec.parameters if name in payload}
    if spec.check is not None:
        spec.check(arguments, JobContext(actor.broker, namespace))
    return arguments


def _as_tuple(
    throws: type[BaseException] | tuple[type[BaseException], ...],
) -> tuple[type[BaseException], ...]:
    return throws if isinstance(throws, tuple) else (throws,)


def _parameters(fn: Callable[..., Any]) -> dict[str, Parameter]:
    """Each keyword-only parameter: the JSON types it accepts and whether it is required."""
    hints = typing.get_type_hints(fn)
    result = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{fn.__name__}: public job parameters must be keyword-only ({param.name})")
        annotation = hints.get(param.name, Any)
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            kinds = tuple(typing.get_origin(arg) or arg for arg in typing.get_args(annotation))
        else:
            kinds = (typing.get_origin(annotation) or annotation,)
        unsupported = [kind for kind in kinds if kind not in _JSON_NAMES and kind is not type(None)]
        if unsupported:
            raise TypeError(f"{fn.__name__}: parameter {param.name} has a non-JSON type {unsupported}")
        result[param.name] = Parameter(kinds, param.default is inspect.Parameter.empty)
    return result


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
