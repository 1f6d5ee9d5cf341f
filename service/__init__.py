"""The web side: a Quart app that enqueues jobs and reports their status by polling and SSE."""

from .app import create_app

__all__ = ["create_app"]
