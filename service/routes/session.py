"""Browser sessions and stream tokens.

POST   /session         {"key": "<api key>"} -> a session cookie (secure, HttpOnly, SameSite;
                        quart-auth signs it), so the dashboard and EventSource need no secret
GET    /session         who the caller is: {tenant, key_id, via}
DELETE /session         log out
POST   /stream-tokens   {"jobs": [ids]} or {"workspace": name} -> a signed token, valid for
                        ``STREAM_TOKEN_TTL`` seconds, that the event streams accept as
                        ``?token=`` (for an EventSource on another origin, which cannot send a key)
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_auth import AuthUser, login_user, logout_user
from quart_schema import document_request, document_response

from ..auth.identity import Forbidden, Unauthenticated, identity, tenant
from ..context import services
from ..errors import NotFound
from ..schemas import Login, SessionInfo, StreamToken, StreamTokenRequest
from .params import body_as

blueprint = Blueprint("session", __name__)


@blueprint.post("/session")
@document_request(Login)
@document_response(SessionInfo)
async def login() -> Response:
    """Log in with a key: the session cookie then stands for it (public)."""
    presented = (await body_as(Login)).key
    key = await services().auth.credentials.verify(presented)
    if key is None:
        raise Unauthenticated("This key is not valid (wrong, or revoked)")
    login_user(AuthUser(key.key_id), remember=True)
    return jsonify({"tenant": key.tenant, "key_id": key.key_id})


@blueprint.get("/session")
@document_response(SessionInfo)
async def who_am_i() -> Response:
    """Who the caller is: tenant, key id, and by what (key, session, token)."""
    who = identity()
    return jsonify({"tenant": who.tenant, "key_id": who.key_id, "via": who.via})


@blueprint.delete("/session")
async def logout() -> Response:
    """Log out: the session cookie is cleared."""
    logout_user()
    return Response("", status=204)


@blueprint.post("/stream-tokens")
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
