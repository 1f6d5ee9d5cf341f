"""The contract domain's exception tree (the engine's is in ``actors.jobs.errors``).

    ContractError
    ├── DataSharingRefused      an LLM comparison asked for without consent to share (400)
    ├── WorkspaceError
    │   ├── UnknownWorkspace    no workspace of that name (404)
    │   ├── EmptyWorkspace      the workspace holds no document (422)
    │   ├── ExtractionPending   files uploaded to it are still being extracted (409)
    │   └── UnknownDocument     no document of that id in the workspace (404)
    ├── DocumentError
    │   ├── UnsupportedDocument a file type we do not read (415)
    │   ├── UnreadableDocument  a known type we cannot read, or no text in it (422)
    │   ├── DocumentTooLarge    over the size limit (413)
    │   ├── FilenameTooLong     a filename over its limit (413)
    │   └── TooManyFiles        an upload of more files than one may hold (413)
    ├── QuotaExceeded           a tenant's documents, bytes or workspaces would pass its limit (413)
    └── LLMError                the LLM endpoint failed past its retries, or replied nonsense

Arguments that are well-typed but wrong (a bad workspace name, a score out of range) raise the
engine's ``InvalidPayload``, as any job type's check does. The web maps both trees to HTTP
answers in one table (``service.errors``).
"""

from __future__ import annotations


class ContractError(Exception):
    """Base class of every error the contract domain raises on purpose."""


class DataSharingRefused(ContractError):
    """``compare_chatgpt`` without ``share_data_with_chatgpt``: no text may leave the machine."""

    def __init__(self, message: str, *, problems: dict[str, str]) -> None:
        super().__init__(message)
        self.problems = problems


class WorkspaceError(ContractError):
    pass


class UnknownWorkspace(WorkspaceError):
    pass


class EmptyWorkspace(WorkspaceError):
    pass


class ExtractionPending(WorkspaceError):
    """The workspace has uploaded files not yet extracted: a job on it now would leave them out."""


class UnknownDocument(WorkspaceError):
    pass


class DocumentError(ContractError):
    pass


class UnsupportedDocument(DocumentError):
    pass


class UnreadableDocument(DocumentError):
    pass


class DocumentTooLarge(DocumentError):
    pass


class FilenameTooLong(DocumentError):
    pass


class TooManyFiles(DocumentError):
    pass


class QuotaExceeded(ContractError):
    """An upload would take a tenant past one of its limits; nothing of it was stored."""


class LLMError(ContractError):
    """The LLM endpoint could not give a usable answer; the message says why."""
