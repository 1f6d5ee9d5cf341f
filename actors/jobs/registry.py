"""Public job types: which actors clients may start by name, what arguments each takes, and how
its jobs are grouped.

A public job is an ordinary Dramatiq actor declared with ``@job``, which stores a ``JobSpec`` in
the actor's options (``PUBLIC_JOB_OPTION``); the broker's own actor table is the registry, so
nothing is listed twice and nothing is looked up under another name. An actor's parameters are
its function's keyword-only parameters, read into a pydantic model (``JobSpec.arguments``): their
annotations (``Annotated`` constraints included) say what a request may send, their defaults
which fields are optional. The same model validates requests (strictly: JSON's types, no
coercion, no unknown field) and is the job type's schema in the web's OpenAPI document, so a new
job type is validated and documented with no code of its own. ``validate_payload`` checks a
request body against it, then runs the job type's own ``check``, before anything is queued.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import dramatiq
import pydantic
from dramatiq.middleware import TimeLimitExceeded

from .errors import InvalidPayload, JobCancelled, LeaseLost, UnknownJobType
from .ref import JobRef
from .states import DEFAULT_NAMESPACE, NAMESPACE_OPTION

PUBLIC_JOB_OPTION = "public_job"
DEFAULT_QUEUE = "default"

_F = TypeVar("_F", bound=Callable[..., Any])


class _CancelledRun:
    def __repr__(self) -> str:
        return "CANCELLED_RUN"


#: What a job's actor returns when its run stopped for a cancellation: a return, not a raise, so
#: Dramatiq acks the message (neither a retry nor a dead letter); the status middleware records
#: CANCELLED. (A ``JobCancelled`` raised outside the actor's own code still ends the run, as an
#: exception the job type ``throws``.)
CANCELLED_RUN = _CancelledRun()


@dataclass(frozen=True, slots=True)
class JobContext:
    """Where a job is asked for or runs: the broker (whose middleware carries each layer's parts,
    e.g. ``JobEngine.of(context.broker)``) and the job's namespace."""

    broker: dramatiq.Broker
    namespace: str


#: A job type's own request-time check: ``check(arguments, context)`` raises for arguments that
#: are well-typed but wrong (an error of the caller's layer, e.g. ``InvalidPayload``).
Check = Callable[[dict[str, Any], JobContext], None]

#: What a request's value was, in JSON's words, for error messages.
_JSON_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)
#: Types a parameter may be built from: what JSON carries (and pydantic models of it).
_JSON_LEAVES = (str, int, float, bool, type(None), typing.Any)
_JSON_CONTAINERS = (list, dict, typing.Union, typing.Literal, typing.Annotated)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What ``@job`` declared about a job type, kept in its actor's options."""

    #: The arguments' model: validates a request's body and documents it.
    arguments: type[pydantic.BaseModel]
    check: Check | None = None
    #: The argument whose value names the job's group (None: its jobs are in no group).
    group_by: str | None = None
    #: False for a job only the code starts (``submit_job(..., internal=True)``): it is tracked
    #: like any job, but clients cannot start it by name and the API does not list it.
    public: bool = True

    def group_of(self, arguments: Mapping[str, Any]) -> str | None:
        value = arguments.get(self.group_by) if self.group_by is not None else None
        return value if isinstance(value, str) and value else None

    def ref(self, message: dramatiq.Message, *, run: str = "") -> JobRef:
        """The ref of the job ``message`` carries (written to by ``run``, if given)."""
        return JobRef(message.message_id, namespace_of(message), self.group_of(message.kwargs), run)


def job(
    *,
    queue_name: str = DEFAULT_QUEUE,
    group_by: str | None = None,
    check: Check | None = None,
    public: bool = True,
    **options: Any,
) -> Callable[[_F], dramatiq.Actor]:
    """Declare a public job: a Dramatiq actor that clients may start by its actor name.

    ``group_by`` names the string parameter that places each job in a group (its group log and
    stream); ``check(arguments, context)`` runs after the type checks, before anything is queued.
    Other options go to ``dramatiq.actor``.
    """

    def decorate(fn: _F) -> dramatiq.Actor:
        spec = JobSpec(arguments=_arguments_model(fn), check=check, group_by=group_by, public=public)
        grouping = spec.arguments.model_fields.get(group_by) if group_by is not None else None
        if group_by is not None and (grouping is None or grouping.annotation is not str):
            raise TypeError(f"{fn.__name__}: group_by={group_by!r} must name a str parameter")
        # A cancelled or timed-out job ends there: another attempt would only repeat it; a run
        # that lost its lease is not the job's any more.
        throws = (*_as_tuple(options.pop("throws", ())), JobCancelled, LeaseLost, TimeLimitExceeded)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except JobCancelled:
                return CANCELLED_RUN

        return dramatiq.actor(
            run, queue_name=queue_name, throws=throws, **{PUBLIC_JOB_OPTION: spec, **options}
        )

    return decorate


def namespace_of(message: dramatiq.Message) -> str:
    """The namespace the message's job lives in."""
    return message.options.get(NAMESPACE_OPTION, DEFAULT_NAMESPACE)


def job_spec(broker: dramatiq.Broker, actor_name: str) -> JobSpec | None:
    """The spec of ``actor_name`` when it is a public job; None for any other actor."""
    actor = broker.actors.get(actor_name)
    return actor.options.get(PUBLIC_JOB_OPTION) if actor is not None else None


def public_jobs(broker: dramatiq.Broker, *, internal: bool = False) -> dict[str, dramatiq.Actor]:
    """The job types clients may start by name (and, with ``internal``, those only code starts)."""
    return {
        name: actor
        for name, actor in sorted(broker.actors.items())
        if (spec := actor.options.get(PUBLIC_JOB_OPTION)) and (spec.public or internal)
    }


def get_public_job(broker: dramatiq.Broker, job_type: str, *, internal: bool = False) -> dramatiq.Actor:
    jobs = public_jobs(broker, internal=internal)
    if job_type not in jobs:
        raise UnknownJobType(job_type, list(public_jobs(broker)))
    return jobs[job_type]


def validate_payload(
    actor: dramatiq.Actor, payload: Mapping[str, Any], *, namespace: str = DEFAULT_NAMESPACE
) -> dict[str, Any]:
    """Return the keyword arguments for ``actor`` from a request body (the fields it sent, as JSON
    values), or raise ``InvalidPayload`` (or the check's own error); the job would live in
    ``namespace``."""
    spec: JobSpec = actor.options[PUBLIC_JOB_OPTION]
    try:
        model = spec.arguments.model_validate(payload, strict=True)
    except pydantic.ValidationError as exc:
        raise invalid_payload(exc, f"Invalid arguments for {actor.actor_name}") from None
    arguments = model.model_dump(mode="json", exclude_unset=True)
    if spec.check is not None:
        spec.check(arguments, JobContext(actor.broker, namespace))
    return arguments


def invalid_payload(error: pydantic.ValidationError, heading: str) -> InvalidPayload:
    """``InvalidPayload`` naming each field's problem: "criterion: required"."""
    problems: dict[str, str] = {}
    for problem in error.errors(include_url=False):
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        problems.setdefault(field, _problem(problem))
    summary = "; ".join(f"{name}: {problem}" for name, problem in sorted(problems.items()))
    return InvalidPayload(f"{heading}: {summary}", problems=problems)


def _as_tuple(
    throws: type[BaseException] | tuple[type[BaseException], ...],
) -> tuple[type[BaseException], ...]:
    return throws if isinstance(throws, tuple) else (throws,)


def _arguments_model(fn: Callable[..., Any]) -> type[pydantic.BaseModel]:
    """A model of ``fn``'s keyword-only parameters: each one's annotation and default."""
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{fn.__name__}: public job parameters must be keyword-only ({param.name})")
        annotation = hints.get(param.name, Any)
        if not _is_json_type(annotation):
            raise TypeError(f"{fn.__name__}: parameter {param.name} has a non-JSON type {annotation}")
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    title = "".join(part.capitalize() for part in fn.__name__.split("_")) + "Arguments"
    return pydantic.create_model(
        title, __config__=pydantic.ConfigDict(extra="forbid", title=title), __doc__=fn.__doc__, **fields
    )


def _is_json_type(annotation: Any) -> bool:
    """Whether values of ``annotation`` travel as JSON (a message's arguments are JSON)."""
    if annotation in _JSON_LEAVES:
        return True
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return True
    if typing.is_typeddict(annotation):
        return all(_is_json_type(hint) for hint in typing.get_type_hints(annotation).values())
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return True
    if origin is typing.Annotated:
        return _is_json_type(typing.get_args(annotation)[0])
    if origin in _JSON_CONTAINERS or origin is types.UnionType:
        arguments = typing.get_args(annotation)
        if origin is dict and arguments and arguments[0] is not str:
            return False
        return all(_is_json_type(argument) for argument in arguments)
    return annotation in (list, dict)


def _problem(error: Any) -> str:
    """A validation error as a short phrase: "required", "must be integer, not boolean"."""
    if error["type"] == "missing":
        return "required"
    if error["type"] == "extra_forbidden":
        return "unexpected field"
    message = str(error["msg"]).replace("Input should be", "must be")
    if error["type"].endswith("_type"):
        message += f", not {_json_name(error['input'])}"
    return message


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_NAMES if isinstance(value, kind)), "value")
