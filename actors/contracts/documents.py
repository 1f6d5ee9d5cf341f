"""Workspaces of contract documents, kept in Redis so that every worker on any machine reads them.

Every workspace belongs to a tenant (the job engine's namespace of the tenant's jobs): two
tenants may each have a workspace ``acme`` and never see each other's. A document is stored as
its metadata (in the workspace's hash) and its extracted text (one string); the original file is
kept only until it is extracted.

An upload is checked (names, sizes, types, quotas) and *staged*: its files are written as they
came, all or none, under one upload id, and the workspace lists them as ``extracting``. The
``extract_documents`` job (``intake.py``) then reads each file in a sandboxed child process and
*admits* it (text and metadata in, raw file out) or *rejects* it with a reason; nothing is ever
parsed where the upload was received. While an upload is staged, scoring and auditing the
workspace is refused (``ExtractionPending``, 409): a result must not silently leave out a
document its client just sent. Limits: bytes per file, characters per filename, documents per
workspace, and per tenant its documents, their bytes and its workspaces (staged files count).
Text expires ``document_ttl`` seconds after its upload (0: never); a staged file after
``STAGED_TTL``; the workspace's metadata lives as long as its newest document.

The domain's Redis keys are named here and nowhere else, under the engine's prefix:

    jobs:workspaces:<tenant>               zset   workspace name -> last document change (ms)
    jobs:docs:<tenant>:<ws>                hash   document id -> metadata (JSON)
    jobs:doctext:<tenant>:<ws>:<id>        string the document's extracted text
    jobs:docstaged:<tenant>:<ws>           hash   document id -> a staged file's metadata (JSON)
    jobs:docraw:<tenant>:<ws>:<id>         string a staged file, as uploaded

Before tenants, the same keys had no ``<tenant>:`` part; ``adopt_unowned`` moves such documents
into a tenant (the local set-up does, for its ``local`` tenant), so nothing stored is lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import redis

from actors.jobs.errors import InvalidPayload
from actors.jobs.events import redis_errors_as_unavailable, text, utc_now
from actors.jobs.keys import PREFIX
from extraction import SUPPORTED_TYPES, ExtractedText, content_type_of

from .errors import (
    DocumentTooLarge,
    EmptyWorkspace,
    ExtractionPending,
    FilenameTooLong,
    QuotaExceeded,
    UnknownDocument,
    UnknownWorkspace,
    UnsupportedDocument,
)
from .extract import extract_text, limits_from
from .scoring import Contract
from .settings import ContractSettings

DEFAULTS = ContractSettings.defaults()
#: Most documents one workspace may hold.
DEFAULT_MAX_DOCUMENTS = 1000
#: How long a staged file waits for its extraction, in seconds, before it is given up.
STAGED_TTL = 24 * 3600
#: How much of an uploaded file is held in memory at once while it is copied to Redis.
COPY_CHUNK_BYTES = 1024 * 1024

#: An uploaded file: its name, and its bytes or a binary file to read them from.
Upload = tuple[str, bytes | BinaryIO]
#: A workspace name: 1-100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit.
WORKSPACE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$"
_WORKSPACE_NAME = re.compile(WORKSPACE_NAME_PATTERN)


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

    def stage(self, tenant: str, workspace: str, files: Sequence[Upload]) -> tuple[str, list[dict[str, Any]]]:
        """Check ``(filename, data)`` pairs (data: bytes, or a binary file to read) and keep them,
        as sent, for extraction: all, or none. Returns the upload's id and each staged file's
        metadata, in upload order. A file is copied to Redis a chunk at a time, so an upload
        costs this process a chunk of memory, not its size."""
        check_workspace_name(workspace)
        if not files:
            raise InvalidPayload(
                "No file in the upload: send multipart form data with a 'file' field",
                problems={"file": "required"},
            )
        limits = self.settings
        sizes = [_size(data) for _, data in files]
        for (filename, _), size in zip(files, sizes, strict=True):
            if len(filename) > limits.max_filename_chars:
                raise FilenameTooLong(
                    f"{filename[:40]}…: a filename may have at most {limits.max_filename_chars} characters"
                )
            if content_type_of(filename) is None:
                supported = ", ".join(SUPPORTED_TYPES)
                raise UnsupportedDocument(f"{filename}: unsupported file type; use {supported}")
            if size > limits.max_document_bytes:
                raise DocumentTooLarge(
                    f"{filename}: {size} bytes is over the limit of {limits.max_document_bytes} bytes"
                )
        self._check_quotas(tenant, workspace, len(files), sum(sizes))
        upload_id, staged_at = uuid.uuid4().hex, utc_now()
        staged = [
            {
                "doc_id": uuid.uuid4().hex,
                "filename": filename,
                "size_bytes": size,
                "upload_id": upload_id,
                "position": position,  # its place in its upload: documents list in upload order
                "uploaded_at": staged_at,
                "expires_at": time.time() + STAGED_TTL,
            }
            for position, ((filename, _), size) in enumerate(zip(files, sizes, strict=True))
        ]
        raw_keys = [_raw_key(tenant, workspace, meta["doc_id"]) for meta in staged]
        with redis_errors_as_unavailable():
            try:
                for key, (_, data) in zip(raw_keys, files, strict=True):
                    self.client.set(key, b"", ex=STAGED_TTL)
                    for chunk in _chunks(data):
                        self.client.append(key, chunk)
                # The files count once they are listed: the listing is one transaction.
                pipe = self.client.pipeline(transaction=True)
                for meta in staged:
                    pipe.hset(_staged_key(tenant, workspace), meta["doc_id"], json.dumps(meta))
                pipe.expire(_staged_key(tenant, workspace), STAGED_TTL)
                pipe.zadd(_workspaces_key(tenant), {workspace: int(time.time() * 1000)})
                pipe.execute()
            except BaseException:
                with contextlib.suppress(redis.RedisError):
                    self.client.delete(*raw_keys)  # they would expire; no need to keep them that long
                raise
        return upload_id, [_public(meta) for meta in staged]

    def staged(self, tenant: str, workspace: str, upload_id: str | None = None) -> list[dict[str, Any]]:
        """The workspace's staged files (of one upload, when given), in upload order."""
        with redis_errors_as_unavailable():
            raw = self.client.hvals(_staged_key(tenant, workspace))
        staged = [meta for meta in _live(raw) if upload_id is None or meta["upload_id"] == upload_id]
        return sorted(staged, key=lambda m: (m["uploaded_at"], m["position"]))

    def extracting(self, tenant: str, workspace: str) -> list[dict[str, Any]]:
        """The staged files as clients see them: uploaded, not yet extracted."""
        return [_public(meta) for meta in self.staged(tenant, workspace)]

    def raw(self, tenant: str, workspace: str, doc_id: str) -> bytes | None:
        """A staged file's bytes, as uploaded (None once admitted, rejected or expired)."""
        with redis_errors_as_unavailable():
            return self.client.get(_raw_key(tenant, workspace, doc_id))

    def admit(
        self, tenant: str, workspace: str, staged: dict[str, Any], data: bytes, extracted: ExtractedText
    ) -> dict[str, Any] | None:
        """Make a staged file a document, with its extracted text; returns its metadata, or None
        when the file was deleted while it was being read (it then stays deleted)."""
        ttl = self.settings.document_ttl or None
        meta = {
            "doc_id": staged["doc_id"],
            "filename": staged["filename"],
            "content_type": extracted.content_type,
            "size_bytes": len(data),
            "pages": extracted.pages,
            "characters": len(extracted.text),
            "sha256": hashlib.sha256(data).hexdigest(),
            "uploaded_at": staged["uploaded_at"],
            "expires_at": time.time() + ttl if ttl else None,
            "position": staged["position"],
        }
        staged_key = _staged_key(tenant, workspace)
        with redis_errors_as_unavailable(), self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(staged_key)  # a delete meanwhile must win over this admission
                    if not pipe.hexists(staged_key, meta["doc_id"]):
                        return None
                    pipe.multi()
                    pipe.hset(_documents_key(tenant, workspace), meta["doc_id"], json.dumps(meta))
                    pipe.set(_text_key(tenant, workspace, meta["doc_id"]), extracted.text, ex=ttl)
                    if ttl:
                        pipe.expire(_documents_key(tenant, workspace), ttl)
                    pipe.hdel(staged_key, meta["doc_id"])
                    pipe.delete(_raw_key(tenant, workspace, meta["doc_id"]))
                    pipe.zadd(_workspaces_key(tenant), {workspace: int(time.time() * 1000)})
                    pipe.execute()
                    return _public(meta)
                except redis.WatchError:
                    continue  # the staged files changed (another upload, a delete): look again

    def reject(self, tenant: str, workspace: str, doc_id: str) -> None:
        """Forget a staged file that could not be read."""
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(_staged_key(tenant, workspace), doc_id)
            pipe.delete(_raw_key(tenant, workspace, doc_id))
            pipe.execute()

    def add(self, tenant: str, workspace: str, files: Sequence[tuple[str, bytes]]) -> list[dict[str, Any]]:
        """Stage, extract and admit files here and now (in sandboxed children): for scripts and
        tests that fill a workspace without a worker; a file that cannot be read raises."""
        upload_id, _ = self.stage(tenant, workspace, files)
        staged = self.staged(tenant, workspace, upload_id)  # in upload order, as ``files``
        limits = limits_from(self.settings)
        admitted = []
        for meta, (filename, data) in zip(staged, files, strict=True):
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
            pipe.zscore(_workspaces_key(tenant), workspace)
            pipe.hvals(_documents_key(tenant, workspace))
            known, raw = pipe.execute()
        if known is None:
            raise UnknownWorkspace(f"No workspace named {workspace!r} (upload a document to create it)")
        return [_public(meta) for meta in sorted(_live(raw), key=lambda m: (m["uploaded_at"], m["position"]))]

    def delete(self, tenant: str, workspace: str, doc_id: str) -> None:
        """Delete a document, or a staged file (its extraction then skips it)."""
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(_documents_key(tenant, workspace), doc_id)
            pipe.delete(_text_key(tenant, workspace, doc_id))
            pipe.hdel(_staged_key(tenant, workspace), doc_id)
            pipe.delete(_raw_key(tenant, workspace, doc_id))
            pipe.zadd(_workspaces_key(tenant), {workspace: int(time.time() * 1000)}, xx=True)
            removed, _, unstaged, _, _ = pipe.execute()
        if not removed and not unstaged:
            raise UnknownDocument(f"No document {doc_id!r} in workspace {workspace!r}")

    def delete_workspace(self, tenant: str, workspace: str) -> None:
        """Delete a workspace: its documents, their text and any staged file (its jobs' records stay)."""
        docs, staged = _documents_key(tenant, workspace), _staged_key(tenant, workspace)
        with redis_errors_as_unavailable():
            doc_ids = {text(raw) for raw in [*self.client.hkeys(docs), *self.client.hkeys(staged)]}
            per_document = [key(tenant, workspace, d) for d in doc_ids for key in (_text_key, _raw_key)]
            pipe = self.client.pipeline(transaction=True)
            pipe.zrem(_workspaces_key(tenant), workspace)
            pipe.delete(docs, staged, *per_document)
            known, _ = pipe.execute()
        if not known:
            raise UnknownWorkspace(f"No workspace named {workspace!r}")

    def workspaces(self, tenant: str) -> list[dict[str, Any]]:
        names, usage = self._usage(tenant)
        return [
            {"name": name, "documents": sum(1 for meta in usage[name] if "upload_id" not in meta)}
            for name in names
        ]

    def require_documents(self, tenant: str, workspace: str) -> int:
        """How many documents the tenant's ``workspace`` holds; raises when it is unknown or empty,
        or while files uploaded to it are still being extracted."""
        count = len(self.list(tenant, workspace))
        staged = self.staged(tenant, workspace)
        if staged:
            raise ExtractionPending(
                f"Workspace {workspace!r} has {len(staged)} uploaded file(s) still being extracted; "
                f"wait for upload {staged[0]['upload_id']}'s extract_documents job to finish, then retry"
            )
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
        """The tenant's workspaces, oldest first, and each one's live documents and staged files."""
        with redis_errors_as_unavailable():
            names = [text(n) for n in self.client.zrange(_workspaces_key(tenant), 0, -1)]
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hvals(_documents_key(tenant, name))
                pipe.hvals(_staged_key(tenant, name))
            metas = pipe.execute()
        return names, {name: _live([*metas[2 * at], *metas[2 * at + 1]]) for at, name in enumerate(names)}

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


def _size(data: bytes | BinaryIO) -> int:
    if isinstance(data, bytes):
        return len(data)
    data.seek(0, io.SEEK_END)
    size = data.tell()
    data.seek(0)
    return size


def _chunks(data: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(data, bytes):
        yield from (data[at : at + COPY_CHUNK_BYTES] for at in range(0, len(data), COPY_CHUNK_BYTES))
        return
    while chunk := data.read(COPY_CHUNK_BYTES):
        yield chunk


def _public(meta: dict[str, Any]) -> dict[str, Any]:
    """Metadata as clients see it: without the store's own bookkeeping."""
    return {name: value for name, value in meta.items() if name != "position"}


def _workspaces_key(tenant: str) -> str:
    return f"{PREFIX}:workspaces:{tenant}"


def _documents_key(tenant: str, workspace: str) -> str:
    return f"{PREFIX}:docs:{tenant}:{workspace}"


def _text_key(tenant: str, workspace: str, doc_id: str) -> str:
    return f"{PREFIX}:doctext:{tenant}:{workspace}:{doc_id}"


def _staged_key(tenant: str, workspace: str) -> str:
    return f"{PREFIX}:docstaged:{tenant}:{workspace}"


def _raw_key(tenant: str, workspace: str, doc_id: str) -> str:
    return f"{PREFIX}:docraw:{tenant}:{workspace}:{doc_id}"
