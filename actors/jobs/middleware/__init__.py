"""The engine's Dramatiq middleware, one concept a module; ``JobEngine`` puts each in its place.

status.py        JobStatusMiddleware: each public job's states, driven by Dramatiq's hooks
cancellation.py  Cancellation: stops running jobs that were asked to cancel
heartbeat.py     WorkerHeartbeat: live worker processes, for /worker/status and the reaper
run_metrics.py   RunMetrics: a worker's status changes and run times, written once a second
logs.py          LogFormat: text or JSON log lines, escaped, in web and worker processes
"""

from .cancellation import Cancellation
from .heartbeat import MISSED_BEATS_ALLOWED, WorkerHeartbeat, prune_stale_workers
from .logs import LogFormat, configure_logging, job_logger, server_logger
from .run_metrics import RunMetrics
from .status import JobStatusMiddleware

__all__ = [
    "MISSED_BEATS_ALLOWED",
    "Cancellation",
    "JobStatusMiddleware",
    "LogFormat",
    "RunMetrics",
    "WorkerHeartbeat",
    "configure_logging",
    "job_logger",
    "prune_stale_workers",
    "server_logger",
]
