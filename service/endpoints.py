"""What each endpoint needs and answers, declared on the endpoint itself: one place per fact.

A route says, next to its code, who may call it and what it answers::

    @blueprint.delete("/admin/tenants/<tenant>/keys/<key_id>")
    @endpoint(access="admin", no_content=True, errors=(404,), summary="Revoke a key.")
    async def revoke_key(tenant: str, key_id: str) -> Response: ...

``endpoint`` stores an ``Endpoint`` (frozen) on the view function; ``declared`` reads it back for
an endpoint's name through ``current_app.view_functions``. Everything that used to keep sets of
endpoint names reads it instead:

- ``auth.identity``: public or not, admin only, a stream token taken, a viewer's change allowed;
- ``auth.hosts``: answered whatever the ``Host`` (the health checks);
- ``app``: an answer while Redis is down (``/worker/status``);
- ``openapi``: documented or not, the summary, a 204, a 200 that is not JSON, every error status;
- the tests: every route of the app is declared (``declared_views``), and schemathesis holds each
  answer's status to the document built from these declarations.

An endpoint nobody declared needs a key, takes no stream token and lets no viewer change
anything: forgetting to declare a route never opens it (and a test fails until it is declared).
Views registered by others (Quart's static files) are declared with ``declare``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Literal, TypeVar

from quart import Quart, current_app

#: Who may call an endpoint: anyone, any caller with a credential (a tenant's key, session or
#: stream token, or the admin token), or the admin token alone.
Access = Literal["public", "key", "admin"]
#: The attribute of a view function that holds its declaration.
_ATTRIBUTE = "__jobs_endpoint__"
_View = TypeVar("_View", bound=Callable[..., Any])
#: The media type of Server-Sent Events.
EVENT_STREAM = "text/event-stream"


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """A success (200) answered in another type than a JSON model: an event stream, plain text."""

    media_type: str
    description: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The facts of one endpoint. The defaults are the safe ones: a key needed, nothing more."""

    access: Access = "key"
    #: A viewer's key may call it although its method changes things (its session, a stream token).
    viewer_may: bool = False
    #: It accepts a stream token (``?token=``) in place of a key: an EventSource sends no header.
    stream_token: bool = False
    #: It answers 204 with no body: its success (a deletion, a logout), or a stream's "nothing
    #: left to send". Successes with a body are documented by quart-schema's ``document_response``.
    no_content: bool = False
    #: Its 200 when that is not JSON (quart-schema documents models only).
    raw_answer: RawAnswer | None = None
    #: The error statuses the route itself answers, beyond those every route of its kind does
    #: (``openapi.implied_errors``: the Host check, authentication, rate limits, Redis).
    errors: tuple[int, ...] = ()
    #: Answered whatever the ``Host`` header says: load balancers and probes name an address.
    any_host: bool = False
    #: Answered, to a caller not identified, while Redis is down (its answer says "down" and holds
    #: nothing of anybody's).
    answers_when_redis_down: bool = False
    #: In ``/openapi.json``; pages for people (the dashboard, the docs) and files are not.
    documented: bool = True
    #: The docs' summary, a short whole sentence; empty: the docstring's first clause.
    summary: str = ""

    @property
    def public(self) -> bool:
        return self.access == "public"

    @property
    def admin_only(self) -> bool:
        return self.access == "admin"

    @property
    def streams(self) -> bool:
        """Its success is a stream of Server-Sent Events (which stays open while it has news)."""
        return self.raw_answer is not None and self.raw_answer.media_type == EVENT_STREAM


#: What an endpoint nobody declared is: one that needs a key, and nothing more.
UNDECLARED = Endpoint()


def endpoint(**facts: Any) -> Callable[[_View], _View]:
    """Declare the view function's ``Endpoint`` (the keyword arguments are its fields)."""
    declaration = Endpoint(**facts)

    def declare_on(view: _View) -> _View:
        setattr(view, _ATTRIBUTE, declaration)
        return view

    return declare_on


def declare(app: Quart, name: str, **facts: Any) -> None:
    """Declare the endpoint ``name`` that another library registered (a bound method, which takes
    no attribute): its view is wrapped in a function that carries the declaration."""
    view: Callable[..., Awaitable[Any]] = app.view_functions[name]

    @wraps(view)
    async def declared_view(*args: Any, **kwargs: Any) -> Any:
        return await view(*args, **kwargs)

    app.view_functions[name] = endpoint(**facts)(declared_view)


def declaration_of(view: Callable[..., Any] | None) -> Endpoint | None:
    """The ``Endpoint`` declared on ``view``, or None if it has none."""
    return getattr(view, _ATTRIBUTE, None)


def declared(name: str | None, app: Quart | None = None) -> Endpoint:
    """The declaration of the endpoint ``name`` (of ``app``, else the current app); the safe
    default, ``UNDECLARED``, for a name without one (or none: no route matched)."""
    views = (app or current_app).view_functions
    found = declaration_of(views.get(name)) if name is not None else None
    return found or UNDECLARED


def declared_views(app: Quart) -> dict[str, Endpoint | None]:
    """Every endpoint of ``app`` with a route, and its declaration (None where it has none)."""
    views = app.view_functions
    return {rule.endpoint: declaration_of(views.get(rule.endpoint)) for rule in app.url_map.iter_rules()}
