"""Every Redis key of the contract domain, named here and nowhere else, under the engine's prefix.

    jobs:workspaces:<tenant>               zset   workspace name -> last document change (ms)
    jobs:docs:<tenant>:<ws>                hash   document id -> metadata (JSON)
    jobs:doctext:<tenant>:<ws>:<id>        string the document's extracted text
    jobs:docstaged:<tenant>:<ws>           hash   document id -> a staged file's metadata (JSON)
    jobs:docraw:<tenant>:<ws>:<id>         string a staged file, as uploaded

The staging area (``staging.py``) writes the staged files and their raw bytes and moves each one,
once read, to the documents and their text; the document store (``documents.py``) reads, lists and
deletes them. Metadata is JSON so that a field may be added (``sha256`` and ``job_id`` of staged
files were) without a migration: a reader takes what it finds.

Before tenants, the workspaces, documents and texts had no ``<tenant>:`` part (the ``unowned_``
keys): ``DocumentStore.adopt_unowned`` moves what is stored under them into a tenant.
"""

from __future__ import annotations

from actors.jobs.keys import PREFIX


def workspaces(tenant: str) -> str:
    return f"{PREFIX}:workspaces:{tenant}"


def documents(tenant: str, workspace: str) -> str:
    return f"{PREFIX}:docs:{tenant}:{workspace}"


def text(tenant: str, workspace: str, doc_id: str) -> str:
    return f"{PREFIX}:doctext:{tenant}:{workspace}:{doc_id}"


def staged(tenant: str, workspace: str) -> str:
    return f"{PREFIX}:docstaged:{tenant}:{workspace}"


def raw(tenant: str, workspace: str, doc_id: str) -> str:
    return f"{PREFIX}:docraw:{tenant}:{workspace}:{doc_id}"


def unowned_workspaces() -> str:
    return f"{PREFIX}:workspaces"


def unowned_documents(workspace: str) -> str:
    return f"{PREFIX}:docs:{workspace}"


def unowned_text(workspace: str, doc_id: str) -> str:
    return f"{PREFIX}:doctext:{workspace}:{doc_id}"
