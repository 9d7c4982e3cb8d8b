"""The permission matrix: every route of the daemon × every role (and no token) gets the
status the permission table says, on a record of the caller's and on a colleague's.

The routes come from the app ``cti serve`` builds, so a new route fails here until it
declares a rule (``perm=`` or :func:`cti.web.access.guard`) and has a case in
:mod:`tests.web.permission_cases`; a rule no route uses fails too, and so does
``docs/permissions.md`` when it no longer shows the table. One app, one store and one set
of users serve the whole module.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.config import Settings
from cti.crm_store.rules.permissions import ROLES, TABLE, Perm, Rule, Scope, markdown
from cti.crm_store.store import Store
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from cti.screenpop.dial import ClickToDial
from cti.screenpop.http import CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED
from cti.screenpop.service import DIALER
from cti.web.auth import PUBLIC_PATHS, USERS
from cti.web.routing import api_doc, permission_of
from tests.web.conftest import FAST_HASHER, Login
from tests.web.permission_cases import CASES, FakePbx, Req, World, build_world

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
WHO = [None, *ROLES]
#: the tested user of each role (oleg, the other operator, is "someone else")
USER_OF = {"operator": "olga", "supervisor": "sue", "manager": "max"}


def _app(store: Store | None = None) -> web.Application:
    return build_app(Settings(), store=store, extra_setup=load_hooks(SETUP_HOOKS))


def _routes(app: web.Application, method: str | None = None) -> dict[str, web.AbstractRoute]:
    """The routes by "METHOD path"; HEAD (the handler of its GET) only when asked for."""
    out: dict[str, web.AbstractRoute] = {}
    for route in app.router.routes():
        if route.resource is not None and (route.method == method or route.method != "HEAD"):
            out[f"{route.method} {route.resource.canonical}"] = route
    return out


ROUTES = _routes(_app())


def rule_of(app: web.Application, key: str) -> Rule:
    """The rule a route declared; static assets: the allow-list's (pages, read)."""
    route = _routes(app)[key]
    if isinstance(route.resource, web.StaticResource):
        assert app[PUBLIC_PATHS].allows(route.resource.canonical + "/"), f"{key}: not public"
        return TABLE[("pages", "read")]
    perm = permission_of(route.handler)
    assert perm is not None, f"{key} declares no permission (RouteTable perm= or access.guard)"
    return TABLE[perm]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    path = tmp_path_factory.mktemp("permissions") / "cti.db"
    shutil.copyfile(_sqlite_template, path)
    store = await Store.open(f"sqlite+aiosqlite:///{path}", upgrade=False)
    app = _app(store)
    app[USERS].hasher = FAST_HASHER
    app[DIALER] = ClickToDial(lambda: {"lab": FakePbx()})
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield await build_world(client, store)
    finally:
        await client.close()
        await store.close()


def expected(rule: Rule, role: str | None, ok: int, *, others: bool = False) -> int:
    """The status the table promises ``role`` (None: no token)."""
    if rule.public:
        return ok
    if role is None:
        return 401
    scope = rule.scope(role)
    if scope is Scope.NONE or (others and scope is Scope.OWN):
        return 403
    return ok


async def _send(world: World, key: str, who: Login | None, req: Req) -> int:
    method = key.split(" ", 1)[0]
    token = req.token or (who.token if who is not None else None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with world.client.request(method, req.path, json=req.json, headers=headers) as resp:
        return resp.status


async def _ws(world: World, who: Login | None, message: dict[str, Any]) -> list[str]:
    """Connect to /ws as ``who`` and send ``message``: what came back until its answer (a
    pong, subscribed or an error frame: ``type:error_id``) or the close (``closed:code``)."""
    headers = {"Authorization": f"Bearer {who.token}"} if who is not None else {}
    seen: list[str] = []
    async with asyncio.timeout(5), world.client.ws_connect("/ws", headers=headers) as ws:
        await ws.send_json(message)
        async for msg in ws:  # text frames, until the server closes
            frame = msg.json()
            if frame["type"] not in ("pong", "subscribed", "error"):
                continue  # hello, due tasks
            seen.append(f"{frame['type']}:{frame.get('error_id', '')}")
            if frame["type"] != "error" or message["type"] != "ping":
                break  # the answer (a refused subscribe leaves the socket open)
        if ws.closed:
            seen.append(f"closed:{ws.close_code}")
    return seen


async def _check_ws(world: World, rule: Rule, role: str | None, who: Login | None) -> None:
    if role is None:
        refused = ["error:unauthorized", f"closed:{CLOSE_UNAUTHORIZED}"]
        assert await _ws(world, who, {"type": "ping"}) == refused
        return
    if rule.scope(role) is Scope.NONE:
        refused = ["error:forbidden", f"closed:{CLOSE_FORBIDDEN}"]
        assert await _ws(world, who, {"type": "ping"}) == refused
        return
    assert await _ws(world, who, {"type": "ping"}) == ["pong:"]
    watch_all = "subscribed:" if rule.scope(role) is Scope.ALL else "error:forbidden"
    assert await _ws(world, who, {"type": "subscribe", "scope": "all"}) == [watch_all]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("who_role", WHO, ids=lambda r: r or "anonymous")
@pytest.mark.parametrize("key", sorted(ROUTES))
async def test_route_answers_each_role_as_the_table_says(
    world: World, key: str, who_role: str | None
) -> None:
    rule = rule_of(world.client.app, key)
    case = CASES.get(key)
    assert case is not None, f"{key}: add its case to tests/web/permission_cases.py"
    who = world.people[USER_OF[who_role]] if who_role is not None else None
    if key == "GET /ws":
        await _check_ws(world, rule, who_role, who)
        return
    doc = api_doc(_routes(world.client.app)[key].handler)
    ok = doc.status if doc is not None else 200
    status = await _send(world, key, who, await case.own(world, who))
    assert status == expected(rule, who_role, ok), f"{key} as {who_role}: {status}"
    if case.others is not None and who is not None:
        status = await _send(world, key, who, await case.others(world, who))
        want = expected(rule, who_role, ok, others=True)
        assert status == want, f"{key} as {who_role} on a colleague's record: {status}"


def _perms(app: web.Application) -> dict[Perm, list[str]]:
    found: dict[Perm, list[str]] = {}
    for key in sorted(_routes(app)):
        found.setdefault(rule_of(app, key).perm, []).append(key)
    return found


def test_every_rule_has_a_route_and_every_case_a_route() -> None:
    app = _app()
    assert set(TABLE) - set(_perms(app)) == set(), "rules no route uses"
    assert set(CASES) - set(ROUTES) == set(), "cases of routes that are gone"
    routes = _routes(app, "HEAD")
    for key, head in routes.items():
        if key.startswith("HEAD "):  # the matrix asks the GET; the same handler answers
            assert head.handler == routes[key.replace("HEAD", "GET", 1)].handler, key


def test_the_docs_show_the_table() -> None:
    table = markdown(_perms(_app()))
    assert table in DOC.read_text(), f"docs/permissions.md: replace the table with:\n{table}"
