"""Periodic maintenance, scheduled by ``periodiq actors`` and run by the workers."""

from __future__ import annotations

import logging

import dramatiq
from periodiq import cron

from .heartbeat import prune_stale_workers

logger = logging.getLogger("jobs.maintenance")


@dramatiq.actor(periodic=cron("* * * * *"), max_retries=0)
def prune_workers() -> None:
    """Forget workers whose heartbeat stopped (a crash leaves no clean unregistration)."""
    from . import broker, settings  # the configured broker; imported late to avoid a cycle

    removed = prune_stale_workers(broker.client, settings.worker_heartbeat)
    logger.info("Maintenance: pruned %d stale worker(s)", removed)
