"""The HTTP routes, one blueprint per module.

jobs.py        create, read (and long-poll), list and cancel jobs; the seed's /score and /audit
bulk.py        retry or cancel the jobs a filter matches
events.py      event streams: one job, several jobs, a workspace; the streams' figures
workspaces.py  upload, list and delete contract documents
ops.py         /healthz, /readyz, /metrics, /worker/status
queues.py      the queues' dead letters: list, run again, forget (the admin's)
params.py      reading query parameters, headers and JSON bodies
"""

from __future__ import annotations

from quart import Quart

from . import admin, bulk, events, jobs, ops, queues, session, workspaces


def register_routes(app: Quart) -> None:
    for module in (jobs, bulk, events, ops, queues, workspaces, session, admin):
        app.register_blueprint(module.blueprint)
