"""Hostile input gets a clear 4xx naming the problem, never a 500 (issue 12).

Out-of-range integers, deeply nested or oversized bodies, loosely typed values, NUL
characters, wrong methods; and every timestamp the API answers with carries its zone (UTC).
The daemon's whole app (``build_app``, the ``app`` fixture here) runs on a real SQLite store
(NUL characters: on PostgreSQL too).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cti.calllog.service import CallLog
from cti.crm_store.schemas.calls import CallQuery
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.store import Store
from cti.web.auth import USERS
from cti.web.jsonbody import MAX_BODY, MAX_DEPTH
from cti.web.routing import api_doc
from tests.calllog.records import call
from tests.web.conftest import PASSWORD, Client, Login, MakeUser
from tests.web.daemon import daemon_app

BIG = [2**63, -(2**63) - 1, 2**64, 2**31, 0, -1]


@pytest.fixture
def app(sqlite_store: Store) -> web.Application:
    return daemon_app(sqlite_store)


def body_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path with id 1) of every route that reads a JSON body."""
    out = []
    for route in app.router.routes():
        doc = api_doc(route.handler)
        if doc is not None and doc.body is not None and route.resource is not None:
            path = re.sub(r"{id[^}]*}", "1", route.resource.canonical)
            out.append((route.method, path))
    return out


async def _fields(resp: Any) -> dict[str, str]:
    body = await resp.json()
    return dict(body["details"].get("fields", {}))


# -- 1. integers out of range ---------------------------------------------------------------


@pytest.mark.parametrize("value", BIG)
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/contacts", {"first_name": "A"}, "owner_id"),
        ("POST", "/api/contacts", {"first_name": "A"}, "company_id"),
        ("PATCH", "/api/contacts/{contact}", {}, "owner_id"),
        ("PATCH", "/api/contacts/{contact}", {}, "company_id"),
        ("POST", "/api/tasks", {"title": "t"}, "contact_id"),
        ("POST", "/api/deals", {"title": "d"}, "owner_id"),
        ("POST", "/api/tickets", {"subject": "s"}, "assignee_id"),
        ("POST", "/api/notes", {"body": "b"}, "call_id"),
    ],
)
async def test_out_of_range_ids_in_bodies_are_422_naming_the_field(
    client: Client,
    manager: Login,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    value: int,
) -> None:
    if "{contact}" in path:
        resp = await client.post("/api/contacts", json={"first_name": "C"}, headers=manager.headers)
        path = path.format(contact=(await resp.json())["id"])
    resp = await client.request(method, path, json={**body, field: value}, headers=manager.headers)
    assert resp.status == 422, await resp.text()
    assert field in await _fields(resp)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/contacts?page={v}", "page"),
        ("/api/contacts?per_page={v}", "per_page"),
        ("/api/tasks?assignee_id={v}", "assignee_id"),
        ("/api/notes?author_id={v}", "author_id"),
        ("/api/tickets/1/comments?page={v}", "page"),
    ],
)
@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**40])
async def test_out_of_range_integers_in_queries_are_422(
    client: Client, manager: Login, path: str, field: str, value: int
) -> None:
    resp = await client.get(path.format(v=value), headers=manager.headers)
    assert resp.status == 422, await resp.text()
    assert field in await _fields(resp)


@pytest.mark.parametrize("digits", [20, 5000])
async def test_a_huge_id_in_the_path_is_a_plain_404(
    client: Client, manager: Login, digits: int
) -> None:
    resp = await client.get("/api/contacts/" + "9" * digits, headers=manager.headers)
    assert resp.status == 404, await resp.text()


# -- 2. nesting and size --------------------------------------------------------------------


async def test_deeply_nested_bodies_are_400_on_every_route_with_a_body(
    client: Client, manager: Login, caplog: pytest.LogCaptureFixture
) -> None:
    routes = body_routes(client.app)
    assert len(routes) > 15
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    for opener in ("[", '{"a":'):
        for method, path in routes:
            data = opener * 100_000
            resp = await client.request(method, path, data=data, headers=manager.headers)
            assert resp.status == 400, f"{method} {path}: {await resp.text()}"
            body = await resp.json()
            assert f"nested deeper than {MAX_DEPTH}" in body["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


async def test_nesting_up_to_the_limit_is_read(client: Client, manager: Login) -> None:
    """At the limit the body is parsed (and then refused as the wrong shape: 422)."""
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    resp = await client.post("/api/contacts", data=nested, headers=manager.headers)
    assert resp.status == 422
    deeper = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    resp = await client.post("/api/contacts", data=deeper, headers=manager.headers)
    assert resp.status == 400
    # brackets inside strings are text, not nesting
    text = {"first_name": "A", "notes": "[" * 5000}
    resp = await client.post("/api/contacts", json=text, headers=manager.headers)
    assert resp.status == 201, await resp.text()


async def test_an_oversized_body_is_413_before_it_is_parsed(client: Client, manager: Login) -> None:
    data = io.BytesIO(b'{"first_name": "' + b"x" * MAX_BODY + b'"}')
    resp = await client.post("/api/contacts", data=data, headers=manager.headers)
    assert resp.status == 413, await resp.text()
    body = await resp.json()
    assert body["error_id"] == "body-too-large"
    assert str(MAX_BODY) in body["message"]


async def test_a_malformed_body_logs_one_info_line_without_a_traceback(
    client: Client, manager: Login, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    for data in ('{"first_name": ', b'{"first_name": "\xff"}', '{"first_name": "A",}'):
        resp = await client.post("/api/contacts", data=data, headers=manager.headers)
        assert resp.status == 400, await resp.text()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    mine = [r for r in caplog.records if r.name.startswith("cti")]
    assert len(mine) == 3
    assert all(r.levelno == logging.INFO and "\n" not in r.getMessage() for r in mine)


# -- 3. every timestamp is aware UTC --------------------------------------------------------

_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _naive_stamps(value: Any, where: str = "") -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _naive_stamps(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _naive_stamps(v, f"{where}[{i}]")]
    if isinstance(value, str) and _STAMP.match(value) and not value.endswith(("Z", "+00:00")):
        return [f"{where}={value}"]
    return []


async def test_every_timestamp_in_responses_is_utc_with_its_zone(
    client: Client, manager: Login, make_user: MakeUser, sqlite_store: Store
) -> None:
    h = manager.headers
    log = CallLog(sqlite_store)
    try:
        await log.record(call("c-1", agents_rung=("200",), agent="200"))
        call_id = (await log.search(CallQuery(agent="200"))).items[0].id
    finally:
        log.close()
    company = await (await client.post("/api/companies", json={"name": "Co"}, headers=h)).json()
    contact = await (
        await client.post(
            "/api/contacts",
            json={
                "first_name": "Ivan",
                "company_id": company["id"],
                "phones": [{"number": "+74951234567"}],
            },
            headers=h,
        )
    ).json()
    ticket = await (await client.post("/api/tickets", json={"subject": "s"}, headers=h)).json()
    task = {"title": "t", "due_at": "2026-05-01T10:00:00", "contact_id": contact["id"]}
    created = [
        company,
        contact,
        ticket,
        await (await client.post("/api/tasks", json=task, headers=h)).json(),
        await (
            await client.post("/api/notes", json={"body": "n", "call_id": call_id}, headers=h)
        ).json(),
        await (await client.post("/api/deals", json={"title": "d"}, headers=h)).json(),
        await (
            await client.post(
                f"/api/tickets/{ticket['id']}/comments", json={"body": "c"}, headers=h
            )
        ).json(),
        await (
            await client.post(
                "/api/login", json={"username": "max", "password": "correct horse battery"}
            )
        ).json(),
    ]
    assert all("id" in body or "token" in body for body in created), created
    reads = [
        "/api/contacts",
        f"/api/contacts/{contact['id']}",
        "/api/companies",
        f"/api/companies/{company['id']}",
        "/api/contacts/lookup?phone=%2B74951234567",
        "/api/calls",
        f"/api/calls/{call_id}",
        "/api/tasks",
        "/api/tickets",
        f"/api/tickets/{ticket['id']}",
        f"/api/tickets/{ticket['id']}/comments",
        "/api/notes",
        "/api/deals",
        "/api/users",
        "/api/me",
    ]
    for path in reads:
        resp = await client.get(path, headers=h)
        assert resp.status == 200, f"{path}: {await resp.text()}"
        created.append(await resp.json())
    naive = [s for body in created for s in _naive_stamps(body)]
    assert not naive
    # and there were timestamps to check in each kind of record
    assert sum(len(re.findall(r"\d{4}-\d\d-\d\dT", str(b))) for b in created) > 40


# -- 4. loosely typed values are refused ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/contacts", {"first_name": "A", "do_not_call": 0}, "do_not_call"),
        ("/api/contacts", {"first_name": "A", "do_not_call": "yes"}, "do_not_call"),
        ("/api/contacts", {"first_name": "A", "do_not_call": "true"}, "do_not_call"),
        ("/api/contacts", {"first_name": "A", "owner_id": "1"}, "owner_id"),
        ("/api/tasks", {"title": "t", "contact_id": 1.0}, "contact_id"),
        ("/api/tasks", {"title": "t", "due_at": 0.5}, "due_at"),
        ("/api/tasks", {"title": "t", "due_at": "1700000000"}, "due_at"),
        ("/api/tickets/1/comments", {"body": "c", "public": 1}, "public"),
        ("/api/companies", {"name": 5}, "name"),
    ],
)
async def test_loose_types_in_bodies_are_422(
    client: Client, manager: Login, path: str, body: dict[str, Any], field: str
) -> None:
    await client.post("/api/tickets", json={"subject": "s"}, headers=manager.headers)
    resp = await client.post(path, json=body, headers=manager.headers)
    assert resp.status == 422, await resp.text()
    assert field in await _fields(resp)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/tasks?due_before=0.5", "due_before"),
        ("/api/tasks?due_after=1700000000", "due_after"),
        ("/api/tasks?done=yes", "done"),
        ("/api/tasks?done=1", "done"),
        ("/api/tickets?open=on", "open"),
        ("/api/contacts?page=1_0", "page"),
        ("/api/contacts?page=%201", "page"),
        ("/api/contacts?per_page=5.0", "per_page"),
        ("/api/calls?from=0", "from"),
        ("/api/calls?from=2026-01-01T00:00:00", "from"),  # whose midnight? an offset is needed
        ("/api/tasks?done=true&done=false", "done"),
        ("/api/calls?campaign=a&campaign=b", "campaign"),
    ],
)
async def test_loose_types_in_queries_are_422(
    client: Client, manager: Login, query: str, field: str
) -> None:
    resp = await client.get(query, headers=manager.headers)
    assert resp.status == 422, await resp.text()
    assert field in await _fields(resp)


async def test_well_typed_queries_still_work(client: Client, manager: Login) -> None:
    for query in (
        "/api/tasks?done=true&due_before=2026-05-01T10:00:00Z&page=2&per_page=10",
        "/api/tasks?done=false&due_after=2026-05-01T10:00:00%2B03:00",
        "/api/tickets?open=true&breached=false",
        "/api/calls?from=2026-01-01T00:00:00%2B03:00&to=2026-12-31T00:00:00Z",
    ):
        resp = await client.get(query, headers=manager.headers)
        assert resp.status == 200, f"{query}: {await resp.text()}"


async def test_well_typed_bodies_still_work(client: Client, manager: Login) -> None:
    h = manager.headers
    for due in ("2026-05-01T10:00:00Z", "2026-05-01T10:00:00.5+03:00", "2026-05-01 10:00"):
        resp = await client.post("/api/tasks", json={"title": "t", "due_at": due}, headers=h)
        assert resp.status == 201, f"{due}: {await resp.text()}"
    resp = await client.post(
        "/api/tasks", json={"title": "t", "due_at": "2026-05-01T10:00:00+03:00"}, headers=h
    )
    assert (await resp.json())["due_at"] == "2026-05-01T07:00:00Z"
    resp = await client.patch(
        f"/api/tasks/{(await resp.json())['id']}", json={"done": True}, headers=h
    )
    assert resp.status == 200, await resp.text()
    deal = {"title": "d", "amount": 12.5, "expected_close": "2026-06-30"}
    resp = await client.post("/api/deals", json=deal, headers=h)
    assert resp.status == 201, await resp.text()
    resp = await client.post(
        "/api/contacts",
        json={"first_name": "A", "do_not_call": True, "notes": "\\u0000 is NUL"},
        headers=h,
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["notes"] == "\\u0000 is NUL"


# -- 5. 405 carries Allow -------------------------------------------------------------------


async def test_a_wrong_method_is_405_with_allow(client: Client, manager: Login) -> None:
    resp = await client.put("/api/contacts", json={}, headers=manager.headers)
    assert resp.status == 405
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["Allow"].split(",")}
    assert (await resp.json())["error_id"] == "method-not-allowed"


# -- 6. NUL characters (PostgreSQL refuses them in text: a 500 if they got that far) ---------


async def test_nul_characters_in_text_are_422_on_every_backend(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], store: Store, tmp_path: Path
) -> None:
    app = daemon_app(store, journal=tmp_path / "journal")
    web_client = await aiohttp_client(app)
    users = app[USERS]
    data = {"username": "nul", "password": PASSWORD, "role": "manager"}
    me = await users.create(UserIn.model_validate(data))
    h = {"Authorization": f"Bearer {(await users.issue_token(me.id)).token}"}
    for method, path, body, field in [
        ("POST", "/api/contacts", {"first_name": "a\x00b"}, "first_name"),
        ("POST", "/api/contacts", {"first_name": "A", "tags": ["x\x00"]}, "tags.0"),
        (
            "POST",
            "/api/contacts",
            {"first_name": "A", "phones": [{"number": "1\x002"}]},
            "phones.0.number",
        ),
        ("POST", "/api/login", {"username": "nul\x00", "password": "x"}, "username"),
        ("GET", "/api/contacts?q=a%00b", None, "q"),
        ("GET", "/api/tickets?phone=1%002", None, "phone"),
    ]:
        resp = await web_client.request(method, path, json=body, headers=h)
        assert resp.status == 422, f"{method} {path}: {await resp.text()}"
        assert field in await _fields(resp)


# -- found by the fuzz run (test_fuzz_openapi) -----------------------------------------------


@pytest.mark.parametrize("stamp", ["0001-01-01T00:01:01+05:04", "9999-12-31T23:59:59-05:00"])
async def test_a_time_that_leaves_the_calendar_in_utc_is_422(
    client: Client, manager: Login, stamp: str
) -> None:
    resp = await client.get("/api/tasks", params={"due_after": stamp}, headers=manager.headers)
    assert resp.status == 422, await resp.text()
    assert "due_after" in await _fields(resp)
    body = {"title": "t", "due_at": stamp}
    resp = await client.post("/api/tasks", json=body, headers=manager.headers)
    assert resp.status == 422, await resp.text()
    assert "due_at" in await _fields(resp)


async def test_a_second_open_callback_for_a_number_is_409(client: Client, manager: Login) -> None:
    callback = {"title": "call back", "kind": "callback", "phone": "+74951234567"}
    first = await client.post("/api/tasks", json=callback, headers=manager.headers)
    assert first.status == 201, await first.text()
    again = await client.post("/api/tasks", json=callback, headers=manager.headers)
    assert again.status == 409, await again.text()
    assert "phone" in (await again.json())["message"]
    other = await client.post(
        "/api/tasks", json={**callback, "phone": "+74951234568"}, headers=manager.headers
    )
    assert other.status == 201
    moved = await client.patch(
        f"/api/tasks/{(await other.json())['id']}",
        json={"phone": "+74951234567"},
        headers=manager.headers,
    )
    assert moved.status == 409, await moved.text()
