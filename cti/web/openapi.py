"""``GET /api/openapi.json``: an OpenAPI 3.1 description built from the live router, and
``GET /api/docs``: a page that shows it.

Every ``/api`` route is listed; declared routes (:class:`~cti.web.routing.RouteTable`) bring
their summary, body/query/response models (``model_json_schema``), error codes and who may
call them (``x-permission``: each role's scope, from the permission table), so the document
cannot drift from the code. A route added without a declaration still appears, flagged
``x-undocumented``, which the test suite rejects.

The page is self-contained (its CSS and JavaScript inline, no CDN: the daemon often has no
internet). Like the operator page, the page itself is public (a browser's navigation
cannot carry a bearer token) and holds nothing about the API: it logs in, or reuses the
operator page's token of the same tab, and renders the document it fetches with it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from cti.crm_store.rules.permissions import ROLES, Scope
from cti.web.jsonbody import MAX_BODY, MAX_DEPTH
from cti.web.routing import ApiDoc, RouteTable, api_doc

ROUTES = RouteTable("meta")
DOCS_PAGE = Path(__file__).parent / "static" / "api-docs.html"
REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
_METHODS = ("get", "post", "put", "patch", "delete")
_ERROR_TEXT = {
    400: f"Malformed request body: not JSON, or nested deeper than {MAX_DEPTH} levels",
    401: "Missing, unknown, expired or revoked token",
    403: "The caller's role may not do this, or not on this record (see x-permission)",
    404: "No such record",
    409: "Conflicts with existing data",
    422: "Invalid field(s), named in details.fields",
    413: f"Request body larger than {MAX_BODY} bytes",
    429: "Too many failed logins: retry after Retry-After seconds",
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error_id", "message", "details"],
    "properties": {
        "error_id": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
}


def _api_routes(app: web.Application) -> list[tuple[str, str, ApiDoc | None]]:
    out = []
    for route in app.router.routes():
        method = route.method.lower()
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path") or ""
        if method in _METHODS and path.startswith("/api"):
            out.append((path, method, api_doc(route.handler)))
    return out


def _schemas(docs: list[ApiDoc]) -> tuple[dict[Any, Any], dict[str, Any]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for doc in docs:
        for model, mode in (
            (doc.body, "validation"),
            (doc.query, "validation"),
            (doc.response, "serialization"),
        ):
            if model is not None:
                wanted[(model, mode)] = None  # type: ignore[index]
    refs, defs = models_json_schema(list(wanted), ref_template=REF)
    return refs, defs.get("$defs", {})


def _query_params(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.get("$defs", {}))
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _error(code: int) -> dict[str, Any]:
    return {
        "description": _ERROR_TEXT.get(code, "Error"),
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }


def _operation(
    path: str, method: str, doc: ApiDoc | None, refs: dict[Any, Any], defs: dict[str, Any]
) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "integer"}}
        for n in _PATH_PARAM.findall(path)
    ]
    if doc is None:
        return {
            "summary": f"{method.upper()} {path}",
            "x-undocumented": True,
            "parameters": params,
            "responses": {"default": {"description": "Undocumented"}},
        }
    op: dict[str, Any] = {
        "summary": doc.summary,
        "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
        "tags": [doc.tag],
    }
    if doc.query is not None:
        params += _query_params(doc.query, defs)
    if params:
        op["parameters"] = params
    if doc.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(doc.body, "validation")]}},
        }
    ok: dict[str, Any] = {"description": "OK" if doc.status != 201 else "Created"}
    if doc.status == 204:
        ok = {"description": "No content"}
    elif doc.media_type != "application/json":
        ok["content"] = {doc.media_type: {"schema": {"type": "string"}}}
    elif doc.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(doc.response, "serialization")]}}
    else:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    responses: dict[str, Any] = {str(doc.status): ok}
    codes = set(doc.errors)
    if doc.body is not None:
        codes |= {400, 413, 422}
    if doc.query is not None:
        codes.add(422)
    if "{" in path:
        codes.add(404)
    rule = doc.rule
    scopes = {role: rule.scope(role).value for role in ROLES}
    op["x-permission"] = {"resource": rule.resource, "action": rule.action, "scopes": scopes}
    op["x-roles"] = [role for role, scope in scopes.items() if scope != Scope.NONE]
    if rule.public:
        op["security"] = []
        op["description"] = "Anyone, without a token."
    else:
        codes.add(401)
        if Scope.NONE in scopes.values():  # an own-scope refusal is in the declared errors
            codes.add(403)
        who = ", ".join(f"{role}: {scope}" for role, scope in scopes.items())
        op["description"] = f"Who may ({rule.resource}.{rule.action}): {who}." + (
            f" {rule.note[0].upper()}{rule.note[1:]}." if rule.note else ""
        )
    for code in sorted(codes):
        responses[str(code)] = _error(code)
    op["responses"] = responses
    return op


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every ``/api`` route of ``app``."""
    routes = _api_routes(app)
    refs, defs = _schemas([doc for _, _, doc in routes if doc is not None])
    paths: dict[str, dict[str, Any]] = {}
    for path, method, doc in sorted(routes, key=lambda r: (r[0], r[1])):
        paths.setdefault(path, {})[method] = _operation(path, method, doc, refs, defs)
    defs["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cti REST API",
            "version": "1",
            "description": "Contact-center CRM and telephony API. Log in with POST /api/login "
            "and send the token as `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


@ROUTES.get("/api/openapi.json", summary="This OpenAPI description", perm=("apidoc", "read"))
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(build_openapi(request.app))


@ROUTES.get(
    "/api/docs",
    summary="This description as a page (log in on it to read it)",
    perm=("pages", "read"),
    media_type="text/html",
)
async def docs_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(DOCS_PAGE, headers={"Cache-Control": "no-cache"})
