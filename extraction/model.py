"""What a caller hands the extraction package and what it gets back: the limits one document is
read under, the text read from it, the failures it can end in, the file types it reads, and the
character budget every reader counts its text against.

Nothing here parses anything; the readers (``extraction.readers`` and the per-format modules) run
in a child process (``extraction.child``, started by ``extraction.sandbox``), and both sides share
these definitions, the two constants of their protocol among them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import PurePosixPath

MIB = 1024 * 1024

#: CPU time one document may take, start-up included (a child killed past it is ``Unreadable``).
#: A 300-page PDF of dense text takes 1.8 s; a bomb takes minutes or never ends.
DEFAULT_CPU_SECONDS = 10.0
#: Address space of the child. Python with pypdf and python-docx loaded maps 45 MiB; reading a
#: 300-page PDF peaks at 56 MiB resident; the limit leaves room for big honest files, not for bombs.
DEFAULT_MEMORY_BYTES = 768 * MIB
#: Wall-clock time before the parent kills the child: the CPU limit with room for a busy machine.
DEFAULT_TIMEOUT = 30.0
#: Pages a PDF may have, checked before any text is extracted.
DEFAULT_MAX_PAGES = 1000
#: Characters of text a document may yield (about 1,000 pages of dense text).
DEFAULT_MAX_CHARS = 5_000_000
#: Sum of the sizes a DOCX's zip members declare once unpacked.
DEFAULT_MAX_UNZIPPED_BYTES = 200 * MIB
#: Largest unpacked/packed ratio of one DOCX member over 1 MiB. A deflate bomb packs about 1000:1;
#: the body of varied prose packs 3:1, but repetitive honest structure (an empty 3000-row table
#: written by python-docx) reaches 135:1, hence 200 rather than a round 100.
DEFAULT_MAX_ZIP_RATIO = 200

#: File types read, by extension.
SUPPORTED_TYPES: dict[str, str] = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

#: The parsing limits the child reads from its header line (CPU and memory come on its command line).
HEADER_LIMITS = ("max_pages", "max_chars", "max_unzipped_bytes", "max_zip_ratio")
#: The child's exit status when it ran out of memory so badly it could not even write its answer.
EXIT_OUT_OF_MEMORY = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractionLimits:
    """What reading one document may cost before it is given up as unreadable."""

    cpu_seconds: float = DEFAULT_CPU_SECONDS  # RLIMIT_CPU counts whole seconds: rounded up
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    timeout: float = DEFAULT_TIMEOUT
    max_pages: int = DEFAULT_MAX_PAGES
    max_chars: int = DEFAULT_MAX_CHARS
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES
    max_zip_ratio: int = DEFAULT_MAX_ZIP_RATIO

    def __post_init__(self) -> None:
        for field in fields(self):
            if not getattr(self, field.name) > 0:
                raise ValueError(
                    f"ExtractionLimits.{field.name} must be positive, not {getattr(self, field.name)!r}"
                )


#: The limits ``extract`` reads under when given none (frozen: one shared value is safe).
DEFAULT_LIMITS = ExtractionLimits()


@dataclass(frozen=True, slots=True)
class ExtractedText:
    """A document's text, normalised (LF line ends, no trailing blanks), and what reading it said."""

    text: str
    content_type: str
    pages: int | None = None
    #: How many warnings the PDF reader logged, and the first of them (pypdf warns on every
    #: malformed object it recovers from: a damaged file can log thousands).
    warnings: int = 0
    first_warning: str | None = None


class ExtractionFailed(Exception):
    """A document that yielded no text; ``reason`` says why in words its uploader can act on."""

    def __init__(self, reason: str, *, filename: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.reason = reason
        self.filename = filename


class UnsupportedType(ExtractionFailed):
    """The file's extension is not one of ``SUPPORTED_TYPES``; nothing was parsed."""


class Unreadable(ExtractionFailed):
    """A supported type that could not be read, held no text, or passed one of the limits."""


def content_type_of(filename: str) -> str | None:
    """The content type read for ``filename``'s extension, or None when it is not supported."""
    return SUPPORTED_TYPES.get(PurePosixPath(filename).suffix.lower())


def unsupported(filename: str) -> UnsupportedType:
    suffix = PurePosixPath(filename).suffix.lower()
    supported = ", ".join(SUPPORTED_TYPES)
    return UnsupportedType(f"unsupported file type {suffix or '(none)'}; use {supported}", filename=filename)


class TextBudget:
    """Counts the characters a reader has extracted so far and stops it once they pass the limit,
    so a document that unpacks to millions of characters fails early instead of filling memory."""

    def __init__(self, filename: str, max_chars: int) -> None:
        self.filename = filename
        self.max_chars = max_chars
        self.used = 0

    def add(self, text: str) -> str:
        self.used += len(text)
        if self.used > self.max_chars:
            raise Unreadable(
                f"the document holds more than {self.max_chars:,} characters of text", filename=self.filename
            )
        return text
