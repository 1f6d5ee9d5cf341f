"""``JobRef``: which job a write is about, made once and handed to every write that follows.

A job's namespace and group are fixed at its creation, and a run's token at its claim; the store's
scripts need all of them (every key a script touches is named to it, as Redis requires). The
status middleware makes a job's ref when the job is submitted and again, with the run's token,
when a run claims it (``RunLeases`` keeps it for the run's later writes and its progress reports);
nothing downstream works them out again from the message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .states import DEFAULT_NAMESPACE

#: The characters a job id may contain (Dramatiq's message ids are UUID4 strings).
_JOB_ID_CHARS = frozenset("0123456789abcdefABCDEF-")
_JOB_ID_MAX = 64


@dataclass(frozen=True, slots=True)
class JobRef:
    """A job, where it lives, and (for a run's writes) the run making them."""

    job_id: str
    namespace: str = DEFAULT_NAMESPACE
    #: The workspace (or other group) the job belongs to, if its type groups jobs.
    group: str | None = None
    #: The run's token: a write is refused unless it is the job's current run (a fence). Empty
    #: for writes that are nobody's run (a cancel request, the reaper, a job that never ran).
    run: str = ""

    def as_run(self, run: str) -> JobRef:
        """This job, written to by the run ``run``."""
        return replace(self, run=run)


def is_valid_job_id(job_id: str) -> bool:
    """True when ``job_id`` could name a job; anything else is answered "not found" at once."""
    return 0 < len(job_id) <= _JOB_ID_MAX and set(job_id) <= _JOB_ID_CHARS
