"""Notes follow the visibility of what they are attached to: an operator neither lists,
reads nor writes a note on a call that did not ring on their extensions."""

from __future__ import annotations

import pytest
from aiohttp import web

from cti.calllog.service import CallLog
from cti.crm_store.schemas.calls import CallQuery
from cti.web.keys import STORE
from tests.calllog.records import call
from tests.web.conftest import Client, Login, MakeUser


async def _call_on(app: web.Application, extension: str) -> int:
    """A call answered on ``extension``; its id."""
    log = CallLog(app[STORE])
    try:
        await log.record(call(f"c-{extension}", agents_rung=(extension,), agent=extension))
        return (await log.search(CallQuery(agent=extension))).items[0].id
    finally:
        log.close()


async def _post(client: Client, who: Login, body: dict[str, object]) -> dict[str, object]:
    resp = await client.post("/api/notes", json=body, headers=who.headers)
    assert resp.status == 201, await resp.text()
    note: dict[str, object] = await resp.json()
    return note


async def _bodies(client: Client, who: Login, **query: object) -> list[object]:
    params = {k: str(v) for k, v in query.items()}
    resp = await client.get("/api/notes", params=params, headers=who.headers)
    assert resp.status == 200, await resp.text()
    return [n["body"] for n in (await resp.json())["items"]]


@pytest.fixture
async def people(make_user: MakeUser) -> tuple[Login, Login, Login]:
    olga = await make_user("olga", "operator", ("101",))
    boris = await make_user("boris", "operator", ("102",))
    sue = await make_user("sue", "supervisor", ("201",))
    return olga, boris, sue


async def test_a_note_on_a_call_an_operator_may_not_see_is_not_read_by_them(
    client: Client, people: tuple[Login, Login, Login]
) -> None:
    olga, boris, sue = people
    borises_call = await _call_on(client.app, "102")
    contact = await (
        await client.post("/api/contacts", json={"first_name": "Ivan"}, headers=olga.headers)
    ).json()
    on_call = await _post(
        client, boris, {"body": "angry", "call_id": borises_call, "contact_id": contact["id"]}
    )
    await _post(client, boris, {"body": "VIP", "contact_id": contact["id"]})

    resp = await client.get(f"/api/notes/{on_call['id']}", headers=olga.headers)
    assert resp.status == 403
    assert await _bodies(client, olga, call_id=borises_call) == []
    assert await _bodies(client, olga, contact_id=contact["id"]) == ["VIP"]
    assert await _bodies(client, olga) == ["VIP"]
    assert await _bodies(client, boris, contact_id=contact["id"]) == ["VIP", "angry"]
    assert await _bodies(client, sue) == ["VIP", "angry"]
    resp = await client.get(f"/api/notes/{on_call['id']}", headers=sue.headers)
    assert resp.status == 200


async def test_an_operator_writes_notes_only_on_calls_they_may_see(
    client: Client, people: tuple[Login, Login, Login]
) -> None:
    olga, boris, sue = people
    hers, his = await _call_on(client.app, "101"), await _call_on(client.app, "102")
    resp = await client.post(
        "/api/notes", json={"body": "not mine", "call_id": his}, headers=olga.headers
    )
    assert resp.status == 403
    assert await _bodies(client, sue, call_id=his) == []
    await _post(client, olga, {"body": "mine", "call_id": hers})
    await _post(client, sue, {"body": "supervised", "call_id": his})
    on_his = await _post(client, boris, {"body": "his", "call_id": his})
    resp = await client.patch(
        f"/api/notes/{on_his['id']}", json={"body": "x"}, headers=olga.headers
    )
    assert resp.status == 403
    assert (await client.delete(f"/api/notes/{on_his['id']}", headers=olga.headers)).status == 403
    resp = await client.patch(
        f"/api/notes/{on_his['id']}", json={"body": "ok"}, headers=sue.headers
    )
    assert resp.status == 200


async def test_an_operator_loses_their_own_note_with_the_call(
    client: Client, people: tuple[Login, Login, Login], manager: Login
) -> None:
    """Her phone moved to another desk: the calls on it, and her notes on them, go with it."""
    olga, _, _ = people
    hers = await _call_on(client.app, "101")
    note = await _post(client, olga, {"body": "call back Friday", "call_id": hers})
    resp = await client.patch(
        f"/api/users/{olga.user.id}", json={"extensions": ["103"]}, headers=manager.headers
    )
    assert resp.status == 200
    url = f"/api/notes/{note['id']}"
    assert (await client.get(url, headers=olga.headers)).status == 403
    assert (await client.patch(url, json={"body": "x"}, headers=olga.headers)).status == 403
    assert (await client.delete(url, headers=olga.headers)).status == 403
    assert await _bodies(client, olga) == []
