"""Reading one document in this process: the choice of reader by extension, plain text and
Markdown, and what is done to every reader's answer (text normalisation, and turning whatever a
parser raises into an ``Unreadable`` with a short reason).

Nothing here protects the process from a hostile file: only the child process (``extraction.child``)
calls ``read_document``, under CPU and memory limits. The PDF and DOCX readers are imported when a
file of their type arrives, so a child reading plain text never loads pypdf or lxml.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import PurePosixPath

from .model import (
    ExtractedText,
    ExtractionFailed,
    ExtractionLimits,
    TextBudget,
    Unreadable,
    content_type_of,
    unsupported,
)

NO_TEXT = "no text could be extracted (a scanned PDF needs OCR first)"
_TEXT_ENCODINGS = ("utf-8-sig", "cp1252")
#: How much of a parser's message a reason quotes: enough to recognise, short enough to show.
_MESSAGE_CHARS = 200

Reader = Callable[[str, bytes, ExtractionLimits], ExtractedText]


def read_document(filename: str, data: bytes, limits: ExtractionLimits) -> ExtractedText:
    """The normalised text of ``data``, read by the reader of ``filename``'s extension.

    Raises ``UnsupportedType`` or ``Unreadable``; ``MemoryError`` is let through, for the caller
    to report as the memory limit rather than as a fault of the file.
    """
    content_type = content_type_of(filename)
    if content_type is None:
        raise unsupported(filename)
    if not data:
        raise Unreadable("the file is empty", filename=filename)
    suffix = PurePosixPath(filename).suffix.lower()
    kind, reader = _reader(suffix)
    try:
        extracted = reader(filename, data, limits)
    except (ExtractionFailed, MemoryError):
        raise
    except Exception as exc:  # a hostile file reaches every corner of a parser: any error is the file's
        raise Unreadable(f"the {kind} cannot be read ({describe(exc)})", filename=filename) from None
    text = normalise(extracted.text)
    if not text:
        raise Unreadable(NO_TEXT, filename=filename)
    return dataclasses.replace(extracted, text=text, content_type=content_type)


def _reader(suffix: str) -> tuple[str, Reader]:
    if suffix == ".pdf":
        from .pdf_reader import read_pdf

        return "PDF", read_pdf
    if suffix == ".docx":
        from .docx_reader import read_docx

        return "DOCX file", read_docx
    return "text", read_plain_text


def read_plain_text(filename: str, data: bytes, limits: ExtractionLimits) -> ExtractedText:
    if b"\x00" in data[:4096]:
        raise Unreadable("this is binary data, not text", filename=filename)
    for encoding in _TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        TextBudget(filename, limits.max_chars).add(text)
        return ExtractedText(text=text, content_type="text/plain")
    raise Unreadable("the text is in no encoding we read (UTF-8 or Windows-1252)", filename=filename)


def normalise(text: str) -> str:
    """LF line ends, no trailing blanks on a line or around the text, and nothing UTF-8 cannot
    carry (a PDF can map glyphs to lone surrogates; the text must survive JSON and Redis)."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def describe(exc: BaseException) -> str:
    """``ClassName: first words of the message``, on one line, for a reason a person reads."""
    message = " ".join(str(exc).split())
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
