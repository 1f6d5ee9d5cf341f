"""Text extraction from uploaded contracts: plain text, Markdown, PDF (pypdf) and DOCX (python-docx).

Extraction runs once, at upload; workers read the stored text. A file whose type is not one of
these is refused (``UnsupportedDocument``, answered 415); a file of a known type that cannot be
read, or holds no text (a scanned PDF without a text layer), is refused too
(``UnreadableDocument``, answered 422), so nothing useless is ever stored.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import UnreadableDocument, UnsupportedDocument

#: File types accepted, by extension.
SUPPORTED_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
_TEXT_ENCODINGS = ("utf-8-sig", "cp1252")


@dataclass(frozen=True, slots=True)
class ExtractedText:
    text: str
    content_type: str
    pages: int | None = None


def extract_text(filename: str, data: bytes) -> ExtractedText:
    suffix = PurePosixPath(filename).suffix.lower()
    content_type = SUPPORTED_TYPES.get(suffix)
    if content_type is None:
        supported = ", ".join(SUPPORTED_TYPES)
        raise UnsupportedDocument(f"{filename}: unsupported file type {suffix or '(none)'}; use {supported}")
    if suffix == ".pdf":
        text, pages = _pdf_text(filename, data)
    elif suffix == ".docx":
        text, pages = _docx_text(filename, data), None
    else:
        text, pages = _plain_text(filename, data), None
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()
    if not text:
        raise UnreadableDocument(f"{filename}: no text could be extracted (a scanned PDF needs OCR first)")
    return ExtractedText(text=text, content_type=content_type, pages=pages)


def _plain_text(filename: str, data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise UnreadableDocument(f"{filename}: this is binary data, not text")
    for encoding in _TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableDocument(f"{filename}: the text is in no encoding we read (UTF-8 or Windows-1252)")


def _pdf_text(filename: str, data: bytes) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.startswith(b"%PDF"):
        raise UnreadableDocument(f"{filename}: this is not a PDF file")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableDocument(f"{filename}: the PDF is encrypted; upload an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableDocument(f"{filename}: the PDF cannot be read ({exc})") from None
    return "\n\n".join(pages), len(pages)


def _docx_text(filename: str, data: bytes) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableDocument(f"{filename}: the DOCX file cannot be read ({exc})") from None
    blocks = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            blocks.append(" | ".join(cell.text for cell in row.cells))
    return "\n\n".join(blocks)
