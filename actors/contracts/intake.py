"""Uploads become documents: the upload is staged where it is received, and the
``extract_documents`` job reads it in a worker.

``receive_upload`` checks and stages the files (``DocumentStore.stage``) and starts one
``extract_documents`` job for the new ones, grouped by workspace like every contract job, so the
workspace's stream shows the extraction too; an upload whose every file is a duplicate (of a
document of the workspace, or of a file it is reading) starts none. The job reads each file in a
sandboxed child process (``extraction``), ``EXTRACT_CONCURRENCY`` files at a time per worker
process (each child may map ``EXTRACT_MEMORY_BYTES``), with one progress event per file; each file
either joins the workspace or is listed in the result's ``failed`` with a code and a reason. A job
whose every file failed ends FAILURE (``UnreadableDocument``, the reasons in its message). The web
process never parses a document: a bomb costs a child process of a worker, within its CPU and
memory limits.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Annotated, Any

from pydantic import Field

from actors.jobs import JobContext, current_job, job, report_progress
from actors.jobs.engine import JobEngine
from actors.jobs.errors import InvalidPayload, JobError
from actors.jobs.submit import Submitted, new_job_id, submit_job

from .errors import DocumentError, UnreadableDocument, UnsupportedDocument, WorkspaceError
from .extract import ExtractedText, extract_text, limits_from
from .jobs import WORKSPACE_ARGUMENT, WorkspaceName
from .resources import ContractResources
from .staging import StagedUpload, Upload

logger = logging.getLogger("contracts.intake")

EXTRACT_JOB = "extract_documents"
#: What a file that could not be read says, by the error it raised.
_FAILURE_CODES = {UnsupportedDocument: "unsupported_document", UnreadableDocument: "unreadable_document"}


def receive_upload(
    engine: JobEngine, tenant: str, workspace: str, files: Sequence[Upload]
) -> tuple[Submitted | None, StagedUpload]:
    """Stage ``(filename, data or file)`` pairs in the tenant's workspace and start the new
    files' extraction (blocking: run it off the event loop). Returns the job (None when no file
    was new) and the upload's files."""
    documents = ContractResources.of(engine.broker).documents
    # Named before the files are listed, so that their metadata says which job reads them.
    job_id = new_job_id()
    upload = documents.stage(tenant, workspace, files, job_id=job_id)
    if not upload.staged:
        return None, upload
    try:
        arguments = {WORKSPACE_ARGUMENT: workspace, "upload_id": upload.upload_id}
        submitted = submit_job(engine, EXTRACT_JOB, arguments, namespace=tenant, internal=True, job_id=job_id)
    except BaseException:
        with contextlib.suppress(JobError):  # best effort: the staged files would expire anyway
            for meta in upload.staged:
                documents.reject(tenant, workspace, meta["doc_id"])
        raise
    return submitted, upload


def _check_extract(kwargs: dict[str, Any], context: JobContext) -> None:
    documents = ContractResources.of(context.broker).documents
    if not documents.staged(context.namespace, kwargs[WORKSPACE_ARGUMENT], kwargs["upload_id"]):
        raise InvalidPayload(
            "No staged files for this upload: upload files to the workspace instead",
            problems={"upload_id": "nothing staged"},
        )


@job(group_by=WORKSPACE_ARGUMENT, check=_check_extract, public=False, throws=(DocumentError, WorkspaceError))
def extract_documents(
    *,
    workspace_name: WorkspaceName,
    upload_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="the upload's id")],
) -> dict[str, Any]:
    """Read the text of an upload's files into its workspace (started by each upload)."""
    context = current_job()
    resources = ContractResources.of(context.broker)
    documents, tenant = resources.documents, context.namespace
    staged = documents.staged(tenant, workspace_name, upload_id)
    added: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    report_progress(0, f"Reading {len(staged)} file{'' if len(staged) == 1 else 's'}")
    # Children read in parallel (up to the process's readers); this thread reports and stores,
    # since progress and cancellation belong to the job's own thread.
    pool = ThreadPoolExecutor(max_workers=resources.reader_count, thread_name_prefix="extract")
    try:
        reads = [pool.submit(_read, resources, tenant, workspace_name, meta) for meta in staged]
        for done, read in enumerate(as_completed(reads), start=1):
            meta, data, outcome = read.result()
            report_progress(100 * done / len(staged), f"Read {done}/{len(staged)}: {meta['filename']}")
            if isinstance(outcome, ExtractedText):
                document = documents.admit(tenant, workspace_name, meta, data, outcome)
                added.extend([document] if document is not None else [])  # None: deleted meanwhile
            elif outcome is not None:
                documents.reject(tenant, workspace_name, meta["doc_id"])
                failure = {"doc_id": meta["doc_id"], "filename": meta["filename"], "reason": str(outcome)}
                failed.append({**failure, "code": _FAILURE_CODES[type(outcome)]})
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a cancelled job reads no further file
    if failed and not added:
        raise UnreadableDocument("; ".join(failure["reason"] for failure in failed))
    position = {meta["doc_id"]: at for at, meta in enumerate(staged)}
    return {
        "workspace_name": workspace_name,
        "upload_id": upload_id,
        "documents": sorted(added, key=lambda document: position[document["doc_id"]]),
        "failed": sorted(failed, key=lambda failure: position[failure["doc_id"]]),
    }


def _read(
    resources: ContractResources, tenant: str, workspace: str, meta: dict[str, Any]
) -> tuple[dict[str, Any], bytes, ExtractedText | DocumentError | None]:
    """One staged file and what reading it gave: its text, the error, or None when it is gone."""
    data = resources.documents.raw(tenant, workspace, meta["doc_id"])
    if data is None:  # deleted meanwhile, or expired
        return meta, b"", None
    limits = limits_from(resources.documents.settings)
    with resources.readers:
        try:
            return meta, data, extract_text(meta["filename"], data, limits=limits)
        except (UnreadableDocument, UnsupportedDocument) as exc:
            return meta, data, exc
