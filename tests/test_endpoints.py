"""Every route declares what it needs and answers (``service.endpoints``): read from the app's own
routes, so a route added later without a declaration fails here before it is served, and one
declared public (or given a stream token, or a viewer's change) is seen here the day it is."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
from quart import Quart

import service
from service.endpoints import UNDECLARED, declaration_of, declared, declared_views, endpoint

#: The routes anyone may call, method and path: health, the dashboard's page and files, logging in.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/"),
    ("GET", "/static/<path:filename>"),
    ("POST", "/session"),
}
#: The routes a stream token opens: the job and workspace streams.
STREAM_TOKEN = {
    ("GET", "/jobs/<job_id>/events"),
    ("GET", "/events"),
    ("GET", "/workspaces/<workspace>/events"),
}
#: A viewer's changes: its session's end and the stream tokens it needs to follow its jobs.
VIEWER_MAY = {("DELETE", "/session"), ("POST", "/stream-tokens")}


@pytest.fixture(scope="module")
def app() -> Quart:
    return service.create_app()  # builds the routes; connects to nothing until it serves


def routes(app: Quart) -> set[tuple[str, str, str]]:
    """Every route as (method, path, endpoint), HEAD and OPTIONS aside (each GET's, and CORS')."""
    return {
        (method, rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def with_fact(app: Quart, fact: str) -> set[tuple[str, str]]:
    return {(method, path) for method, path, name in routes(app) if getattr(declared(name, app), fact)}


def test_every_route_of_the_app_is_declared(app: Quart) -> None:
    undeclared = sorted(name for name, declaration in declared_views(app).items() if declaration is None)
    assert not undeclared, f"declare these with @endpoint (service.endpoints): {undeclared}"
    assert len(declared_views(app)) >= 40, "quart's static files and quart-schema's pages included"


def test_an_undeclared_endpoint_needs_a_key_and_nothing_more(app: Quart) -> None:
    for name in ("no.such_endpoint", None):
        route = declared(name, app)
        assert route == UNDECLARED and route.access == "key" and not route.public
        assert not (route.viewer_may or route.stream_token or route.any_host or route.answers_when_redis_down)


def test_only_the_health_checks_the_dashboard_and_the_login_are_public(app: Quart) -> None:
    assert with_fact(app, "public") == PUBLIC
    assert with_fact(app, "any_host") == {("GET", "/healthz"), ("GET", "/readyz")}


def test_stream_tokens_open_the_streams_and_viewers_change_their_session_alone(app: Quart) -> None:
    assert with_fact(app, "stream_token") == STREAM_TOKEN
    assert with_fact(app, "viewer_may") == VIEWER_MAY
    assert with_fact(app, "answers_when_redis_down") == {("GET", "/worker/status")}


def test_the_admins_routes_are_declared_so(app: Quart) -> None:
    admins = with_fact(app, "admin_only")
    assert {path for _, path in admins} == {
        "/admin/tenants",
        "/admin/tenants/<tenant>/keys",
        "/admin/tenants/<tenant>/keys/<key_id>",
        "/queues/<queue>/dead-letters",
        "/queues/<queue>/dead-letters/<letter_id>/retry",
        "/queues/<queue>/dead-letters/<letter_id>",
        "/metrics",
        "/events/stats",
    }


def test_a_deletion_answers_no_content(app: Quart) -> None:
    deletions = {(method, path) for method, path in with_fact(app, "no_content") if method == "DELETE"}
    assert deletions == {(method, path) for method, path, _ in routes(app) if method == "DELETE"}


def test_a_declaration_is_frozen_and_leaves_its_view_as_it_was() -> None:
    async def view() -> str:
        return "ok"

    assert endpoint(access="admin", no_content=True)(view) is view
    declaration = declaration_of(view)
    assert declaration is not None and declaration.admin_only and declaration.no_content
    with pytest.raises(FrozenInstanceError):
        declaration.access = "public"  # type: ignore[misc]
    with pytest.raises(TypeError):
        endpoint(acess="public")  # a misspelt fact is an error, not a default
