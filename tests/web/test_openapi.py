"""The OpenAPI document: valid 3.1, and every /api route of the app is described."""

from __future__ import annotations

import openapi_spec_validator
from aiohttp import web

from cti.config import Settings
from cti.web.app import create_app
from cti.web.openapi import build_openapi
from tests.web.conftest import Client, Login


def _api_routes(app: web.Application) -> set[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path") or ""
        if path.startswith("/api") and route.method != "HEAD":
            out.add((path, route.method.lower()))
    return out


async def test_openapi_is_valid_and_complete(client: Client, operator: Login) -> None:
    resp = await client.get("/api/openapi.json", headers=operator.headers)
    assert resp.status == 200
    spec = await resp.json()
    openapi_spec_validator.validate(spec)
    assert spec["openapi"].startswith("3.1")
    described = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    routes = _api_routes(client.app)
    assert routes == described
    assert len(routes) > 30
    for path, method in routes:
        op = spec["paths"][path][method]
        assert "x-undocumented" not in op, f"{method.upper()} {path} has no ApiDoc"
        assert op["summary"]
        assert set(op["x-permission"]["scopes"]) == {"operator", "supervisor", "manager"}


def test_openapi_schemas_and_security() -> None:
    spec = build_openapi(create_app(Settings()))
    login = spec["paths"]["/api/login"]["post"]
    assert login["security"] == []
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/LoginIn"
    )
    users = spec["paths"]["/api/users"]["get"]
    assert users["x-roles"] == ["supervisor", "manager"] and "403" in users["responses"]
    delete = spec["paths"]["/api/contacts/{id}"]["delete"]
    assert delete["x-roles"] == ["manager"] and "403" in delete["responses"]
    edit = spec["paths"]["/api/notes/{id}"]["patch"]["x-permission"]
    assert edit == {
        "resource": "notes",
        "action": "edit",
        "scopes": {"operator": "own", "supervisor": "all", "manager": "all"},
    }
    assert "operator: own" in spec["paths"]["/api/notes/{id}"]["patch"]["description"]
    assert "403" not in spec["paths"]["/api/me"]["get"]["responses"]
    names = {p["name"] for p in spec["paths"]["/api/contacts"]["get"]["parameters"]}
    assert {"q", "phone", "email", "page", "per_page"} <= names
    assert "401" in spec["paths"]["/api/deals/{id}"]["get"]["responses"]
    assert "404" in spec["paths"]["/api/deals/{id}"]["get"]["responses"]
    assert "TicketOut" in spec["components"]["schemas"]


def test_undeclared_routes_are_flagged() -> None:
    app = create_app(Settings())

    async def plain(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_get("/api/extra", plain)
    assert build_openapi(app)["paths"]["/api/extra"]["get"]["x-undocumented"] is True


async def test_openapi_needs_a_token(client: Client) -> None:
    assert (await client.get("/api/openapi.json")).status == 401
