"""One change of a job on its way to Redis: the keys and channels its script is handed, the
change ready to run (``PreparedChange``), and who counts it (``ChangeCounter``).

``_shared.lua`` names the keys by position; ``change_keys`` is the one place that lists them in
that order, so the store's synchronous and asyncio paths hand every script the same ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import keys
from .ref import JobRef
from .states import JobStatus


class ChangeCounter(Protocol):
    """Counts status changes in the process instead of the store's script, while ``running``."""

    @property
    def running(self) -> bool: ...

    def count(self, job_type: str, status: JobStatus, *, namespace: str, job_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PreparedChange:
    """One change, ready to run: its script's name, keys and arguments; ``done(raw)`` is told the
    script's answer (it counts the change, when this process counts them) and returns it."""

    script: str
    ref: JobRef
    keys: list[str]
    args: list[str | bytes]
    #: Whether it may end the job or starts a run (``DURABLE_WRITES`` waits for a replica after those).
    durable: bool
    done: Callable[[Any], Any]


def change_keys(ref: JobRef) -> list[str]:
    """The keys of a change of ``ref``'s job, in the order ``_shared.lua``'s header gives them."""
    job_keys = [
        keys.job(ref.job_id),
        keys.job_history(ref.job_id),
        keys.cancel_flag(ref.job_id),
        keys.jobs_index(ref.namespace),
        keys.METRICS_TRANSITIONS,
        keys.ACTIVE,
        keys.NAMESPACES,
        keys.tenant_log(ref.namespace),
        keys.job_message(ref.job_id),
    ]
    if ref.group is not None:
        job_keys += [
            keys.group_log(ref.namespace, ref.group),
            keys.group_jobs(ref.namespace, ref.group),
            keys.groups(ref.namespace),
        ]
    return job_keys


def change_channels(ref: JobRef) -> list[str]:
    """Where a change's wake-up is published: the job's, its group's ("" for none), its namespace's."""
    return [
        keys.job_channel(ref.job_id),
        keys.group_channel(ref.namespace, ref.group) if ref.group is not None else "",
        keys.tenant_channel(ref.namespace),
    ]
