"""Workspace endpoints: upload, list, read and delete contract documents.

    POST   /workspaces/<name>/documents            multipart, one or more ``file`` fields -> 202
                                                   with the ``extract_documents`` job; 200 (no
                                                   job) when every file is a duplicate
    GET    /workspaces/<name>/documents            the documents, and the files being extracted
    GET    /workspaces/<name>/documents/<doc_id>   a document's metadata and text; 409 while read
    DELETE /workspaces/<name>/documents/<doc_id>   204
    DELETE /workspaces/<name>                      204; 409 ``workspace_busy`` while a job of it runs
    GET    /workspaces                             every workspace with its document count

Every workspace is the caller's tenant's. An upload is read as it arrives (``service.uploads``:
a file past a limit is refused before the rest is read), stored as sent and read by a worker
(``actors.contracts.intake``): this process never parses a document (it hashes each file, a chunk
at a time, so that a file the workspace already holds is not stored again). Redis calls are
synchronous here, so they run in an executor thread.
"""

from __future__ import annotations

from functools import partial

from pydantic import BaseModel, Field
from quart import Blueprint, Response, jsonify, request, url_for
from quart.utils import run_sync
from quart_schema import DataSource, document_request, document_response
from quart_schema.pydantic import File

from actors.contracts.intake import receive_upload
from actors.jobs.states import JobStatus

from ..auth.identity import tenant
from ..context import services
from ..endpoints import endpoint
from ..errors import Conflict
from ..schemas import DocumentList, DocumentText, Upload, UploadOfDuplicates, WorkspaceList
from ..uploads import received_files

blueprint = Blueprint("workspaces", __name__)


class UploadForm(BaseModel):
    file: list[File] = Field(description="one or more files: .txt, .md, .pdf or .docx")


@blueprint.post("/workspaces/<workspace>/documents")
@endpoint(errors=(413, 415, 422), summary="Upload documents into a workspace.")
@document_request(UploadForm, source=DataSource.FORM_MULTIPART)
@document_response(Upload, 202)
@document_response(UploadOfDuplicates, 200)
async def upload_documents(workspace: str) -> tuple[Response, int, dict[str, str]]:
    """Upload documents: stored at once, extracted by an ``extract_documents`` job. A file with the
    bytes of a document of the workspace (or of a file being read) is not stored again: it is
    listed as that document, ``duplicate: true``; when every file is one, 200 and no job."""
    received = received_files(
        request.body,
        request.mimetype,
        request.mimetype_params,
        field="file",
        checks=services().documents.limits,
        max_bytes=services().settings.max_upload_bytes,
    )
    async with received as uploads:  # each file refused as soon as it passes a limit
        receive = partial(receive_upload, services().engine, tenant(), workspace, uploads)
        submitted, upload = await run_sync(receive)()
    if submitted is None:
        return jsonify({"workspace": workspace, "job_id": None, "documents": upload.files}), 200, {}
    status_url = url_for("jobs.get_job", job_id=submitted.job_id)
    body = {
        "workspace": workspace,
        "job_id": submitted.job_id,
        "status_url": status_url,
        "events_url": url_for("events.job_events", job_id=submitted.job_id),
        "documents": upload.files,
    }
    return jsonify(body), 202, {"Location": status_url}


@blueprint.get("/workspaces/<workspace>/documents")
@endpoint(errors=(404,), summary="List a workspace's documents.")
@document_response(DocumentList)
async def list_documents(workspace: str) -> Response:
    """The workspace's documents, and the uploaded files still being extracted."""
    store = services().documents
    documents = await run_sync(partial(store.list, tenant(), workspace))()
    extracting = await run_sync(partial(store.extracting, tenant(), workspace))()
    return jsonify({"workspace": workspace, "documents": documents, "extracting": extracting})


@blueprint.get("/workspaces/<workspace>/documents/<doc_id>")
@endpoint(errors=(404, 409), summary="Read a document and its text.")
@document_response(DocumentText)
async def get_document(workspace: str, doc_id: str) -> Response:
    """A document: its metadata and its extracted text (409 ``extraction_pending`` while it is read)."""
    read = partial(services().documents.document, tenant(), workspace, doc_id)
    document, content = await run_sync(read)()
    return jsonify({"workspace": workspace, "document": document, "text": content})


@blueprint.delete("/workspaces/<workspace>/documents/<doc_id>")
@endpoint(no_content=True, errors=(404,), summary="Delete a document.")
async def delete_document(workspace: str, doc_id: str) -> Response:
    """Delete a document (or a file still being extracted)."""
    await run_sync(partial(services().documents.delete, tenant(), workspace, doc_id))()
    return Response("", status=204)


@blueprint.delete("/workspaces/<workspace>")
@endpoint(no_content=True, errors=(404, 409), summary="Delete a workspace.")
async def delete_workspace(workspace: str) -> Response:
    """Delete a workspace and its documents (204; 404 if it has none); 409 while any of its jobs
    has not finished (an upload being read among them). The jobs' records stay, as history."""
    reader = services().reader.within(tenant())
    for status in (JobStatus.PENDING, JobStatus.STARTED):
        busy, _ = await reader.list_jobs(limit=1, status=status.value, group=workspace)
        if busy:
            raise Conflict(
                f"Workspace {workspace!r} has a job that has not finished ({busy[0]['job_id']}, "
                f"{status.value}): wait for it or cancel it first",
                code="workspace_busy",
            )
    await run_sync(partial(services().documents.delete_workspace, tenant(), workspace))()
    return Response("", status=204)


@blueprint.get("/workspaces")
@endpoint(summary="List the caller's workspaces.")
@document_response(WorkspaceList)
async def list_workspaces() -> Response:
    """The caller's workspaces, each with its number of documents."""
    return jsonify({"workspaces": await run_sync(partial(services().documents.workspaces, tenant()))()})
