"""Workspace endpoints: upload, list and delete contract documents.

    POST   /workspaces/<name>/documents            multipart, one or more ``file`` fields -> 201
    GET    /workspaces/<name>/documents            the documents' metadata
    DELETE /workspaces/<name>/documents/<doc_id>   204
    GET    /workspaces                             every workspace with its document count

Every workspace is the caller's tenant's. Extraction (PDF, DOCX) is CPU work, so uploads are
handled in an executor thread, like every synchronous Redis call here.
"""

from __future__ import annotations

from functools import partial

from quart import Blueprint, Response, jsonify, request
from quart.utils import run_sync

from ..auth.identity import tenant
from ..context import services

blueprint = Blueprint("workspaces", __name__)


@blueprint.post("/workspaces/<workspace>/documents")
async def upload_documents(workspace: str) -> tuple[Response, int]:
    files = await request.files
    uploads = [(storage.filename or "unnamed", storage.read()) for storage in files.getlist("file")]
    documents = await run_sync(partial(services().documents.add, tenant(), workspace, uploads))()
    return jsonify({"workspace": workspace, "documents": documents}), 201


@blueprint.get("/workspaces/<workspace>/documents")
async def list_documents(workspace: str) -> Response:
    documents = await run_sync(partial(services().documents.list, tenant(), workspace))()
    return jsonify({"workspace": workspace, "documents": documents})


@blueprint.delete("/workspaces/<workspace>/documents/<doc_id>")
async def delete_document(workspace: str, doc_id: str) -> Response:
    await run_sync(partial(services().documents.delete, tenant(), workspace, doc_id))()
    return Response("", status=204)


@blueprint.get("/workspaces")
async def list_workspaces() -> Response:
    return jsonify({"workspaces": await run_sync(partial(services().documents.workspaces, tenant()))()})
