"""Reading a PDF's text layer with pypdf, within the page and character limits, with pypdf's
warnings counted instead of logged.

pypdf recovers from damaged files by logging a warning for each object it repairs, and a damaged
file can hold thousands of them; ``WarningTally`` keeps the count and the first message, so the
result summarises them in one line. Encrypted PDFs are refused (even those with an empty user
password): what is stored must be what the uploader meant to share.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from .model import ExtractedText, ExtractionLimits, TextBudget, Unreadable

#: The logger pypdf's modules log under (``pypdf._reader``, ``pypdf._page``, … propagate to it).
PYPDF_LOGGER = "pypdf"
_FIRST_WARNING_CHARS = 300


class WarningTally(logging.Handler):
    """Counts the records it is handed and keeps the first one's message."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            try:
                self.first = " ".join(record.getMessage().split())[:_FIRST_WARNING_CHARS]
            except Exception:  # a record whose arguments do not format still counts
                self.first = str(record.msg)[:_FIRST_WARNING_CHARS]


@contextmanager
def tallied_warnings(logger_name: str = PYPDF_LOGGER) -> Iterator[WarningTally]:
    """Within the block, the logger's warnings go to a tally and nowhere else."""
    logger = logging.getLogger(logger_name)
    tally = WarningTally()
    saved = logger.handlers[:], logger.propagate, logger.level
    logger.handlers[:] = [tally]
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield tally
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


def read_pdf(filename: str, data: bytes, limits: ExtractionLimits) -> ExtractedText:
    if not data.startswith(b"%PDF"):
        raise Unreadable("this is not a PDF file", filename=filename)
    with tallied_warnings() as tally:
        text, pages = _text_and_pages(filename, data, limits)
    return ExtractedText(
        text=text,
        content_type="application/pdf",
        pages=pages,
        warnings=tally.count,
        first_warning=tally.first,
    )


def _text_and_pages(filename: str, data: bytes, limits: ExtractionLimits) -> tuple[str, int]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        raise Unreadable("the PDF is encrypted; upload an unprotected copy", filename=filename)
    # The page tree's declared count is read first: a tree of a million references to one page is
    # a few bytes, and flattening it to count them would cost what the limit is there to avoid.
    declared = reader.trailer["/Root"]["/Pages"].get("/Count", 0)
    pages = max(declared if isinstance(declared, int) else 0, 0)
    if pages <= limits.max_pages:
        pages = len(reader.pages)
    if pages > limits.max_pages:
        raise Unreadable(f"the PDF has {pages:,} pages, more than {limits.max_pages:,}", filename=filename)
    budget = TextBudget(filename, limits.max_chars)
    texts = [budget.add(page.extract_text() or "") for page in reader.pages]
    return "\n\n".join(texts), len(texts)
