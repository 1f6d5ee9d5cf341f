"""Job metrics kept in Redis, so every web process reports the same figures for the whole fleet.

Two hashes: ``keys.METRICS_TRANSITIONS`` counts status changes per job type and status (written by
the job store's script, in the same step as the change), ``keys.METRICS_DURATIONS`` holds a
histogram of run times per job type (written by the job store's script too, with the change that
ends a run: one round trip for both). ``fleet.Fleet`` reads both for ``service.metrics``, which
renders Prometheus's text format.

The histogram keeps each bucket's own count (the runs that fell in it, not in it or below): one
observation is one ``HINCRBY``, not one per bucket at or above it; readers add the buckets up
(``cumulative``) into the counts Prometheus expects.
"""

from __future__ import annotations

import math

#: Upper bounds of the run-time histogram's buckets, in seconds (the last is +Inf).
DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, math.inf)
#: Run times kept per job type for queue-time estimates.
RECENT_RUNS = 50
#: Separates job type from status or bucket in the hashes' field names.
FIELD_SEPARATOR = "\t"


def bucket_label(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else f"{bound:g}"


def bucket_of(seconds: float) -> str:
    """The label of the histogram bucket a run of ``seconds`` falls in (its own, not cumulative)."""
    return bucket_label(next(bound for bound in DURATION_BUCKETS if seconds <= bound))


def cumulative(counts: dict[str, float]) -> list[tuple[str, float]]:
    """Each bucket's label and the runs in it *or below*, from each bucket's own count."""
    total, buckets = 0.0, []
    for bound in DURATION_BUCKETS:
        total += counts.get(bucket_label(bound), 0.0)
        buckets.append((bucket_label(bound), total))
    return buckets
