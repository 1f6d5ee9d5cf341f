"""Tenants' API keys, with the admin token.

GET    /admin/tenants                          {tenants: [names]}: every tenant that has had a key
POST   /admin/tenants/<tenant>/keys            201 {tenant, key_id, role, key}: the key is shown this
                                               once; body {"role": "viewer"} for a read-only key
                                               (none, or "member": a full key)
GET    /admin/tenants/<tenant>/keys            {tenant, keys: [{key_id, role, created_at}]}
DELETE /admin/tenants/<tenant>/keys/<key_id>   204: revoked at once, its open streams end
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_schema import document_request, document_response

from actors.jobs.states import is_valid_namespace

from ..context import services
from ..endpoints import endpoint
from ..errors import BadRequest, NotFound
from ..schemas import KeyCreated, KeyList, KeyRequest, TenantList
from .params import body_as

blueprint = Blueprint("admin", __name__)


@blueprint.get("/admin/tenants")
@endpoint(access="admin", summary="List every tenant.")
@document_response(TenantList)
async def list_tenants() -> Response:
    """Every tenant (the admin's)."""
    return jsonify({"tenants": await services().auth.credentials.tenants()})


@blueprint.post("/admin/tenants/<tenant>/keys")
@endpoint(access="admin", errors=(413, 415, 422), summary="Make a key for a tenant.")
@document_request(KeyRequest)
@document_response(KeyCreated, 201)
async def create_key(tenant: str) -> tuple[Response, int]:
    """A new key for the tenant, a member's unless the body says ``{"role": "viewer"}``; its
    secret is shown once (the admin's)."""
    _check_name(tenant)
    body = await body_as(KeyRequest)
    key, secret = await services().auth.credentials.create(tenant, body.role)
    return jsonify({"tenant": key.tenant, "key_id": key.key_id, "role": key.role, "key": secret}), 201


@blueprint.get("/admin/tenants/<tenant>/keys")
@endpoint(access="admin", summary="List a tenant's keys.")
@document_response(KeyList)
async def list_keys(tenant: str) -> Response:
    """The tenant's keys, without secrets (the admin's)."""
    _check_name(tenant)
    return jsonify({"tenant": tenant, "keys": await services().auth.credentials.list(tenant)})


@blueprint.delete("/admin/tenants/<tenant>/keys/<key_id>")
@endpoint(access="admin", no_content=True, errors=(404,), summary="Revoke a key.")
async def revoke_key(tenant: str, key_id: str) -> Response:
    """Revoke a key: its requests and streams end at once (the admin's)."""
    if not await services().auth.credentials.revoke(tenant, key_id):
        raise NotFound(f"Tenant {tenant!r} has no key {key_id!r}", code="key_not_found")
    return Response("", status=204)


def _check_name(tenant: str) -> None:
    if not is_valid_namespace(tenant):
        raise BadRequest(
            "A tenant's name has 1 to 63 lower-case letters, digits, '_' or '-', "
            "starting with a letter or digit",
            code="invalid_parameter",
        )
