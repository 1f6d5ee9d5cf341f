"""What the routes share, built at start-up: settings, broker, Redis reader and event hub."""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
from quart import current_app

from actors.documents import DocumentStore
from actors.settings import Settings
from actors.store import JobStore

from .hub import EventHub
from .jobs_reader import JobReader

EXTENSION_KEY = "jobservice"


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    broker: dramatiq.Broker
    reader: JobReader
    hub: EventHub
    documents: DocumentStore
    store: JobStore  # the workers' store: the web side writes only to cancel


def services() -> Services:
    """The running app's services (available between start-up and shutdown)."""
    return current_app.extensions[EXTENSION_KEY]
