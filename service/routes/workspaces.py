"""Workspace endpoints: upload, list and delete contract documents.

    POST   /workspaces/<name>/documents            multipart, one or more ``file`` fields -> 202
                                                   with the ``extract_documents`` job
    GET    /workspaces/<name>/documents            the documents, and the files being extracted
    DELETE /workspaces/<name>/documents/<doc_id>   204
    GET    /workspaces                             every workspace with its document count

Every workspace is the caller's tenant's. An upload is stored as sent and read by a worker
(``actors.contracts.intake``): this process never parses a document. Redis calls are synchronous
here, so they run in an executor thread.
"""

from __future__ import annotations

from functools import partial

from pydantic import BaseModel, Field
from quart import Blueprint, Response, jsonify, request, url_for
from quart.utils import run_sync
from quart_schema import DataSource, document_request, document_response
from quart_schema.pydantic import File

from actors.contracts.intake import receive_upload

from ..auth.identity import tenant
from ..context import services
from ..schemas import DocumentList, Upload, WorkspaceList

blueprint = Blueprint("workspaces", __name__)


class UploadForm(BaseModel):
    file: list[File] = Field(description="one or more files: .txt, .md, .pdf or .docx")


@blueprint.post("/workspaces/<workspace>/documents")
@document_request(UploadForm, source=DataSource.FORM_MULTIPART)
@document_response(Upload, 202)
async def upload_documents(workspace: str) -> tuple[Response, int, dict[str, str]]:
    """Upload documents: stored at once, extracted by an ``extract_documents`` job."""
    files = await request.files
    # The parts as parsed (spooled to disk past 500 KB): staging copies them a chunk at a time.
    uploads = [(storage.filename or "unnamed", storage.stream) for storage in files.getlist("file")]
    receive = partial(receive_upload, services().engine, tenant(), workspace, uploads)
    submitted, staged = await run_sync(receive)()
    status_url = url_for("jobs.get_job", job_id=submitted.job_id)
    body = {
        "workspace": workspace,
        "job_id": submitted.job_id,
        "status_url": status_url,
        "events_url": url_for("events.job_events", job_id=submitted.job_id),
        "documents": staged,
    }
    return jsonify(body), 202, {"Location": status_url}


@blueprint.get("/workspaces/<workspace>/documents")
@document_response(DocumentList)
async def list_documents(workspace: str) -> Response:
    """The workspace's documents, and the uploaded files still being extracted."""
    store = services().documents
    documents = await run_sync(partial(store.list, tenant(), workspace))()
    extracting = await run_sync(partial(store.extracting, tenant(), workspace))()
    return jsonify({"workspace": workspace, "documents": documents, "extracting": extracting})


@blueprint.delete("/workspaces/<workspace>/documents/<doc_id>")
async def delete_document(workspace: str, doc_id: str) -> Response:
    """Delete a document (or a file still being extracted)."""
    await run_sync(partial(services().documents.delete, tenant(), workspace, doc_id))()
    return Response("", status=204)


@blueprint.get("/workspaces")
@document_response(WorkspaceList)
async def list_workspaces() -> Response:
    """The caller's workspaces, each with its number of documents."""
    return jsonify({"workspaces": await run_sync(partial(services().documents.workspaces, tenant()))()})
