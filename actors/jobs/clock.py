"""The engine's clock: every time it writes or shows is an ISO 8601 UTC timestamp with
milliseconds, made here.

Ordering and lease arithmetic use numbers (unix microseconds in the store's scripts, Redis's own
``TIME`` for leases); these strings are what snapshots, events and the API carry.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now(offset_seconds: float = 0.0) -> str:
    """An ISO 8601 UTC timestamp with milliseconds, ``offset_seconds`` from now."""
    return iso_time(datetime.now(UTC).timestamp() + offset_seconds)


def iso_time(unix_seconds: float) -> str:
    """A unix time as an ISO 8601 UTC timestamp with milliseconds (the API's one format)."""
    moment = datetime.fromtimestamp(unix_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
