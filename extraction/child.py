"""The child process that reads one document: ``python -m extraction.child CPU_SECONDS MEMORY_BYTES``.

Its first act is to put itself under the limits it was given (``RLIMIT_CPU``, ``RLIMIT_AS``, and
no core file), so that whatever the document does, it does it to this process only. Setting them
here rather than in a ``preexec_fn`` keeps the parent's fork safe in a multi-threaded worker.

Protocol (``extraction.sandbox`` is the other side):

- stdin: one line of JSON (``filename`` and the parsing limits), then the document's raw bytes;
- stdout: one JSON object, ``{"outcome": "text", ...ExtractedText's fields}``, ``{"outcome":
  "unsupported" | "unreadable", "reason": ...}`` or ``{"outcome": "memory"}``; exit status 0;
- exit status ``EXIT_OUT_OF_MEMORY`` when even that answer could not be written for want of memory.

A CPU-limit kill (SIGXCPU, then SIGKILL) ends the process without an answer; the parent reads the
signal. Anything the libraries print goes to stderr, which the parent keeps only to log on failure.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import resource
import sys
from typing import Any, BinaryIO

from .model import EXIT_OUT_OF_MEMORY, HEADER_LIMITS, ExtractionFailed, ExtractionLimits, UnsupportedType

#: Longest header line read; a filename and four numbers fit many times over.
MAX_HEADER_BYTES = 64 * 1024


def limit_self(cpu_seconds: float, memory_bytes: int) -> None:
    """Put this process under the CPU and address-space limits, and forbid a core dump."""
    cpu = max(1, math.ceil(cpu_seconds))
    # SIGXCPU (fatal: Python does not handle it) at the soft limit; SIGKILL one second later.
    _set(resource.RLIMIT_CPU, cpu, cpu + 1)
    _set(resource.RLIMIT_AS, memory_bytes, memory_bytes)
    _set(resource.RLIMIT_CORE, 0, 0)


def _set(which: int, soft: int, hard: int) -> None:
    _, ceiling = resource.getrlimit(which)
    if ceiling != resource.RLIM_INFINITY:  # never ask above the hard limit we were born with
        soft, hard = min(soft, ceiling), min(hard, ceiling)
    resource.setrlimit(which, (soft, hard))


def answer(stdin: BinaryIO) -> dict[str, Any]:
    """Read the header and the document from ``stdin`` and say what became of it."""
    header = json.loads(stdin.readline(MAX_HEADER_BYTES))
    filename = str(header["filename"])
    limits = ExtractionLimits(**{name: int(header[name]) for name in HEADER_LIMITS})
    data = stdin.read()
    logging.getLogger().addHandler(logging.NullHandler())  # no last-resort printing of warnings
    logging.captureWarnings(True)

    from .readers import read_document

    try:
        extracted = read_document(filename, data, limits)
    except ExtractionFailed as failure:
        outcome = "unsupported" if isinstance(failure, UnsupportedType) else "unreadable"
        return {"outcome": outcome, "reason": failure.reason}
    return {"outcome": "text", **dataclasses.asdict(extracted), "peak_rss_kib": _peak_rss_kib()}


def _peak_rss_kib() -> int | None:
    # VmHWM, not getrusage's ru_maxrss: that one can carry the parent's peak over the fork.
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return None


def main(argv: list[str]) -> int:
    limit_self(float(argv[0]), int(argv[1]))
    # The answer goes to a private copy of stdout; fd 1 becomes stderr, so nothing a library
    # prints (from Python or from C) can corrupt the answer.
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        result = answer(sys.stdin.buffer)
    except MemoryError:
        result = None  # out of the except block, the frames holding the big objects are freed
    try:
        with os.fdopen(answer_fd, "wb") as out:
            out.write(json.dumps(result or {"outcome": "memory"}, ensure_ascii=False).encode())
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
