"""Workspaces of contract documents, kept in Redis so that every worker on any machine reads them.

Every workspace belongs to a tenant (the job engine's namespace of the tenant's jobs): two
tenants may each have a workspace ``acme`` and never see each other's. A document is stored as
its metadata (in the workspace's hash) and its extracted text (one string); the original file is
not kept. An upload of several files is checked and extracted in full first and then written in
one transaction: a bad file, or one over a limit, refuses the whole upload and nothing is
half-stored. Limits: bytes per file, characters per filename, documents per workspace, and per
tenant its documents, their bytes and its workspaces. Text expires ``document_ttl`` seconds after
its upload (0: never); the workspace's metadata lives as long as its newest document.

The domain's Redis keys are named here and nowhere else, under the engine's prefix:

    jobs:workspaces:<tenant>           zset   workspace name -> last document change (ms)
    jobs:docs:<tenant>:<ws>            hash   document id -> metadata (JSON)
    jobs:doctext:<tenant>:<ws>:<id>    string the document's extracted text

Before tenants, the same keys had no ``<tenant>:`` part; ``adopt_unowned`` moves such documents
into a tenant (the local set-up does, for its ``local`` tenant), so nothing stored is lost.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

import redis

from actors.jobs.errors import InvalidPayload
from actors.jobs.events import redis_errors_as_unavailable, text, utc_now
from actors.jobs.keys import PREFIX

from .errors import (
    DocumentTooLarge,
    EmptyWorkspace,
    FilenameTooLong,
    QuotaExceeded,
    UnknownDocument,
    UnknownWorkspace,
)
from .extract import extract_text
from .scoring import Contract
from .settings import ContractSettings

DEFAULTS = ContractSettings.defaults()
#: Most documents one workspace may hold.
DEFAULT_MAX_DOCUMENTS = 1000
_WORKSPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,99}")


def check_workspace_name(name: str) -> str:
    if not _WORKSPACE_NAME.fullmatch(name):
        raise InvalidPayload(
            f"Invalid workspace name {name!r}: 1-100 letters, digits, spaces, '.', '_' or '-', "
            "starting with a letter or digit",
            problems={"workspace_name": "invalid name"},
        )
    return name


class DocumentStore:
    def __init__(
        self,
        *,
        client: redis.Redis,
        settings: ContractSettings = DEFAULTS,
        max_documents: int = DEFAULT_MAX_DOCUMENTS,
    ) -> None:
        self.client = client
        self.settings = settings
        self.max_documents = max_documents

    def add(self, tenant: str, workspace: str, files: Sequence[tuple[str, bytes]]) -> list[dict[str, Any]]:
        """Extract and store ``(filename, data)`` pairs in the tenant's workspace; all, or none."""
        check_workspace_name(workspace)
        if not files:
            raise InvalidPayload(
                "No file in the upload: send multipart form data with a 'file' field",
                problems={"file": "required"},
            )
        limits = self.settings
        for filename, data in files:  # the cheap checks before any extraction
            if len(filename) > limits.max_filename_chars:
                raise FilenameTooLong(
                    f"{filename[:40]}…: a filename may have at most {limits.max_filename_chars} characters"
                )
            if len(data) > limits.max_document_bytes:
                raise DocumentTooLarge(
                    f"{filename}: {len(data)} bytes is over the limit of {limits.max_document_bytes} bytes"
                )
        self._check_quotas(tenant, workspace, len(files), sum(len(data) for _, data in files))
        uploaded_at = utc_now()
        ttl = limits.document_ttl or None
        documents = []
        for position, (filename, data) in enumerate(files):
            extracted = extract_text(filename, data)
            meta = {
                "doc_id": uuid.uuid4().hex,
                "filename": filename,
                "content_type": extracted.content_type,
                "size_bytes": len(data),
                "pages": extracted.pages,
                "characters": len(extracted.text),
                "sha256": hashlib.sha256(data).hexdigest(),
                "uploaded_at": uploaded_at,
                "expires_at": time.time() + ttl if ttl else None,
                "position": position,  # its place in its upload: documents list in upload order
            }
            documents.append((meta, extracted.text))
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            for meta, content in documents:
                pipe.hset(_documents_key(tenant, workspace), meta["doc_id"], json.dumps(meta))
                pipe.set(_text_key(tenant, workspace, meta["doc_id"]), content, ex=ttl)
            if ttl:
                pipe.expire(_documents_key(tenant, workspace), ttl)
            pipe.zadd(_workspaces_key(tenant), {workspace: int(time.time() * 1000)})
            pipe.execute()
        return [meta for meta, _ in documents]

    def list(self, tenant: str, workspace: str) -> list[dict[str, Any]]:
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.zscore(_workspaces_key(tenant), workspace)
            pipe.hvals(_documents_key(tenant, workspace))
            known, raw = pipe.execute()
        if known is None:
            raise UnknownWorkspace(f"No workspace named {workspace!r} (upload a document to create it)")
        return sorted(_live(raw), key=lambda m: (m["uploaded_at"], m["position"]))

    def delete(self, tenant: str, workspace: str, doc_id: str) -> None:
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(_documents_key(tenant, workspace), doc_id)
            pipe.delete(_text_key(tenant, workspace, doc_id))
            pipe.zadd(_workspaces_key(tenant), {workspace: int(time.time() * 1000)}, xx=True)
            removed, _, _ = pipe.execute()
        if not removed:
            raise UnknownDocument(f"No document {doc_id!r} in workspace {workspace!r}")

    def workspaces(self, tenant: str) -> list[dict[str, Any]]:
        names, usage = self._usage(tenant)
        return [{"name": name, "documents": len(usage[name])} for name in names]

    def require_documents(self, tenant: str, workspace: str) -> int:
        """How many documents the tenant's ``workspace`` holds; raises when it is unknown or empty."""
        count = len(self.list(tenant, workspace))
        if not count:
            raise EmptyWorkspace(f"Workspace {workspace!r} holds no document")
        return count

    def contracts(self, tenant: str, workspace: str) -> list[Contract]:
        """Every document of the workspace with its text, in upload order (for the workers)."""
        documents = self.list(tenant, workspace)
        with redis_errors_as_unavailable():
            texts = self.client.mget([_text_key(tenant, workspace, m["doc_id"]) for m in documents])
        return [
            Contract(doc_id=meta["doc_id"], filename=meta["filename"], text=text(content))
            for meta, content in zip(documents, texts, strict=True)
            if content is not None
        ]

    def adopt_unowned(self, tenant: str) -> int:
        """Move the workspaces stored before tenants existed into ``tenant``; how many moved."""
        moved = 0
        with redis_errors_as_unavailable():
            for raw_name, score in self.client.zrange(f"{PREFIX}:workspaces", 0, -1, withscores=True):
                workspace = text(raw_name)
                old_docs = f"{PREFIX}:docs:{workspace}"
                pipe = self.client.pipeline(transaction=True)
                for doc_id in self.client.hkeys(old_docs):
                    old_text = f"{PREFIX}:doctext:{workspace}:{text(doc_id)}"
                    if self.client.exists(old_text):
                        pipe.rename(old_text, _text_key(tenant, workspace, text(doc_id)))
                if self.client.exists(old_docs):
                    pipe.rename(old_docs, _documents_key(tenant, workspace))
                pipe.zadd(_workspaces_key(tenant), {workspace: score})
                pipe.zrem(f"{PREFIX}:workspaces", workspace)
                pipe.execute()
                moved += 1
        return moved

    def _usage(self, tenant: str) -> tuple[list[str], dict[str, list[dict[str, Any]]]]:
        """The tenant's workspaces, oldest first, and each one's live documents."""
        with redis_errors_as_unavailable():
            names = [text(n) for n in self.client.zrange(_workspaces_key(tenant), 0, -1)]
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hvals(_documents_key(tenant, name))
            metas = pipe.execute()
        return names, {name: _live(raw) for name, raw in zip(names, metas, strict=True)}

    def _check_quotas(self, tenant: str, workspace: str, files: int, size: int) -> None:
        limits = self.settings
        names, usage = self._usage(tenant)
        documents = sum(len(docs) for docs in usage.values())
        stored = sum(meta["size_bytes"] for docs in usage.values() for meta in docs)
        if len(usage.get(workspace, [])) + files > self.max_documents:
            raise InvalidPayload(
                f"Workspace {workspace!r} would hold more than {self.max_documents} documents",
                problems={"file": "too many documents"},
            )
        if workspace not in usage and len(names) >= limits.max_workspaces_per_tenant:
            raise QuotaExceeded(f"A tenant may have at most {limits.max_workspaces_per_tenant} workspaces")
        if documents + files > limits.max_documents_per_tenant:
            raise QuotaExceeded(f"A tenant may store at most {limits.max_documents_per_tenant} documents")
        if stored + size > limits.max_bytes_per_tenant:
            raise QuotaExceeded(
                f"A tenant may store at most {limits.max_bytes_per_tenant} bytes of documents "
                f"({stored} are stored, this upload has {size})"
            )


def _live(raw: Sequence[bytes | str]) -> list[dict[str, Any]]:
    """The metadata of documents whose text has not expired."""
    now = time.time()
    metas = [json.loads(value) for value in raw]
    return [meta for meta in metas if (meta.get("expires_at") or now + 1) > now]


def _workspaces_key(tenant: str) -> str:
    return f"{PREFIX}:workspaces:{tenant}"


def _documents_key(tenant: str, workspace: str) -> str:
    return f"{PREFIX}:docs:{tenant}:{workspace}"


def _text_key(tenant: str, workspace: str, doc_id: str) -> str:
    return f"{PREFIX}:doctext:{tenant}:{workspace}:{doc_id}"
