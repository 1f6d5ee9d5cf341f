"""What one upload may hold and what one tenant may store: the limits ``StagingArea`` enforces.

``UploadLimits`` checks an upload file by file, in the order it arrives: how many files, each
file's name and type (known once its headers are read), each file's size (known byte by byte). The
web calls it part by part while the body is still arriving (``service.uploads``), so an upload past
a limit is refused having read no more than the limit; ``StagingArea.stage`` calls it again for
callers that hand over whole files.

``check_quotas`` checks what the tenant would hold once an upload's new files are listed: the
workspace's documents, the tenant's workspaces, documents and bytes. The staging area calls it
inside the transaction that lists the files (``StagingArea._list``), which gives way whenever
another listing of the tenant gets in first: concurrent uploads cannot all pass it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.jobs.errors import InvalidPayload
from extraction import SUPPORTED_TYPES, content_type_of

from .errors import DocumentTooLarge, FilenameTooLong, QuotaExceeded, TooManyFiles, UnsupportedDocument
from .settings import ContractSettings


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """The checks each file of an upload passes, made as soon as what they check is known."""

    settings: ContractSettings

    def check_file(self, filename: str, *, number: int) -> None:
        """The upload's ``number``-th file (from 1), named ``filename``, may be read."""
        limits = self.settings
        if number > limits.max_files_per_upload:
            raise TooManyFiles(
                f"An upload may hold at most {_counted(limits.max_files_per_upload, 'file')}: send the "
                "rest in another upload"
            )
        if len(filename) > limits.max_filename_chars:
            raise FilenameTooLong(
                f"{filename[:40]}…: a filename may have at most "
                f"{_counted(limits.max_filename_chars, 'character')}"
            )
        if content_type_of(filename) is None:
            supported = ", ".join(SUPPORTED_TYPES)
            raise UnsupportedDocument(f"{filename}: unsupported file type; use {supported}")

    def check_size(self, filename: str, size: int) -> None:
        """``size`` bytes of ``filename`` have arrived (refused the moment they pass the limit)."""
        if size > self.settings.max_document_bytes:
            raise DocumentTooLarge(
                f"{filename}: over the limit of {_counted(self.settings.max_document_bytes, 'byte')} per file"
            )


def check_quotas(
    settings: ContractSettings,
    *,
    max_documents: int,
    usage: dict[str, list[dict[str, Any]]],
    workspace: str,
    files: int,
    size: int,
) -> None:
    """Whether ``files`` new files of ``size`` bytes in all may join ``workspace``, given the
    tenant's ``usage`` (each workspace's live documents and staged files)."""
    documents = sum(len(docs) for docs in usage.values())
    stored = sum(meta["size_bytes"] for docs in usage.values() for meta in docs)
    if len(usage.get(workspace, [])) + files > max_documents:
        raise InvalidPayload(
            f"Workspace {workspace!r} would hold more than {_counted(max_documents, 'document')}",
            problems={"file": "too many documents"},
        )
    if workspace not in usage and len(usage) >= settings.max_workspaces_per_tenant:
        workspaces = _counted(settings.max_workspaces_per_tenant, "workspace")
        raise QuotaExceeded(f"A tenant may have at most {workspaces}")
    if documents + files > settings.max_documents_per_tenant:
        raise QuotaExceeded(
            f"A tenant may store at most {_counted(settings.max_documents_per_tenant, 'document')}"
        )
    if stored + size > settings.max_bytes_per_tenant:
        raise QuotaExceeded(
            f"A tenant may store at most {_counted(settings.max_bytes_per_tenant, 'byte')} of documents "
            f"({stored} {'is' if stored == 1 else 'are'} stored, this upload has {size})"
        )


def _counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless it is one: "1 file", "100 files"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
