"""Text extraction from untrusted documents (.txt, .md, .pdf, .docx), each read in a child process
under CPU-time, memory and wall-clock limits.

This package owns reading a document's bytes into text and nothing around it: it knows nothing of
Redis, jobs, tenants or contracts, and imports nothing from ``actors`` or ``service`` (its child
process must never import the ``actors`` package, whose import builds a Redis broker).

    extract(filename, data, limits=ExtractionLimits()) -> ExtractedText
        raises UnsupportedType  an extension not in SUPPORTED_TYPES (no child is started)
        raises Unreadable       a known type that could not be read, held no text, passed a limit
                                (pages, characters, zip sizes) or got its reader killed (CPU,
                                memory, wall clock); ``reason`` says which, for the uploader

Modules: ``model`` (limits, results, failures, types), ``sandbox`` (the parent: starts the child
and reads what became of it), ``child`` (the child's entry point: limits itself, reads, answers),
``readers`` with ``pdf_reader`` and ``docx_reader`` (the parsing, run only in the child).
"""

from __future__ import annotations

from .model import (
    DEFAULT_CPU_SECONDS,
    DEFAULT_LIMITS,
    DEFAULT_MAX_CHARS,
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_UNZIPPED_BYTES,
    DEFAULT_MAX_ZIP_RATIO,
    DEFAULT_MEMORY_BYTES,
    DEFAULT_TIMEOUT,
    SUPPORTED_TYPES,
    ExtractedText,
    ExtractionFailed,
    ExtractionLimits,
    Unreadable,
    UnsupportedType,
    content_type_of,
)
from .sandbox import extract

__all__ = [
    "DEFAULT_CPU_SECONDS",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_CHARS",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_UNZIPPED_BYTES",
    "DEFAULT_MAX_ZIP_RATIO",
    "DEFAULT_MEMORY_BYTES",
    "DEFAULT_TIMEOUT",
    "SUPPORTED_TYPES",
    "ExtractedText",
    "ExtractionFailed",
    "ExtractionLimits",
    "Unreadable",
    "UnsupportedType",
    "content_type_of",
    "extract",
]
