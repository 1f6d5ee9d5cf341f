"""The contract domain's door to text extraction: ``extract_text`` reads an uploaded contract with
the ``extraction`` package and speaks the domain's errors.

Files are read by the worker that runs the extraction job, never by the web process that received
them, and even there not in the worker's own process: ``extraction.extract`` parses each file in a
sandboxed child process under CPU-time, memory and wall-clock limits (``limits_from`` takes them
from ``ContractSettings``), so a hostile file kills only that child. A file whose type is not read
raises ``UnsupportedDocument``; a file of a known type that cannot be read, holds no text (a
scanned PDF without a text layer) or passes a limit raises ``UnreadableDocument``; both carry
``"<filename>: <reason>"``, the reason being ``extraction``'s, so nothing useless is stored and
the uploader learns why.
"""

from __future__ import annotations

from extraction import (
    DEFAULT_LIMITS,
    SUPPORTED_TYPES,
    ExtractedText,
    ExtractionLimits,
    Unreadable,
    UnsupportedType,
    extract,
)

from .errors import UnreadableDocument, UnsupportedDocument
from .settings import ContractSettings

__all__ = ["SUPPORTED_TYPES", "ExtractedText", "extract_text", "limits_from"]


def limits_from(settings: ContractSettings) -> ExtractionLimits:
    """The extraction limits the contract settings set."""
    return ExtractionLimits(
        cpu_seconds=settings.extract_cpu_seconds,
        memory_bytes=settings.extract_memory_bytes,
        timeout=settings.extract_timeout,
        max_pages=settings.max_document_pages,
        max_chars=settings.max_document_chars,
        max_unzipped_bytes=settings.max_docx_unzipped_bytes,
        max_zip_ratio=settings.max_docx_zip_ratio,
    )


def extract_text(filename: str, data: bytes, *, limits: ExtractionLimits = DEFAULT_LIMITS) -> ExtractedText:
    """The text of one uploaded file, read in a sandboxed child process under ``limits``."""
    try:
        return extract(filename, data, limits=limits)
    except UnsupportedType as failure:
        raise UnsupportedDocument(f"{filename}: {failure.reason}") from None
    except Unreadable as failure:
        raise UnreadableDocument(f"{filename}: {failure.reason}") from None
