"""The API's bodies as pydantic models: what ``/openapi.json`` says each route takes and answers.

The routes build their answers as plain dicts; these models describe them for the OpenAPI
document (``service.openapi``), and the fuzzing test holds every answer to them. Job arguments are
not here: each job type's model comes from its actor's signature (``actors.jobs.registry``).
Models allow fields they do not name, so an answer may grow a field without breaking a client.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from actors.jobs.states import JobStatus

#: Most jobs one multiplexed stream (or one stream token) may follow.
MAX_JOBS_PER_STREAM = 100


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- errors ---------------------------------------------------------------------------------------


class ErrorDetail(_Open):
    code: str = Field(description="stable, machine-readable: `job_not_found`, `invalid_payload`, ...")
    message: str = Field(description="what went wrong, for people")


class ErrorBody(_Open):
    """Every error answer: ``{"error": {"code", "message", ...details}}``."""

    error: ErrorDetail


# -- jobs -----------------------------------------------------------------------------------------


class JobSnapshot(_Open):
    """A job as it stands: the body of ``GET /jobs/<id>`` and of every SSE event."""

    job_id: str
    job_type: str
    workspace: str | None = Field(description="the job's workspace, for job types grouped by one")
    status: JobStatus
    message: str
    progress: float | None = Field(description="percent done, when the job reports it")
    seq: int = Field(description="the number of changes so far; the SSE event id")
    attempt: int | None
    result: Any = None
    error: dict[str, Any] | None
    created_at: str | None
    updated_at: str | None = Field(None, description="when the change this snapshot follows was made")
    started_at: str | None
    finished_at: str | None
    retry_at: str | None
    worker: str | None
    retry_of: str | None = Field(
        None, description="the finished job this one runs again (`POST /jobs/<id>/retry`)"
    )
    retried_by: str | None = Field(None, description="the job that runs this one again, once retried")
    arguments: dict[str, Any] | None = Field(
        None, description="with `?include=arguments`: how it was started"
    )
    retryable: bool | None = Field(
        None, description="`POST /jobs/<id>/retry` would run it again: finished, of a type clients start"
    )
    duration: float | None = Field(
        None, description="seconds from its start to its end (to now while it runs); null before it starts"
    )
    traceback: str | None = Field(
        None, description="the admin's, with `?include=traceback`: its last failure's (at most 16 KiB)"
    )


class JobAccepted(_Open):
    """A job just queued (202), or the job an ``Idempotency-Key`` already made (200)."""

    job_id: str
    status: JobStatus
    message: str
    status_url: str
    events_url: str


class JobPage(_Open):
    jobs: list[JobSnapshot]
    next_cursor: str | None = Field(description="pass as `?cursor=` for the next page; null at the end")


class JobListQuery(BaseModel):
    status: str | None = Field(None, description="one state, or several comma-separated: `FAILURE,CANCELLED`")
    job_type: str | None = None
    workspace: str | None = None
    since: str | None = Field(None, description="created at or after: ISO 8601, or unix seconds")
    until: str | None = Field(None, description="created at or before: ISO 8601, or unix seconds")
    q: str | None = Field(
        None,
        max_length=200,
        description="text in the job's id, type, arguments, result or error (ASCII letters in any case)",
    )
    limit: int | None = Field(None, ge=0, le=200, description="jobs per page (default 50)")
    cursor: str | None = Field(None, description="the `next_cursor` of the previous page")
    include: Literal["result"] | None = Field(None, description="`result`: rows carry their result")
    tenant: str | None = Field(None, description="the admin's only: whose jobs")


class LongPollQuery(BaseModel):
    wait: float | None = Field(None, ge=0, le=60, description="seconds to wait for a change")
    since: float | None = Field(None, ge=0, description="the `seq` already seen (default: the current)")
    include: Literal["arguments", "traceback"] | None = Field(
        None,
        description="`arguments`: the job's arguments too; `traceback` (the admin's): its last failure's",
    )
    tenant: str | None = Field(None, description="the admin's only: whose job")


#: Most jobs one bulk request acts on.
MAX_BULK = 1000


class BulkRequest(BaseModel):
    """Which jobs a bulk action takes (the filters of `GET /jobs`, all at once), and how many."""

    model_config = ConfigDict(extra="forbid")

    status: list[JobStatus] | None = Field(
        None, description="states, any of them (default: every state the action takes)"
    )
    job_type: str | None = None
    workspace: str | None = None
    since: str | float | None = Field(None, description="created at or after: ISO 8601, or unix seconds")
    until: str | float | None = Field(None, description="created at or before: ISO 8601, or unix seconds")
    q: str | None = Field(None, description="text in the job's id, type, arguments, result or error")
    limit: int = Field(MAX_BULK, ge=1, le=MAX_BULK, description="most jobs to act on, newest first")
    dry_run: bool = Field(False, description="count the matching jobs only")


class BulkOutcome(_Open):
    """What a bulk action did: each job it acted on, each it could not, and whether more match. A
    dry run (`dry_run: true`) answers `matched` and `more` alone: what the action would take."""

    matched: int = Field(description="jobs the filters match, up to `limit`")
    done: list[dict[str, Any]] | None = Field(
        None, description="`{job_id, new_job_id}` (retry), `{job_id, status}` (cancel); absent in a dry run"
    )
    skipped: list[dict[str, Any]] | None = Field(
        None, description="`{job_id, code, message}`: why not; absent in a dry run"
    )
    more: bool = Field(description="more jobs match beyond `limit` (or beyond what one request looks at)")


class SyncQuery(BaseModel):
    async_mode: bool | None = Field(None, description="true: answer 202 at once; false: wait for the end")


class StreamQuery(BaseModel):
    since: str | None = Field(None, description="resume after this event id (or send `Last-Event-ID`)")
    token: str | None = Field(None, description="a stream token from `POST /stream-tokens`")


class TenantStreamQuery(BaseModel):
    since: str | None = Field(None, description="resume after this event id (or send `Last-Event-ID`)")


class MultiplexQuery(StreamQuery):
    job: list[str] = Field(description="the jobs to follow, 1 to 100")


# -- workspaces -----------------------------------------------------------------------------------


class DocumentMeta(_Open):
    doc_id: str
    filename: str
    content_type: str
    size_bytes: int
    pages: int | None
    characters: int
    sha256: str = Field(description="of the file as uploaded: a file with the same bytes is not stored again")
    uploaded_at: str


class PendingDocument(_Open):
    doc_id: str
    filename: str
    size_bytes: int
    sha256: str | None = Field(None, description="of the file as uploaded")
    job_id: str | None = Field(None, description="the `extract_documents` job reading it")


class UploadedFile(_Open):
    """One file of an upload: stored, and read by the upload's job (`duplicate: false`), or not
    stored because the workspace holds, or is reading, a file of the same bytes (`duplicate: true`:
    `doc_id` and the rest are that document's, `uploaded_as` the name it had in this upload)."""

    doc_id: str
    filename: str
    size_bytes: int
    sha256: str
    duplicate: bool
    uploaded_as: str | None = Field(None, description="a duplicate's name in this upload")
    extracting: bool = Field(description="not read yet: its `job_id` reads it")
    job_id: str | None = Field(None, description="the `extract_documents` job reading it, while it is read")


class Upload(_Open):
    """Files stored and queued for extraction; they join the workspace as the job reads them. The
    upload's duplicates are listed too, each as the document it duplicates."""

    workspace: str
    job_id: str
    status_url: str
    events_url: str
    documents: list[UploadedFile] = Field(description="every file of the upload, in upload order")


class UploadOfDuplicates(_Open):
    """An upload whose every file is a duplicate: nothing stored, no job queued."""

    workspace: str
    job_id: None = Field(description="none: nothing to read")
    documents: list[UploadedFile] = Field(description="every file of the upload, each a duplicate")


class DocumentList(_Open):
    workspace: str
    documents: list[DocumentMeta]
    extracting: list[PendingDocument] = Field(description="uploaded files not yet extracted")


class DocumentText(_Open):
    """A document read: its metadata and its text, which evidence offsets (`start`, `end`:
    Unicode code points) index into."""

    workspace: str
    document: DocumentMeta
    text: str


class WorkspaceSummary(_Open):
    name: str
    documents: int


class WorkspaceList(_Open):
    workspaces: list[WorkspaceSummary]


# -- operations -----------------------------------------------------------------------------------


class Health(_Open):
    status: str


class WorkerStatus(_Open):
    status: Literal["running", "draining", "degraded", "down"]
    redis_connected: bool
    jobs_in_queue: int | None
    worker_thread_alive: bool
    workers: list[dict[str, Any]]


class StreamStats(_Open):
    subscriptions: int
    watched_jobs: int
    watched_workspaces: int
    watched_tenants: int = Field(0, description="tenants whose every job a stream here follows")
    wakeups_received: int = Field(description="job events Redis sent this process: only watched ones")


# -- identity -------------------------------------------------------------------------------------


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(_Closed):
    key: str = Field(min_length=1, description="an API key; the session cookie then stands for it")
    replace: bool = Field(
        False, description="end this browser's session of another tenant and log in (else: 409)"
    )


class SessionInfo(_Open):
    tenant: str
    key_id: str | None
    role: Literal["viewer", "member", "admin"] = Field(
        description="the key's role: a `viewer` only reads, a `member` may change things too "
        "(`admin`: the admin token)"
    )


class StreamTokenRequest(_Closed):
    """Name the jobs, or the workspace, a token is for: one of the two."""

    jobs: Annotated[list[str], Field(min_length=1, max_length=MAX_JOBS_PER_STREAM)] | None = Field(
        None, description="the jobs the token may follow"
    )
    workspace: Annotated[str, Field(min_length=1)] | None = Field(
        None, description="or the workspace it may follow"
    )

    @model_validator(mode="after")
    def _one_of_the_two(self) -> StreamTokenRequest:
        if (self.jobs is None) == (self.workspace is None):
            raise ValueError('send {"jobs": [<job ids>]} or {"workspace": "<name>"}')
        return self


class StreamToken(_Open):
    token: str
    expires_in: float


class TenantList(_Open):
    tenants: list[Any]


class KeyRequest(_Closed):
    role: Literal["member", "viewer"] = Field(
        "member",
        description="`member`: anything the tenant may do; `viewer`: reads only (every change is 403)",
    )


class KeyCreated(_Open):
    tenant: str
    key_id: str
    role: Literal["member", "viewer"]
    key: str = Field(description="the secret: shown once, never stored")


class EndedQuery(BaseModel):
    minutes: int | None = Field(None, ge=0, le=120, description="how many minutes back (default 60)")
    tenant: str | None = Field(None, description="the admin's only: whose jobs")


class EndedPerMinute(_Open):
    minutes: list[dict[str, Any]] = Field(
        description="`{minute, succeeded, failed, cancelled}`, oldest first"
    )


class DeadLetterQuery(BaseModel):
    limit: int | None = Field(None, ge=0, le=200, description="letters to list, newest first (default 50)")


class DeadLetters(_Open):
    queue: str
    dead_letters: list[dict[str, Any]] = Field(
        description="`{id, job_id, job_type, dead_at, status, error}` each: `error` is the job's last"
        " (`{type, message}`; null once its record expired)"
    )


class KeyList(_Open):
    tenant: str
    keys: list[dict[str, Any]] = Field(description="`{key_id, role, created_at}` each")
