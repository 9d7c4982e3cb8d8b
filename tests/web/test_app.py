"""The application as the daemon builds it: own store, default auth, the allow-list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from cti.config import Settings
from cti.crm_store.schemas.users import UserIn
from cti.web.access import guard
from cti.web.app import create_app
from cti.web.auth import USERS, AuthUser, allow_public, authenticate_request
from cti.web.keys import BUS, SETTINGS, STORE
from tests.web.conftest import FAST_HASHER, PASSWORD, Client, Login


async def test_app_opens_and_migrates_its_own_store(
    tmp_path: Path, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    settings = Settings.model_validate(
        {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'own.db'}"}
    )
    app = create_app(settings, password_hasher=FAST_HASHER)
    assert STORE not in app  # opened only when the app starts
    client = await aiohttp_client(app)
    assert app[SETTINGS] is settings and app[BUS] is not None
    data = {"username": "olga", "password": PASSWORD, "extensions": ["101"]}
    await app[USERS].create(UserIn.model_validate(data))
    resp = await client.post("/api/login", json={"username": "olga", "password": PASSWORD})
    assert resp.status == 200
    token = (await resp.json())["token"]
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert (await me.json())["extensions"] == ["101"]


def _extra_routes(app: web.Application) -> None:
    """What another feature adds: a page, a private endpoint, one operators may not use."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>operator</html>", content_type="text/html")

    async def whoami(request: web.Request) -> web.Response:
        user: AuthUser = await authenticate_request(request)
        return web.json_response(user.to_json())

    @guard(("users", "read"))
    async def wallboard(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/", page)
    app.router.add_get("/static/app.js", page)
    app.router.add_get("/hooks/whoami", whoami)
    app.router.add_get("/board", wallboard)
    app.router.add_get("/open-page", page)
    allow_public(app, "/open-page")


async def test_added_routes_need_a_token_unless_allow_listed(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    app: web.Application,
    operator: Login,
    manager: Login,
) -> None:
    _extra_routes(app)
    client = await aiohttp_client(app)
    assert (await client.get("/")).status == 200
    assert (await client.get("/static/app.js")).status == 200
    assert (await client.get("/open-page")).status == 200
    assert (await client.get("/hooks/whoami")).status == 401
    in_url = await client.get("/hooks/whoami", params={"token": operator.token})
    assert in_url.status == 401  # a token in the URL is for the WebSocket handshake only
    who = await (await client.get("/hooks/whoami", headers=operator.headers)).json()
    assert who == {
        "id": operator.user.id,
        "username": "olga",
        "full_name": "",
        "role": "operator",
        "extensions": ["101"],
    }
    assert (await client.get("/board", headers=operator.headers)).status == 403
    assert (await client.get("/board", headers=manager.headers)).status == 200
    assert (await client.get("/board")).status == 401
