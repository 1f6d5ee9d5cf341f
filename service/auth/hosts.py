"""Which ``Host`` a request may name and, with ``AUTH=false``, which page a change may come from.

With ``AUTH=false`` every caller is the ``local`` tenant, and "only loopback binds" keeps other
machines out but not other sites: the browser on the same machine reaches the server for them.

- **DNS rebinding**: ``evil.example`` re-resolved to 127.0.0.1 makes its page same-origin with
  the server, so it reads every answer (``/workspaces``, the documents). Its requests still say
  ``Host: evil.example``: a request whose Host is not on the allow-list is refused 400
  ``host_not_allowed``. The list is ``ALLOWED_HOSTS``; empty, it is ``localhost``, ``127.0.0.1``
  and ``[::1]`` with ``AUTH=false``, and any host with keys on (a configured list is enforced
  either way). An entry is a name (any port), ``.example.com`` for it and its subdomains, or ``*``.
- **Cross-site changes**: a form on any site may post to the server (no CORS is asked for a form;
  the answer is unread, but the job is queued). With ``AUTH=false`` a change (POST, PUT, PATCH,
  DELETE) that sends no key must come from the server's own pages, or from an origin of
  ``CORS_ORIGINS`` with ``CORS_CREDENTIALS=true``: its ``Origin`` is checked, 403
  ``cross_site_request`` otherwise, as ``identity`` checks changes made with the session cookie.
  A request without ``Origin`` (curl, a script) passes: a browser sends one with every
  cross-site change, and ``Sec-Fetch-Site`` when it has none. A request with a bearer key
  passes: no page can add one to another site's request without passing CORS first.

The health checks (declared ``any_host``: ``service.endpoints``) answer whatever the Host: load
balancers and Kubernetes probe by address (``Host: 10.0.3.7:8000``) and a probe that fails takes
the server out of service, while what they answer (up, Redis reachable) tells a rebinding page
nothing.

The app also answers no redirect: werkzeug builds a redirect's ``Location`` from the request's
Host (``/jobs//x`` was a 308 to ``http://<any Host>/jobs/x``). A path with doubled slashes is now
a 404 like any other unknown path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from quart import Quart, request

from ..endpoints import declared
from ..errors import BadRequest, refuse_unread
from ..settings import WebSettings
from .identity import Forbidden

#: The hosts an ``AUTH=false`` server answers to when ``ALLOWED_HOSTS`` is empty, on any port.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: A Host header: a name or IPv4 address, or a bracketed IPv6 address, and an optional port.
_HOST = re.compile(r"(?P<name>[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?", re.ASCII | re.IGNORECASE)
#: What a browser's ``Sec-Fetch-Site`` says of a request its page's own origin made (or a user).
_OWN_FETCH = frozenset({"same-origin", "none"})


class HostNotAllowed(BadRequest):
    code = "host_not_allowed"


def host_name(header: str | None) -> str | None:
    """The name a ``Host`` header names (lower case, no port, no final dot); None if it names none."""
    match = _HOST.fullmatch(header or "")
    return match["name"].lower().rstrip(".") if match else None


def host_allowed(name: str | None, allowed: Iterable[str]) -> bool:
    """Whether ``name`` is on the list: equal to an entry, under a ``.domain`` entry, or ``*``."""
    if not name:
        return False
    return any(
        entry in ("*", name) or (entry.startswith(".") and (name == entry[1:] or name.endswith(entry)))
        for entry in allowed
    )


def register_host_checks(app: Quart, settings: WebSettings) -> None:
    """Refuse Hosts off the list and (``AUTH=false``) cross-site changes; make no redirect."""
    allowed = settings.allowed_hosts or (() if settings.auth else LOOPBACK_HOSTS)
    trusted = frozenset(origin.lower() for origin in settings.cors_origins if settings.cors_credentials)
    # Werkzeug's redirects would name the request's Host. No route ends with a slash (so none
    # redirects to add one; a test checks); these two are the others.
    app.url_map.merge_slashes = False
    app.url_map.redirect_defaults = False

    @app.before_request
    async def _check_host_and_origin() -> None:
        if declared(request.endpoint).any_host:
            return
        header = request.headers.get("Host")
        if allowed and not host_allowed(host_name(header), allowed):
            await refuse_unread(
                HostNotAllowed(
                    f"This server does not answer to Host {(header or '')[:100]!r}; "
                    "list it in ALLOWED_HOSTS to serve it"
                )
            )
        if not settings.auth and request.method in _CHANGES and not _sends_a_key():
            await _check_origin(trusted)


def _sends_a_key() -> bool:
    """A bearer key (checked by ``identity``): no page can add one to a cross-site request without
    passing CORS first, while a browser adds a cached Basic login by itself."""
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


async def _check_origin(trusted: frozenset[str]) -> None:
    """With ``AUTH=false``, a change comes from the server's own pages, a trusted origin or no page."""
    origin, site = request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site")
    if origin is None:
        if site is None or site.lower() in _OWN_FETCH:
            return
        came_from = f"Sec-Fetch-Site {site[:20]}"
    else:
        # The host alone, as identity compares it: behind a proxy ending TLS, Origin says https.
        # (An origin is scheme://host[:port]; "null" and the malformed name no host.)
        _, separator, netloc = origin.lower().partition("://")
        if (separator and netloc and netloc == request.host.lower()) or origin.lower() in trusted:
            return
        came_from = f"Origin {origin[:100]}"
    await refuse_unread(
        Forbidden(
            f"With AUTH=false a change must come from this service's own pages ({came_from})",
            code="cross_site_request",
        )
    )
