"""``/api/calls``: 401 without a token, operators see only their own calls, supervisors all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from cti.ami.events import CallRecord
from cti.calllog import http as calllog_http
from cti.calllog.service import CallLog
from cti.config import Settings
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.store import Store
from cti.web.app import create_app
from cti.web.auth import USERS

Client = TestClient[web.Request, web.Application]
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def record(linkedid: str, agents: tuple[str, ...], agent: str | None, minute: int) -> CallRecord:
    status = "answered" if agent else "missed"
    return CallRecord(
        "lab", linkedid, "inbound", "+74951234567", "Ivan", agents[0] if agents else "500",
        "support" if len(agents) > 1 else None, agents, agent, status,  # type: ignore[arg-type]
        T0 + timedelta(minutes=minute), None, None, None, None, 16,
    )  # fmt: skip


@pytest.fixture
async def client(
    sqlite_store: Store, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    app = create_app(Settings(), store=sqlite_store, password_hasher=FAST)
    calllog_http.setup(app)
    log = CallLog(sqlite_store)
    await log.record(record("1", ("101",), "101", 1))  # olga answered
    await log.record(record("2", ("101", "102"), "102", 2))  # rang olga, boris answered
    await log.record(record("3", ("102",), None, 3))  # missed on boris only
    return await aiohttp_client(app)


async def token(client: Client, name: str, role: str, *exts: str) -> dict[str, str]:
    assert client.app is not None
    users = client.app[USERS]
    data = {"username": name, "password": "pw-123456789", "role": role, "extensions": list(exts)}
    user = await users.create(UserIn.model_validate(data))
    issued = await users.issue_token(user.id)
    return {"Authorization": f"Bearer {issued.token}"}


async def ids(client: Client, headers: dict[str, str], query: str = "") -> list[str]:
    resp = await client.get(f"/api/calls{query}", headers=headers)
    assert resp.status == 200, await resp.text()
    return [c["linkedid"] for c in (await resp.json())["items"]]


async def test_a_token_is_required(client: Client) -> None:
    resp = await client.get("/api/calls")
    assert resp.status == 401
    assert (await resp.json())["error_id"] == "unauthorized"


async def test_operator_sees_only_calls_on_own_extensions(client: Client) -> None:
    olga = await token(client, "olga", "operator", "101")
    assert await ids(client, olga) == ["2", "1"]
    assert await ids(client, olga, "?status=missed") == []
    all_ids = [
        c["id"] for c in (await (await client.get("/api/calls", headers=olga)).json())["items"]
    ]
    assert len(all_ids) == 2
    boris_only = await client.get("/api/calls/3", headers=olga)
    assert boris_only.status == 403
    nobody = await token(client, "nina", "operator")
    assert await ids(client, nobody) == []


async def test_supervisor_sees_everything_with_filters_and_pages(client: Client) -> None:
    sup = await token(client, "sam", "supervisor")
    assert await ids(client, sup) == ["3", "2", "1"]
    assert await ids(client, sup, "?agent=102") == ["3", "2"]
    assert await ids(client, sup, "?limit=1") == ["3"]
    assert await ids(client, sup, "?from=2026-03-02T10:02:00Z&to=2026-03-02T10:03:00Z") == ["2"]
    assert await ids(client, sup, "?number=8%20495%20123-45-67&direction=inbound") == [
        "3",
        "2",
        "1",
    ]
    bad = await client.get("/api/calls?status=lost", headers=sup)
    assert bad.status == 422
    assert "status" in await bad.text()
    unknown = await client.get("/api/calls?colour=red", headers=sup)
    assert unknown.status == 422
    missing = await client.get("/api/calls/999", headers=sup)
    assert missing.status == 404


async def test_disposition_can_be_set_on_own_calls_only(client: Client) -> None:
    olga = await token(client, "olga", "operator", "101")
    sup = await token(client, "sam", "supervisor")
    listing = await (await client.get("/api/calls", headers=sup)).json()
    by_linkedid = {c["linkedid"]: c["id"] for c in listing["items"]}
    ok = await client.patch(
        f"/api/calls/{by_linkedid['1']}", json={"disposition": "interested"}, headers=olga
    )
    assert ok.status == 200 and (await ok.json())["disposition"] == "interested"
    denied = await client.patch(
        f"/api/calls/{by_linkedid['3']}", json={"disposition": "x"}, headers=olga
    )
    assert denied.status == 403
    bad = await client.patch(
        f"/api/calls/{by_linkedid['1']}", json={"disposition": "a\nb"}, headers=olga
    )
    assert bad.status == 422 and "disposition" in await bad.text()
    got = await (await client.get(f"/api/calls/{by_linkedid['1']}", headers=olga)).json()
    assert got["disposition"] == "interested"
