"""Workspaces of contract documents, kept in Redis so that every worker on any machine reads them.

Every workspace belongs to a tenant (the job engine's namespace of the tenant's jobs): two
tenants may each have a workspace ``acme`` and never see each other's. A document is stored as
its metadata (in the workspace's hash) and its extracted text (one string); the original file is
kept only until it is extracted.

Uploads come in through the staging area (``staging.py``, which ``DocumentStore`` extends): checked,
hashed, stored once whatever the number of identical copies sent, and read by the
``extract_documents`` job (``intake.py``); nothing is ever parsed where the upload was received.
While an upload is staged, scoring and auditing the workspace is refused (``ExtractionPending``,
409): a result must not silently leave out a document its client just sent. Limits: bytes per
file, characters per filename, documents per workspace, and per tenant its documents, their bytes
and its workspaces (staged files count). Text expires ``document_ttl`` seconds after its upload
(0: never); a staged file after ``STAGED_TTL``; the workspace's metadata lives as long as its
newest document. The Redis keys are named in ``keys.py``.

Before tenants, the keys had no ``<tenant>:`` part; ``adopt_unowned`` moves such documents into a
tenant (the local set-up does, for its ``local`` tenant), so nothing stored is lost.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from actors.jobs.encoding import text
from actors.jobs.errors import redis_errors_as_unavailable

from . import keys
from .errors import EmptyWorkspace, ExtractionPending, UnknownDocument, UnknownWorkspace
from .extract import extract_text, limits_from
from .scoring import Contract
from .staging import WORKSPACE_NAME_PATTERN, StagingArea, live, public

# The workspace name's pattern stays importable from here, where the contract jobs have found it.
__all__ = ["WORKSPACE_NAME_PATTERN", "DocumentStore"]


class DocumentStore(StagingArea):
    """A tenant's workspaces and their documents: the staging area's uploads, once read."""

    def add(self, tenant: str, workspace: str, files: Sequence[tuple[str, bytes]]) -> list[dict[str, Any]]:
        """Stage, extract and admit files here and now (in sandboxed children): for scripts and
        tests that fill a workspace without a worker; a file that cannot be read raises. Returns
        the documents added (a duplicate of a document already there adds none)."""
        upload = self.stage(tenant, workspace, files)
        staged = self.staged(tenant, workspace, upload.upload_id)  # in upload order
        limits = limits_from(self.settings)
        admitted = []
        for meta in staged:
            filename, data = files[meta["position"]]
            try:
                extracted = extract_text(filename, data, limits=limits)
            except Exception:
                for unread in staged:
                    self.reject(tenant, workspace, unread["doc_id"])  # no-op for those admitted
                raise
            document = self.admit(tenant, workspace, meta, data, extracted)
            admitted.extend([document] if document is not None else [])
        return admitted

    def list(self, tenant: str, workspace: str) -> list[dict[str, Any]]:
        """The workspace's documents (extracted), in upload order."""
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.zscore(keys.workspaces(tenant), workspace)
            pipe.hvals(keys.documents(tenant, workspace))
            known, raw = pipe.execute()
        if known is None:
            raise UnknownWorkspace(f"No workspace named {workspace!r} (upload a document to create it)")
        return [public(meta) for meta in sorted(live(raw), key=lambda m: (m["uploaded_at"], m["position"]))]

    def document(self, tenant: str, workspace: str, doc_id: str) -> tuple[dict[str, Any], str]:
        """A document's metadata (as ``list`` gives it) and its extracted text. A file still being
        read raises ``ExtractionPending``; a document that is not there (deleted, expired, never
        uploaded, or another tenant's) ``UnknownDocument``."""
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.hget(keys.documents(tenant, workspace), doc_id)
            pipe.get(keys.text(tenant, workspace, doc_id))
            pipe.hget(keys.staged(tenant, workspace), doc_id)
            meta, content, staged = pipe.execute()
        documents = live([meta] if meta is not None else [])
        if documents and content is not None:
            return public(documents[0]), text(content)
        for file in live([staged] if staged is not None else []):
            reader = f" (job {file['job_id']})" if file.get("job_id") else ""
            raise ExtractionPending(
                f"Document {doc_id!r} ({file['filename']}) is still being read{reader}; "
                "ask again once its extract_documents job has ended"
            )
        raise UnknownDocument(f"No document {doc_id!r} in workspace {workspace!r}")

    def delete(self, tenant: str, workspace: str, doc_id: str) -> None:
        """Delete a document, or a staged file (its extraction then skips it)."""
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(keys.documents(tenant, workspace), doc_id)
            pipe.delete(keys.text(tenant, workspace, doc_id))
            pipe.hdel(keys.staged(tenant, workspace), doc_id)
            pipe.delete(keys.raw(tenant, workspace, doc_id))
            pipe.zadd(keys.workspaces(tenant), {workspace: int(time.time() * 1000)}, xx=True)
            removed, _, unstaged, _, _ = pipe.execute()
        if not removed and not unstaged:
            raise UnknownDocument(f"No document {doc_id!r} in workspace {workspace!r}")

    def delete_workspace(self, tenant: str, workspace: str) -> None:
        """Delete a workspace: its documents, their text and any staged file (its jobs' records stay)."""
        docs, staged = keys.documents(tenant, workspace), keys.staged(tenant, workspace)
        with redis_errors_as_unavailable():
            doc_ids = {text(raw) for raw in [*self.client.hkeys(docs), *self.client.hkeys(staged)]}
            per_document = [key(tenant, workspace, d) for d in doc_ids for key in (keys.text, keys.raw)]
            pipe = self.client.pipeline(transaction=True)
            pipe.zrem(keys.workspaces(tenant), workspace)
            pipe.delete(docs, staged, *per_document)
            known, _ = pipe.execute()
        if not known:
            raise UnknownWorkspace(f"No workspace named {workspace!r}")

    def workspaces(self, tenant: str) -> list[dict[str, Any]]:
        usage = self._usage(tenant)  # oldest first
        return [
            {"name": name, "documents": sum(1 for meta in metas if "upload_id" not in meta)}
            for name, metas in usage.items()
        ]

    def require_documents(self, tenant: str, workspace: str) -> int:
        """How many documents the tenant's ``workspace`` holds; raises when it is unknown or empty,
        or while files uploaded to it are still being extracted."""
        count = len(self.list(tenant, workspace))
        staged = self.staged(tenant, workspace)
        if staged:
            files = "1 uploaded file" if len(staged) == 1 else f"{len(staged)} uploaded files"
            raise ExtractionPending(
                f"Workspace {workspace!r} has {files} still being extracted; "
                f"wait for upload {staged[0]['upload_id']}'s extract_documents job to finish, then retry"
            )
        if not count:
            raise EmptyWorkspace(f"Workspace {workspace!r} holds no document")
        return count

    def contracts(self, tenant: str, workspace: str) -> list[Contract]:
        """Every document of the workspace with its text, in upload order (for the workers)."""
        documents = self.list(tenant, workspace)
        with redis_errors_as_unavailable():
            texts = self.client.mget([keys.text(tenant, workspace, m["doc_id"]) for m in documents])
        return [
            Contract(doc_id=meta["doc_id"], filename=meta["filename"], text=text(content))
            for meta, content in zip(documents, texts, strict=True)
            if content is not None
        ]

    def adopt_unowned(self, tenant: str) -> int:
        """Move the workspaces stored before tenants existed into ``tenant``; how many moved."""
        moved = 0
        with redis_errors_as_unavailable():
            for raw_name, score in self.client.zrange(keys.unowned_workspaces(), 0, -1, withscores=True):
                workspace = text(raw_name)
                old_docs = keys.unowned_documents(workspace)
                pipe = self.client.pipeline(transaction=True)
                for doc_id in self.client.hkeys(old_docs):
                    old_text = keys.unowned_text(workspace, text(doc_id))
                    if self.client.exists(old_text):
                        pipe.rename(old_text, keys.text(tenant, workspace, text(doc_id)))
                if self.client.exists(old_docs):
                    pipe.rename(old_docs, keys.documents(tenant, workspace))
                pipe.zadd(keys.workspaces(tenant), {workspace: score})
                pipe.zrem(keys.unowned_workspaces(), workspace)
                pipe.execute()
                moved += 1
        return moved
