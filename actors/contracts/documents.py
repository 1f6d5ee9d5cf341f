"""Workspaces of contract documents, kept in Redis so that every worker on any machine reads them.

A document is stored as its metadata (in the workspace's hash) and its extracted text (one
string); the original file is not kept. An upload of several files is extracted in full first
and then written in one transaction: a bad file refuses the whole upload and nothing is
half-stored. Limits: ``max_document_bytes`` per file (413) and ``max_documents`` per workspace.
A workspace exists from its first upload on, and stays (empty) when its documents are deleted.

The domain's Redis keys are named here and nowhere else. They live under the engine's prefix, so
one service's keys share one namespace, with the names they had before the engine and the
domain were apart, so stored documents stay readable:

    jobs:workspaces              zset   workspace name -> last document change (ms)
    jobs:docs:<workspace>        hash   document id -> metadata (JSON)
    jobs:doctext:<ws>:<doc_id>   string the document's extracted text
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.client import Pipeline

from actors.jobs.errors import InvalidPayload
from actors.jobs.events import redis_errors_as_unavailable, text, utc_now
from actors.jobs.keys import PREFIX

from .errors import DocumentTooLarge, EmptyWorkspace, UnknownDocument, UnknownWorkspace
from .extract import extract_text
from .scoring import Contract
from .settings import ContractSettings

WORKSPACES = f"{PREFIX}:workspaces"
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
        max_document_bytes: int = DEFAULTS.max_document_bytes,
        max_documents: int = DEFAULT_MAX_DOCUMENTS,
    ) -> None:
        self.client = client
        self.max_document_bytes = max_document_bytes
        self.max_documents = max_documents

    def add(self, workspace: str, files: Sequence[tuple[str, bytes]]) -> list[dict[str, Any]]:
        """Extract and store ``(filename, data)`` pairs; all of them, or none."""
        check_workspace_name(workspace)
        if not files:
            raise InvalidPayload(
                "No file in the upload: send multipart form data with a 'file' field",
                problems={"file": "required"},
            )
        documents = []
        uploaded_at = utc_now()
        for position, (filename, data) in enumerate(files):
            if len(data) > self.max_document_bytes:
                raise DocumentTooLarge(
                    f"{filename}: {len(data)} bytes is over the limit of {self.max_document_bytes} bytes"
                )
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
                "position": position,  # its place in its upload: documents list in upload order
            }
            documents.append((meta, extracted.text))
        with redis_errors_as_unavailable():
            if self.client.hlen(_documents_key(workspace)) + len(documents) > self.max_documents:
                raise InvalidPayload(
                    f"Workspace {workspace!r} would hold more than {self.max_documents} documents",
                    problems={"file": "too many documents"},
                )
            pipe = self.client.pipeline(transaction=True)
            for meta, content in documents:
                pipe.hset(_documents_key(workspace), meta["doc_id"], json.dumps(meta))
                pipe.set(_text_key(workspace, meta["doc_id"]), content)
            pipe.zadd(WORKSPACES, {workspace: int(time.time() * 1000)})
            pipe.execute()
        return [meta for meta, _ in documents]

    def list(self, workspace: str) -> list[dict[str, Any]]:
        raw = self._read_known(workspace, lambda pipe: pipe.hgetall(_documents_key(workspace)))
        return sorted((json.loads(v) for v in raw.values()), key=lambda m: (m["uploaded_at"], m["position"]))

    def delete(self, workspace: str, doc_id: str) -> None:
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(_documents_key(workspace), doc_id)
            pipe.delete(_text_key(workspace, doc_id))
            pipe.zadd(WORKSPACES, {workspace: int(time.time() * 1000)}, xx=True)
            removed, _, _ = pipe.execute()
        if not removed:
            raise UnknownDocument(f"No document {doc_id!r} in workspace {workspace!r}")

    def workspaces(self) -> list[dict[str, Any]]:
        with redis_errors_as_unavailable():
            names = [text(n) for n in self.client.zrange(WORKSPACES, 0, -1)]
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hlen(_documents_key(name))
            counts = pipe.execute()
        return [{"name": name, "documents": count} for name, count in zip(names, counts, strict=True)]

    def require_documents(self, workspace: str) -> int:
        """How many documents ``workspace`` holds; raises when it is unknown or empty."""
        count = self._read_known(workspace, lambda pipe: pipe.hlen(_documents_key(workspace)))
        if not count:
            raise EmptyWorkspace(f"Workspace {workspace!r} holds no document")
        return count

    def _read_known(self, workspace: str, read: Callable[[Pipeline], object]) -> Any:
        """What ``read`` queues, read in one transaction with the check that ``workspace`` exists."""
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.zscore(WORKSPACES, workspace)
            read(pipe)
            known, value = pipe.execute()
        if known is None:
            raise UnknownWorkspace(f"No workspace named {workspace!r} (upload a document to create it)")
        return value

    def contracts(self, workspace: str) -> list[Contract]:
        """Every document of ``workspace`` with its text, in upload order (for the workers)."""
        documents = self.list(workspace)
        with redis_errors_as_unavailable():
            texts = self.client.mget([_text_key(workspace, m["doc_id"]) for m in documents])
        return [
            Contract(doc_id=meta["doc_id"], filename=meta["filename"], text=text(content))
            for meta, content in zip(documents, texts, strict=True)
            if content is not None
        ]


def _documents_key(workspace: str) -> str:
    return f"{PREFIX}:docs:{workspace}"


def _text_key(workspace: str, doc_id: str) -> str:
    return f"{PREFIX}:doctext:{workspace}:{doc_id}"
