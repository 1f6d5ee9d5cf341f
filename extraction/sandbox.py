"""The parent's side: ``extract`` reads a document by handing it to a fresh child process
(``extraction.child``) and turning whatever becomes of the child into text or a failure.

A hostile document can make a parser spin, allocate without end, or crash; in a child under
``RLIMIT_CPU`` and ``RLIMIT_AS`` that costs one short-lived process, never the caller. The parent
also kills the child after ``limits.timeout`` of wall-clock time (a child blocked, or starved of
CPU, uses no CPU time). Every child is reaped before ``extract`` returns, whatever happened.

The parent waits for its child a quarter second at a time, so an exception raised into the
calling thread meanwhile (a cancelled job's interrupt) ends the wait within that; the child is
killed and reaped on the way out, whatever the exception.

``extract`` keeps no state between calls and each call has its own pipes, so any number of threads
may call it at once (``subprocess`` forks without running Python code in the child, which is what
makes that safe in a threaded worker; the child sets its own limits after ``exec``).

The cost is a Python start-up per document: 0.05 s for plain text, 0.12 s with pypdf or python-docx.
Failing to start a child at all (no memory or process slot left) raises ``OSError``: that is the
machine's trouble, not the document's, and the caller may retry.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from .model import (
    DEFAULT_LIMITS,
    EXIT_OUT_OF_MEMORY,
    HEADER_LIMITS,
    MIB,
    ExtractedText,
    ExtractionLimits,
    Unreadable,
    content_type_of,
    unsupported,
)

logger = logging.getLogger("extraction")

#: The directory holding the ``extraction`` package, put first on the child's path so the child
#: runs this very copy of the package, installed or not, from whatever directory.
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
#: Exit signals of a child stopped by its CPU limit: SIGXCPU at the soft limit, SIGKILL at the hard
#: (which the kernel's OOM killer sends too; under RLIMIT_AS a child meets MemoryError long before).
CPU_LIMIT_SIGNALS = (-signal.SIGXCPU, -signal.SIGKILL)
READER_FAILED = "the reader failed"
#: How much of a failed child's stderr is logged.
_STDERR_TAIL_BYTES = 2000
#: Longest stretch, in seconds, that the parent waits on its child without running Python code.
WAIT_SLICE_S = 0.25


def extract(filename: str, data: bytes, *, limits: ExtractionLimits = DEFAULT_LIMITS) -> ExtractedText:
    """The text of ``data``, read as the type ``filename``'s extension names, in a child process.

    Raises ``UnsupportedType`` (without starting a child) for an extension not in
    ``SUPPORTED_TYPES``, and ``Unreadable`` for a file that cannot be read, holds no text, or
    passes one of ``limits``.
    """
    if content_type_of(filename) is None:
        raise unsupported(filename)
    header = {"filename": filename, **{name: getattr(limits, name) for name in HEADER_LIMITS}}
    started = time.monotonic()
    command = _command(limits)
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_environment(),
        close_fds=True,
    )
    try:
        stdout, stderr = _wait(
            process, json.dumps(header).encode() + b"\n" + data, deadline=started + limits.timeout
        )
    except BaseException as exc:  # the timeout, or an interrupt of the calling thread
        process.kill()
        process.wait()  # its pipes close: the threads serving them end
        if isinstance(exc, subprocess.TimeoutExpired):
            raise Unreadable(f"reading it took longer than {limits.timeout:g} s", filename=filename) from None
        raise
    child = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    extracted, answer = _outcome(filename, limits, child)
    logger.debug(
        "read %s in %.2f s, child peak RSS %s KiB",
        filename,
        time.monotonic() - started,
        answer.get("peak_rss_kib"),
    )
    if extracted.warnings:  # one line per document, however many warnings pypdf logged
        logger.info(
            "%s: the PDF reader warned %d times; the first: %s",
            filename,
            extracted.warnings,
            extracted.first_warning,
        )
    return extracted


def _wait(process: subprocess.Popen[bytes], payload: bytes, *, deadline: float) -> tuple[bytes, bytes]:
    """Send ``payload`` and read the child's answer, returning to Python every ``WAIT_SLICE_S``;
    ``TimeoutExpired`` at the ``deadline`` (a ``time.monotonic`` time).

    Pipes are served by threads of their own, not by ``communicate``: a ``communicate`` that
    times out never writes the rest of its input when called again, so a large file not sent
    within one slice (a busy machine) left its child waiting for it until the deadline."""
    streams: dict[str, bytes] = {}

    def send() -> None:
        with contextlib.suppress(BrokenPipeError, OSError):  # a child that stopped reading
            assert process.stdin is not None
            process.stdin.write(payload)
            process.stdin.close()

    def read(name: str, pipe: IO[bytes] | None) -> None:
        streams[name] = pipe.read() if pipe is not None else b""

    pumps = [
        threading.Thread(target=send, daemon=True),
        threading.Thread(target=read, args=("stdout", process.stdout), daemon=True),
        threading.Thread(target=read, args=("stderr", process.stderr), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    while True:
        try:
            process.wait(timeout=min(WAIT_SLICE_S, max(0.0, deadline - time.monotonic())))
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
    for pump in pumps:
        pump.join()  # the child has ended: its pipes are at their end
    return streams["stdout"], streams["stderr"]


def _command(limits: ExtractionLimits) -> list[str]:
    # -P: no current directory on the path; -s: no user site-packages; faulthandler: a crash in C
    # code leaves a traceback in the stderr we log.
    return [
        sys.executable,
        "-P",
        "-s",
        "-X",
        "faulthandler",
        "-m",
        "extraction.child",
        repr(float(limits.cpu_seconds)),
        str(int(limits.memory_bytes)),
    ]


def _child_environment() -> dict[str, str]:
    """PATH, and a PYTHONPATH that finds this package first; nothing else of the parent's."""
    inherited = os.environ.get("PYTHONPATH", "")
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "PYTHONPATH": os.pathsep.join(filter(None, (PACKAGE_ROOT, inherited))),
    }


def _outcome(
    filename: str, limits: ExtractionLimits, child: subprocess.CompletedProcess[bytes]
) -> tuple[ExtractedText, dict[str, Any]]:
    """The text the child read, and its whole answer; every other ending raised as a failure."""
    if child.returncode in CPU_LIMIT_SIGNALS:
        raise Unreadable(f"reading it took more than {limits.cpu_seconds:g} s of CPU", filename=filename)
    memory = Unreadable(
        f"reading it needed more than {limits.memory_bytes / MIB:g} MiB of memory", filename=filename
    )
    if child.returncode == EXIT_OUT_OF_MEMORY:
        raise memory
    answer = _json_object(child.stdout) if child.returncode == 0 else {}
    outcome = answer.get("outcome")
    if outcome == "text" and (extracted := _extracted(answer)):
        return extracted, answer
    if outcome == "unsupported":
        raise unsupported(filename)
    if outcome == "unreadable" and isinstance(answer.get("reason"), str):
        raise Unreadable(answer["reason"], filename=filename)
    if outcome == "memory":
        raise memory
    tail = child.stderr[-_STDERR_TAIL_BYTES:].decode("utf-8", "replace").strip()
    logger.warning(
        "the reader of %s failed (exit status %s); its stderr ends: %s", filename, child.returncode, tail
    )
    raise Unreadable(READER_FAILED, filename=filename)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8
        return {}
    return answer if isinstance(answer, dict) else {}


def _extracted(answer: dict[str, Any]) -> ExtractedText | None:
    """The answer's fields as an ``ExtractedText``, or None when they are not what the child writes."""
    fields = {name: answer.get(name) for name in ExtractedText.__dataclass_fields__}
    well_formed = (
        isinstance(fields["text"], str)
        and isinstance(fields["content_type"], str)
        and isinstance(fields["pages"], int | None)
        and isinstance(fields["warnings"], int)
        and isinstance(fields["first_warning"], str | None)
    )
    return ExtractedText(**fields) if well_formed else None
