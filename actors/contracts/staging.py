"""Uploads on their way in: checked, hashed, staged, then admitted as documents or rejected.

An upload is checked (names, sizes, types), then each file is hashed (sha256, read a chunk at a
time and rewound: the web process never holds a whole file). A file with the bytes of a document
the workspace holds, of a file staged in it and still being read, or of an earlier file of the
same upload is *not stored again*: the upload lists it as a duplicate of that document. The new
files are checked against the quotas (a duplicate costs nothing; ``quotas.py``), copied to Redis as they came,
all or none, under one upload id, and listed as ``extracting``, with their sha256 and the id of
the job that will read them (named before it is submitted, so a duplicate of a staged file can say
which job to watch).

The listing is one transaction that watches the workspace's documents and staged files and looks
for each new file's hash once more: two identical uploads racing each other store the file once
(the second to list finds the first's copy staged, drops its own and answers it as a duplicate).
The same transaction checks the quotas once more, and gives way to any other listing of the tenant:
quotas are reserved atomically, however many uploads race for the last of one.

The ``extract_documents`` job (``intake.py``) then reads each staged file in a sandboxed child
process and *admits* it (text and metadata in, raw file out) or *rejects* it; a staged file that
waits longer than ``STAGED_TTL`` is given up. ``DocumentStore`` (``documents.py``) builds on this
class with the documents' side: listing, reading, deleting.
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
from dataclasses import dataclass
from typing import Any, BinaryIO

import redis

from actors.jobs.clock import utc_now
from actors.jobs.encoding import text
from actors.jobs.errors import InvalidPayload, redis_errors_as_unavailable
from extraction import ExtractedText

from . import keys
from .quotas import UploadLimits, check_quotas
from .settings import ContractSettings

DEFAULTS = ContractSettings.defaults()
#: Most documents one workspace may hold.
DEFAULT_MAX_DOCUMENTS = 1000
#: How long a staged file waits for its extraction, in seconds, before it is given up.
STAGED_TTL = 24 * 3600
#: How much of an uploaded file is held in memory at once while it is hashed or copied to Redis.
COPY_CHUNK_BYTES = 1024 * 1024

#: An uploaded file: its name, and its bytes or a binary file to read them from.
Upload = tuple[str, bytes | BinaryIO]
#: A workspace name: 1-100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit
#: and not ending with a space (``acme `` would sit beside ``acme``, looking the same).
WORKSPACE_NAME_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9._ -]{0,98}[A-Za-z0-9._-])?$"
_WORKSPACE_NAME = re.compile(WORKSPACE_NAME_PATTERN)


def check_workspace_name(name: str) -> str:
    if not _WORKSPACE_NAME.fullmatch(name):
        raise InvalidPayload(
            f"Invalid workspace name {name!r}: 1-100 letters, digits, spaces, '.', '_' or '-', "
            "starting with a letter or digit and not ending with a space",
            problems={"workspace_name": "invalid name"},
        )
    return name


@dataclass(frozen=True, slots=True)
class StagedUpload:
    """What became of an upload: its id, and each of its files in upload order, as clients see it:
    a new file's staged metadata (``duplicate: false``), or the metadata of the document (read, or
    staged and being read) it duplicates (``duplicate: true``, ``uploaded_as`` its name here)."""

    upload_id: str
    files: list[dict[str, Any]]

    @property
    def staged(self) -> list[dict[str, Any]]:
        """The files stored for extraction (none when every file was a duplicate)."""
        return [file for file in self.files if not file["duplicate"]]


class StagingArea:
    """Uploaded files in Redis until a worker reads them; the tenant's quotas on uploads."""

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
        self.limits = UploadLimits(settings)

    def stage(
        self, tenant: str, workspace: str, files: Sequence[Upload], *, job_id: str | None = None
    ) -> StagedUpload:
        """Check ``(filename, data)`` pairs (data: bytes, or a seekable binary file) and keep the
        new ones, as sent, for extraction by the job ``job_id``: all, or none. A file is hashed and
        copied a chunk at a time, so an upload costs this process a chunk of memory, not its size."""
        check_workspace_name(workspace)
        if not files:
            raise InvalidPayload(
                "No file in the upload: send multipart form data with a 'file' field",
                problems={"file": "required"},
            )
        sizes = [_size(data) for _, data in files]
        for number, ((filename, _), size) in enumerate(zip(files, sizes, strict=True), start=1):
            self.limits.check_file(filename, number=number)
            self.limits.check_size(filename, size)
        # Read only once every file passed its checks: nothing over the size limit is hashed.
        digests = [_digest(data) for _, data in files]
        usage = self._usage(tenant)
        known = _by_digest(usage.get(workspace, []))
        upload_id, staged_at = uuid.uuid4().hex, utc_now()
        originals = []  # per file: the document it is (when new) or duplicates
        for position, ((filename, _), size, digest) in enumerate(zip(files, sizes, digests, strict=True)):
            if digest not in known:
                known[digest] = {
                    "doc_id": uuid.uuid4().hex,
                    "filename": filename,
                    "size_bytes": size,
                    "sha256": digest,
                    "upload_id": upload_id,
                    "job_id": job_id,
                    "position": position,  # its place in its upload: documents list in upload order
                    "uploaded_at": staged_at,
                    "expires_at": time.time() + STAGED_TTL,
                }
            originals.append(known[digest])
        new = [meta for at, meta in enumerate(originals) if _is_new(meta, upload_id, at)]
        late: dict[str, dict[str, Any]] = {}
        if new:  # only new files count against the quotas: checked here, and for good as they are listed
            self._check_quotas(usage, workspace, new)
            late = self._store(tenant, workspace, new, files)
        answers = []
        for position, ((filename, _), original) in enumerate(zip(files, originals, strict=True)):
            original = late.get(original["doc_id"], original)
            if _is_new(original, upload_id, position):
                answers.append({**public(original), "duplicate": False, "extracting": True})
            else:
                extracting = "upload_id" in original  # staged, not yet read
                answer = {**public(original), "duplicate": True, "uploaded_as": filename}
                answers.append({**answer, "extracting": extracting})
        return StagedUpload(upload_id, answers)

    def staged(self, tenant: str, workspace: str, upload_id: str | None = None) -> list[dict[str, Any]]:
        """The workspace's staged files (of one upload, when given), in upload order."""
        with redis_errors_as_unavailable():
            raw = self.client.hvals(keys.staged(tenant, workspace))
        staged = [meta for meta in live(raw) if upload_id is None or meta["upload_id"] == upload_id]
        return sorted(staged, key=lambda m: (m["uploaded_at"], m["position"]))

    def extracting(self, tenant: str, workspace: str) -> list[dict[str, Any]]:
        """The staged files as clients see them: uploaded, not yet extracted."""
        return [public(meta) for meta in self.staged(tenant, workspace)]

    def raw(self, tenant: str, workspace: str, doc_id: str) -> bytes | None:
        """A staged file's bytes, as uploaded (None once admitted, rejected or expired)."""
        with redis_errors_as_unavailable():
            return self.client.get(keys.raw(tenant, workspace, doc_id))

    def admit(
        self, tenant: str, workspace: str, staged: dict[str, Any], data: bytes, extracted: ExtractedText
    ) -> dict[str, Any] | None:
        """Make a staged file a document, with its extracted text; returns its metadata, or None
        when the file was deleted while it was being read (it then stays deleted). No duplicate
        check is needed here: ``stage`` listed no file whose bytes the workspace already had."""
        ttl = self.settings.document_ttl or None
        meta = {
            "doc_id": staged["doc_id"],
            "filename": staged["filename"],
            "content_type": extracted.content_type,
            "size_bytes": len(data),
            "pages": extracted.pages,
            "characters": len(extracted.text),
            # Hashed when it was staged (a file staged before hashes were kept is hashed now).
            "sha256": staged.get("sha256") or hashlib.sha256(data).hexdigest(),
            "uploaded_at": staged["uploaded_at"],
            "expires_at": time.time() + ttl if ttl else None,
            "position": staged["position"],
        }
        staged_key, documents_key = keys.staged(tenant, workspace), keys.documents(tenant, workspace)
        with redis_errors_as_unavailable(), self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(staged_key)  # a delete meanwhile must win over this admission
                    if not pipe.hexists(staged_key, meta["doc_id"]):
                        return None
                    pipe.multi()
                    pipe.hset(documents_key, meta["doc_id"], json.dumps(meta))
                    pipe.set(keys.text(tenant, workspace, meta["doc_id"]), extracted.text, ex=ttl)
                    if ttl:
                        pipe.expire(documents_key, ttl)
                    pipe.hdel(staged_key, meta["doc_id"])
                    pipe.delete(keys.raw(tenant, workspace, meta["doc_id"]))
                    pipe.zadd(keys.workspaces(tenant), {workspace: int(time.time() * 1000)})
                    pipe.execute()
                    return public(meta)
                except redis.WatchError:
                    continue  # the staged files changed (another upload, a delete): look again

    def reject(self, tenant: str, workspace: str, doc_id: str) -> None:
        """Forget a staged file that could not be read."""
        with redis_errors_as_unavailable():
            pipe = self.client.pipeline(transaction=True)
            pipe.hdel(keys.staged(tenant, workspace), doc_id)
            pipe.delete(keys.raw(tenant, workspace, doc_id))
            pipe.execute()

    def _store(
        self, tenant: str, workspace: str, new: list[dict[str, Any]], files: Sequence[Upload]
    ) -> dict[str, dict[str, Any]]:
        """Copy the new files to Redis, then list them; returns, by doc id, the new files another
        upload listed first (they are dropped), each with the document it duplicates."""
        raw_keys = [keys.raw(tenant, workspace, meta["doc_id"]) for meta in new]
        with redis_errors_as_unavailable():
            try:
                for key, meta in zip(raw_keys, new, strict=True):
                    self.client.set(key, b"", ex=STAGED_TTL)
                    for chunk in _chunks(files[meta["position"]][1]):
                        self.client.append(key, chunk)
                return self._list(tenant, workspace, new)
            except BaseException:
                with contextlib.suppress(redis.RedisError):
                    self.client.delete(*raw_keys)  # they would expire; no need to keep them that long
                raise

    def _list(self, tenant: str, workspace: str, new: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The files count once they are listed: in one transaction, which checks the quotas and
        gives way (and looks again) whenever the workspace's files change before it runs, or the
        tenant's workspaces do (every listing touches them, so two uploads racing each other for
        the last of a quota cannot both pass it)."""
        documents_key, staged_key = keys.documents(tenant, workspace), keys.staged(tenant, workspace)
        with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(keys.workspaces(tenant), documents_key, staged_key)
                    usage = self._usage(tenant)  # read on another connection: the watch still holds
                    known = _by_digest(usage.get(workspace, []))
                    late = {meta["doc_id"]: known[meta["sha256"]] for meta in new if meta["sha256"] in known}
                    self._check_quotas(usage, workspace, [meta for meta in new if meta["doc_id"] not in late])
                    pipe.multi()
                    for meta in new:
                        if meta["doc_id"] in late:
                            pipe.delete(keys.raw(tenant, workspace, meta["doc_id"]))
                        else:
                            pipe.hset(staged_key, meta["doc_id"], json.dumps(meta))
                    if len(late) < len(new):
                        pipe.expire(staged_key, STAGED_TTL)
                        pipe.zadd(keys.workspaces(tenant), {workspace: int(time.time() * 1000)})
                    pipe.execute()
                    return late
                except redis.WatchError:
                    continue

    def _usage(self, tenant: str) -> dict[str, list[dict[str, Any]]]:
        """The tenant's workspaces, oldest first, each with its live documents and staged files."""
        with redis_errors_as_unavailable():
            names = [text(n) for n in self.client.zrange(keys.workspaces(tenant), 0, -1)]
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hvals(keys.documents(tenant, name))
                pipe.hvals(keys.staged(tenant, name))
            metas = pipe.execute()
        return {name: live([*metas[2 * at], *metas[2 * at + 1]]) for at, name in enumerate(names)}

    def _check_quotas(
        self, usage: dict[str, list[dict[str, Any]]], workspace: str, new: list[dict[str, Any]]
    ) -> None:
        if new:
            size = sum(meta["size_bytes"] for meta in new)
            check_quotas(
                self.settings,
                max_documents=self.max_documents,
                usage=usage,
                workspace=workspace,
                files=len(new),
                size=size,
            )


def live(raw: Sequence[bytes | str]) -> list[dict[str, Any]]:
    """The metadata of documents (or staged files) that have not expired."""
    now = time.time()
    metas = [json.loads(value) for value in raw]
    return [meta for meta in metas if (meta.get("expires_at") or now + 1) > now]


def public(meta: dict[str, Any]) -> dict[str, Any]:
    """Metadata as clients see it: without the store's own bookkeeping."""
    return {name: value for name, value in meta.items() if name != "position"}


def _is_new(meta: dict[str, Any], upload_id: str, position: int) -> bool:
    """Whether ``meta`` is the upload's own file at ``position`` (and not one it duplicates)."""
    return meta.get("upload_id") == upload_id and meta["position"] == position


def _by_digest(metas: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Documents and staged files by their sha256 (a file staged before hashes were kept has none)."""
    return {meta["sha256"]: meta for meta in metas if "sha256" in meta}


def _size(data: bytes | BinaryIO) -> int:
    if isinstance(data, bytes):
        return len(data)
    data.seek(0, io.SEEK_END)
    size = data.tell()
    data.seek(0)
    return size


def _digest(data: bytes | BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(data):
        digest.update(chunk)
    if not isinstance(data, bytes):
        data.seek(0)  # copied from its start next
    return digest.hexdigest()


def _chunks(data: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(data, bytes):
        yield from (data[at : at + COPY_CHUNK_BYTES] for at in range(0, len(data), COPY_CHUNK_BYTES))
        return
    while chunk := data.read(COPY_CHUNK_BYTES):
        yield chunk
