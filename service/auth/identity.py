"""Who is asking: every request but the public ones is a tenant's (or the admin's), or a 401.

A request names its caller one way, tried in this order:

    Authorization: Bearer <admin token>   the admin: tenants' keys, metrics, every tenant's jobs
    Authorization: Bearer <api key>       a tenant, by one of its keys (programs, other origins)
    ?token=<stream token>                 a tenant, on the event streams only, for what the
                                          token names (an EventSource cannot send a header)
    the session cookie                    a tenant, after ``POST /session`` with a key (browsers
                                          on the service's own origin; quart-auth signs it, and
                                          it names a session kept in Redis: ``sessions.py``)
    AUTH=off                              the ``local`` tenant (loopback binds only)

Keys, sessions and stream tokens all name a key id, which is looked up on every request, so a
revoked key stops at once; a session is looked up too, so one logged out stops at once. A
cookie-authenticated request that changes something must come from the service's own origin (or
an allowed one): its ``Origin`` header is checked (CSRF).

What each route needs is declared on the route (``service.endpoints``): public or not, the
admin's alone, a stream token taken. A route the admin's alone is refused to any other caller
with 403 ``forbidden``, before it runs.

A viewer key (``credentials.ROLES``), and a session or stream token made from one, only reads:
every request that may change something (POST, PUT, PATCH, DELETE) is refused here with 403
``read_only_key``, for every route at once, those added later included, but those declared
``viewer_may`` (logging out, asking for a stream token, which a viewer needs to follow its jobs).
Logging in is public.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from quart import g, request
from quart_auth import current_user

from ..endpoints import Endpoint, declared
from ..errors import ApiError
from .credentials import MEMBER, VIEWER, ApiKey, Credentials
from .sessions import Session, Sessions
from .throttle import FailureThrottle

#: The tenant AUTH=off acts as, and the local set-up creates a key for.
LOCAL_TENANT = "local"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: What ``GET /session`` reports of the admin token, which has no key and so no key's role.
ADMIN_ROLE = "admin"
_TOKEN_SALT = "stream-token"


class Unauthenticated(ApiError):
    status = 401
    code = "unauthenticated"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"WWW-Authenticate": 'Bearer realm="jobs"'})


class WrongCredentials(Unauthenticated):
    """A credential was presented and is not (or no longer) valid: a guess, as far as anyone can
    tell, counted against its client (``throttle.py``)."""


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class ReadOnlyKey(Forbidden):
    code = "read_only_key"


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller: a tenant (by one of its keys), or the admin (no tenant, no key)."""

    tenant: str | None
    key_id: str | None
    via: str
    #: The key's role (``member`` or ``viewer``); ``admin`` for the admin token.
    role: str = MEMBER
    #: For a stream token: the job ids, or the workspace, it may stream; None for the others.
    jobs: frozenset[str] | None = None
    workspace: str | None = None
    #: For a session: its id, and when it ends by itself (unix seconds).
    session_id: str | None = None
    expires_at: float | None = None

    @property
    def is_admin(self) -> bool:
        return self.via == "admin"

    @property
    def read_only(self) -> bool:
        return self.role == VIEWER

    @property
    def owners(self) -> tuple[str, ...]:
        """The ids whose end ends what this caller holds open (streams, waits): its key's, and
        its session's."""
        return tuple(owner for owner in (self.key_id, self.session_id) if owner is not None)


@dataclass
class Authenticator:
    credentials: Credentials
    sessions: Sessions
    throttle: FailureThrottle
    admin_token: str
    signing_secret: str
    stream_token_ttl: float
    auth_on: bool = True
    #: Origins a cookie-authenticated change may come from, besides the service's own.
    trusted_origins: frozenset[str] = field(default_factory=frozenset)

    async def identify(self) -> Identity:
        """The current request's caller, or ``Unauthenticated``; a client past its failed
        authentications for the minute is refused (429) before its credentials are looked at.
        A caller the route does not take is refused (403): a viewer's change, anyone but the
        admin on the admin's routes."""
        address = request.remote_addr or "unknown"
        self.throttle.check(address)
        route = declared(request.endpoint)
        try:
            who = await self._identify(route)
        except WrongCredentials:
            await self.throttle.failed(address)
            raise
        _check_role(who, route)
        if route.admin_only and not who.is_admin:
            raise Forbidden("This needs the admin token")
        return who

    async def verify_login(self, presented: str) -> ApiKey:
        """The key a login presents, or ``WrongCredentials`` (throttled as ``identify`` is)."""
        address = request.remote_addr or "unknown"
        self.throttle.check(address)
        key = await self.credentials.verify(presented)
        if key is None:
            await self.throttle.failed(address)
            raise WrongCredentials("This key is not valid (wrong, or revoked)")
        return key

    async def _identify(self, route: Endpoint) -> Identity:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() == "bearer" and presented.strip():
            presented = presented.strip()
            if self.admin_token and hmac.compare_digest(presented.encode(), self.admin_token.encode()):
                return Identity(None, None, "admin", role=ADMIN_ROLE)
            key = await self.credentials.verify(presented)
            if key is None:
                raise WrongCredentials("This key is not valid (wrong, or revoked)")
            return Identity(key.tenant, key.key_id, "bearer", role=key.role)
        if "token" in request.args and route.stream_token:
            return await self._from_stream_token(request.args["token"])
        if current_user.auth_id is not None:
            session = await self.current_session()
            if session is None:
                raise WrongCredentials("This session has ended (logged out, expired, revoked); log in again")
            self._check_origin()
            key, ends = session.key, session.expires_at
            return Identity(
                key.tenant,
                key.key_id,
                "session",
                role=key.role,
                session_id=session.session_id,
                expires_at=ends,
            )
        if not self.auth_on:
            return Identity(LOCAL_TENANT, None, "local")
        raise Unauthenticated(
            "Send Authorization: Bearer <key>, log in with POST /session, or use a stream token"
        )

    async def current_session(self) -> Session | None:
        """The live session the request's cookie names, if any (and its key still exists)."""
        if current_user.auth_id is None:
            return None
        session = await self.sessions.find(current_user.auth_id)
        if session is None or await self.credentials.lookup(session.key.key_id) is None:
            return None
        return session

    def stream_token(
        self, key_id: str, *, jobs: list[str] | None = None, workspace: str | None = None
    ) -> str:
        """A signed token for the key ``key_id`` to stream ``jobs``, or every job of ``workspace``."""
        scope: dict[str, Any] = {"k": key_id}
        if jobs is not None:
            scope["j"] = jobs
        else:
            scope["w"] = workspace
        return self._serializer().dumps(scope)

    async def _from_stream_token(self, token: str) -> Identity:
        try:
            scope = self._serializer().loads(token, max_age=self.stream_token_ttl)
        except SignatureExpired:
            raise Unauthenticated(
                "This stream token has expired; ask for a new one", code="token_expired"
            ) from None
        except BadSignature:
            raise WrongCredentials("This stream token is not valid") from None
        key = await self.credentials.lookup(scope["k"])
        if key is None:
            raise WrongCredentials("This stream token's key was revoked")
        jobs = frozenset(scope["j"]) if "j" in scope else None
        return Identity(key.tenant, key.key_id, "token", role=key.role, jobs=jobs, workspace=scope.get("w"))

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.signing_secret, salt=_TOKEN_SALT)

    def _check_origin(self) -> None:
        """A change made with the session cookie must come from a page of a trusted origin."""
        if request.method not in _UNSAFE_METHODS:
            return
        origin = request.headers.get("Origin")
        # The host alone: behind a proxy that ends TLS the request arrives as http, its Origin https.
        same_site = origin is not None and urlsplit(origin).netloc.lower() == request.host.lower()
        if origin is None or not (same_site or origin.lower() in self.trusted_origins):
            raise Forbidden(
                "A change made with the session cookie must come from this service's own pages "
                f"(Origin {origin or 'missing'})",
                code="cross_site_request",
            )


def _check_role(who: Identity, route: Endpoint) -> None:
    """A viewer's request that may change something is refused, whatever its route (by method:
    a route added later is covered the day it is added), but on a route declared ``viewer_may``."""
    if who.read_only and request.method in _UNSAFE_METHODS and not route.viewer_may:
        route = request.url_rule.rule if request.url_rule is not None else "this route"  # not the raw path
        raise ReadOnlyKey(
            f"This key may only read: it is a viewer key of tenant {who.tenant!r}, and "
            f"{request.method} {route} changes things. A member key may submit, cancel, retry, "
            "upload or delete"
        )


def identity() -> Identity:
    """The current request's caller (set before the route runs)."""
    who = g.get("identity")
    if who is None:  # a route reached without authentication (a preflight): nobody
        raise Unauthenticated("Send an API key (Authorization: Bearer <key>) or log in")
    return who


def tenant() -> str:
    """The current request's tenant; the admin must name one where a route allows it."""
    who = identity()
    if who.tenant is None:
        raise Forbidden("The admin token manages keys and reads metrics; use a tenant's key for this")
    return who.tenant


def check_stream_scope(*, jobs: list[str] | None = None, workspace: str | None = None) -> None:
    """A stream token streams only what it names; keys and sessions stream anything of theirs."""
    who = identity()
    if who.via != "token":
        return
    if jobs is not None and (who.jobs is None or not set(jobs) <= who.jobs):
        raise Forbidden("This stream token is for other jobs")
    if workspace is not None and who.workspace != workspace:
        raise Forbidden("This stream token is for another workspace")
