"""What the routes share, built at start-up: settings, the engine, the documents, readers, the hub,
and who may ask for what."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from quart import current_app

from actors.contracts.documents import DocumentStore
from actors.jobs.engine import JobEngine
from actors.jobs.fleet import Fleet
from actors.jobs.reader import JobReader

from .auth.identity import Authenticator
from .auth.limits import RateLimiter
from .settings import WebSettings
from .sse.admission import Admission
from .sse.hub import EventHub

EXTENSION_KEY = "jobservice"


@dataclass(frozen=True, slots=True)
class Services:
    settings: WebSettings
    engine: JobEngine  # its store writes new jobs (on ``redis``) and cancels; its broker, retries
    #: The web's bounded asyncio pool of Redis connections.
    redis: aioredis.Redis
    documents: DocumentStore
    reader: JobReader
    fleet: Fleet
    hub: EventHub
    #: What this process lets callers hold open (streams, long-polls, waits).
    admission: Admission
    auth: Authenticator
    limiter: RateLimiter


def services() -> Services:
    """The running app's services (available between start-up and shutdown)."""
    return current_app.extensions[EXTENSION_KEY]
