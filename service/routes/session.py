"""Browser sessions and stream tokens.

POST   /session         {"key": "<api key>"} -> a session cookie (secure, HttpOnly, SameSite;
                        quart-auth signs it), so the dashboard and EventSource need no secret;
                        answers {tenant, key_id, role}.
                        A browser logged in as another tenant is never switched silently: 409
                        ``session_conflict`` naming both tenants, unless ``"replace": true``
GET    /session         who the caller is: {tenant, key_id, via, role}; role "viewer" (reads
                        only) or "member" ("admin" for the admin token)
DELETE /session         log out: the session ends on every web process (its streams too)
POST   /stream-tokens   {"jobs": [ids]} or {"workspace": name} -> a signed token, valid for
                        ``STREAM_TOKEN_TTL`` seconds, that the event streams accept as
                        ``?token=`` (for an EventSource on another origin, which cannot send a key)
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_auth import AuthUser, login_user, logout_user
from quart_schema import document_request, document_response

from ..auth.identity import Forbidden, identity, tenant
from ..context import services
from ..endpoints import endpoint
from ..errors import Conflict, NotFound
from ..schemas import Login, SessionInfo, StreamToken, StreamTokenRequest
from .params import body_as

blueprint = Blueprint("session", __name__)


@blueprint.post("/session")
@endpoint(access="public", errors=(401, 409, 413, 415, 422, 429, 503), summary="Log in with a key.")
@document_request(Login)
@document_response(SessionInfo)
async def login() -> Response:
    """Log in with a key: the session cookie then stands for a session of it (public). A browser
    logged in as another tenant gets 409 ``session_conflict`` unless it sends ``replace: true``."""
    body, auth = await body_as(Login), services().auth
    key = await auth.verify_login(body.key)
    current = await auth.current_session()
    if current is not None:
        if current.key.tenant != key.tenant and not body.replace:
            raise Conflict(
                f"This browser is logged in as tenant {current.key.tenant!r}, and this key is tenant "
                f'{key.tenant!r}\'s: log out first, or send "replace": true to switch',
                code="session_conflict",
                tenant=key.tenant,
                current_tenant=current.key.tenant,
            )
        await auth.sessions.end(current)  # one session per browser: the one it replaces ends
    session = await auth.sessions.open(key)
    login_user(AuthUser(session.session_id), remember=True)
    return jsonify({"tenant": key.tenant, "key_id": key.key_id, "role": key.role})


@blueprint.get("/session")
@endpoint(summary="Say who the caller is.")
@document_response(SessionInfo)
async def who_am_i() -> Response:
    """Who the caller is: tenant, key id, by what (key, session, token), and the key's role
    (``viewer``: reads only; ``member``: changes too)."""
    who = identity()
    return jsonify({"tenant": who.tenant, "key_id": who.key_id, "via": who.via, "role": who.role})


@blueprint.delete("/session")
@endpoint(viewer_may=True, no_content=True, summary="Log out.")
async def logout() -> Response:
    """Log out: the session ends everywhere (a replayed cookie gets 401) and its cookie is cleared."""
    auth = services().auth
    current = await auth.current_session()
    if current is not None:
        await auth.sessions.end(current)
    logout_user()
    return Response("", status=204)


@blueprint.post("/stream-tokens")
@endpoint(viewer_may=True, errors=(404, 413, 415, 422), summary="Make a stream token.")
@document_request(StreamTokenRequest)
@document_response(StreamToken)
async def stream_token() -> Response:
    """A short-lived token for an EventSource on another origin, which cannot send a key."""
    svc, who = services(), identity()
    if who.key_id is None or who.via == "token":
        raise Forbidden("A stream token is made with a key or a session")
    body = await body_as(StreamTokenRequest)
    jobs, workspace = body.jobs, body.workspace
    if jobs is not None:
        found = await svc.reader.within(tenant()).snapshots(jobs)
        missing = [job_id for job_id, snapshot in found.items() if snapshot is None]
        if missing:
            raise NotFound(
                f"No job with id {', '.join(map(repr, missing))}", code="job_not_found", missing=missing
            )
    # The key was looked up as this request was authenticated: a revoked one never gets here.
    token = svc.auth.stream_token(who.key_id, jobs=jobs, workspace=workspace)
    return jsonify({"token": token, "expires_in": svc.auth.stream_token_ttl})
