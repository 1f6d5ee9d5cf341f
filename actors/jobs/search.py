"""Which jobs a listing shows: the filters a reader applies (``JobFilter``) and the Lua script that
applies them inside Redis, a batch of index entries at a time (``lua/search_batch.lua``).

Filtering and searching happen where the records are: shipping every record of a batch to the
web process to look at it would move a job's whole result (tens of KB for a scoring job) for
each job looked at, and a search that finds nothing looks at them all. The script reads only the
fields it needs, stops at the number of matches it is asked for, and answers the matching rows'
fields with how far it got, so the reader's cursor resumes exactly after the last job examined.

The text search (``JobFilter.text``) is a case-insensitive substring match over the job's id and
type, its arguments (the ``kwargs`` of the message it was started with), its result and its
error's type and message. Values are kept as JSON, whose text escapes every character outside
ASCII (``\\u00e9``): the needle is escaped the same way, and ASCII letters alone match whatever
their case (``é`` finds ``é``, not ``É``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .clock import iso_time
from .encoding import compact_json
from .states import JobStatus

#: How long after its ``created_at`` a job's index entry may be stamped (the same write, a moment
#: later), in µs: the index is read that much past a range's end, and ``created_at`` decides.
INDEX_MARGIN_US = 60_000_000

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Every condition a listed job must meet (all of them: AND); None or empty means any."""

    statuses: frozenset[JobStatus] | None = None
    job_type: str | None = None
    #: The job's group (the web's workspace): the reader then walks the group's own index.
    group: str | None = None
    #: Creation time bounds (``created_at``), unix µs, both inclusive (to the millisecond).
    created_from: int | None = None
    created_to: int | None = None
    #: Text the job's id, type, arguments, result or error must contain (see the module's docstring).
    text: str | None = None

    @property
    def needles(self) -> tuple[str, str]:
        """The search text as the script looks for it: in JSON text (escaped) and in plain text
        (an error's message, decoded); empty strings when there is no search."""
        if not self.text:
            return "", ""
        plain = self.text.translate(_ASCII_LOWER)
        return json.dumps(plain)[1:-1], plain

    @property
    def created_args(self) -> tuple[str, str]:
        """The creation bounds as the script compares them: ``created_at`` as the record keeps it
        (JSON text of an ISO 8601 time in ms, which sorts as the times do); empty for none."""
        return tuple(  # type: ignore[return-value]
            compact_json(iso_time(micros / 1_000_000)) if micros is not None else ""
            for micros in (self.created_from, self.created_to)
        )

    @property
    def index_bounds(self) -> tuple[str, str]:
        """The index's score range (creation in µs) that holds every job within the bounds: its
        score is taken a moment after its ``created_at``, hence the margin above."""
        lower = str(self.created_from) if self.created_from is not None else "-inf"
        upper = str(self.created_to + INDEX_MARGIN_US) if self.created_to is not None else "+inf"
        return lower, upper

    @property
    def status_arg(self) -> str:
        """The statuses as the script compares them: JSON-quoted, comma-separated; empty for any."""
        return ",".join(sorted(json.dumps(status.value) for status in self.statuses or ()))
