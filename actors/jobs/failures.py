"""What a job's failure records: its error (``{type, message}``, the message whole) and the
traceback of the failure, bounded, for the admin.

A retry's error comes from the traceback Dramatiq's ``Retries`` kept in the message's options
(the exception itself is gone by the time the retry is sent); the final failure's comes from the
exception. Either way the message is the exception's whole text, every line of it.
"""

from __future__ import annotations

import traceback

from .states import MAX_TRACEBACK_CHARS

#: Where Python's formatted traceback names a frame; the exception's own lines come after the last.
_FRAME = "  File "


def error_of(exception: BaseException) -> dict[str, str]:
    """The ``{type, message}`` of ``exception``: its whole text (``repr`` when it has none)."""
    return {"type": type(exception).__name__, "message": str(exception) or repr(exception)}


def bounded_traceback(exception: BaseException, *, limit: int = MAX_TRACEBACK_CHARS) -> str:
    """``exception``'s formatted traceback (with the chain of exceptions that led to it), its
    last ``limit`` characters when longer: the end says what failed, and where."""
    return bounded(
        "".join(traceback.format_exception(type(exception), exception, exception.__traceback__)), limit
    )


def bounded(text: str, limit: int = MAX_TRACEBACK_CHARS) -> str:
    if len(text) <= limit:
        return text
    marker = f"[{len(text) - limit} characters cut]\n"
    return marker + text[len(text) - limit + len(marker) :]


def error_from_traceback(traceback_text: str) -> dict[str, str]:
    """The ``{type, message}`` of the exception a formatted traceback ends with: every line after
    its last frame (a message of several lines is kept whole), the type before the first ``: ``."""
    lines = traceback_text.rstrip().splitlines()
    last_frame = max((i for i, line in enumerate(lines) if line.startswith(_FRAME)), default=-1)
    # A frame is followed by its indented source lines (and ``^^^`` markers); the exception's
    # lines are the first unindented one on.
    start = next((i for i in range(last_frame + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    tail = "\n".join(lines[start:]) if start < len(lines) else (lines[-1].strip() if lines else "")
    kind, separator, text = tail.partition(": ")
    if not separator and "\n" in kind:
        kind, _, text = kind.partition("\n")
    return {"type": kind.rsplit(".", 1)[-1] or "Exception", "message": text or kind or "unknown error"}
