"""Who may give a task to whom: an operator to themselves or to nobody (a queue), never to
a colleague; supervisors and managers to anyone. An unassigned callback is closed, not
deleted, by an operator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Client, Login, MakeUser


@pytest.fixture
async def people(make_user: MakeUser) -> tuple[Login, Login, Login]:
    olga = await make_user("olga", "operator", ("101",))
    boris = await make_user("boris", "operator", ("102",))
    sue = await make_user("sue", "supervisor")
    return olga, boris, sue


async def _create(client: Client, who: Login, **body: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/api/tasks", json={"title": "t", **body}, headers=who.headers)
    task: dict[str, Any] = await resp.json()
    return resp.status, task


async def test_an_operator_creates_tasks_for_themselves_or_a_queue_only(
    client: Client, people: tuple[Login, Login, Login]
) -> None:
    olga, boris, sue = people
    status, _ = await _create(client, olga, assignee_id=boris.user.id)
    assert status == 403
    status, mine = await _create(client, olga, assignee_id=olga.user.id)
    assert status == 201 and mine["assignee_id"] == olga.user.id
    status, queued = await _create(client, olga, queue="support")
    assert status == 201 and queued["assignee_id"] is None
    status, unassigned = await _create(client, olga, assignee_id=None)
    assert status == 201 and unassigned["assignee_id"] is None
    status, planned = await _create(client, sue, assignee_id=boris.user.id)
    assert status == 201 and planned["assignee_id"] == boris.user.id
    seen = await (await client.get("/api/tasks", headers=boris.headers)).json()
    assert planned["id"] in {t["id"] for t in seen["items"]}


async def test_an_operator_takes_or_gives_back_a_task_but_never_hands_it_on(
    client: Client, people: tuple[Login, Login, Login]
) -> None:
    olga, boris, sue = people
    _, mine = await _create(client, olga)
    url = f"/api/tasks/{mine['id']}"
    resp = await client.patch(url, json={"assignee_id": boris.user.id}, headers=olga.headers)
    assert resp.status == 403
    resp = await client.patch(url, json={"assignee_id": None}, headers=olga.headers)
    assert resp.status == 200 and (await resp.json())["assignee_id"] is None
    resp = await client.patch(url, json={"assignee_id": olga.user.id}, headers=boris.headers)
    assert resp.status == 403  # boris may take it, not give it to olga
    resp = await client.patch(url, json={"assignee_id": boris.user.id}, headers=boris.headers)
    assert resp.status == 200 and (await resp.json())["assignee_id"] == boris.user.id
    resp = await client.patch(url, json={"assignee_id": olga.user.id}, headers=sue.headers)
    assert resp.status == 200 and (await resp.json())["assignee_id"] == olga.user.id


async def test_an_operator_closes_a_queue_callback_rather_than_deleting_it(
    client: Client, people: tuple[Login, Login, Login]
) -> None:
    olga, _, sue = people
    callback = {"kind": "callback", "phone": "+74951234567", "queue": "support"}
    _, queued = await _create(client, sue, **callback)
    url = f"/api/tasks/{queued['id']}"
    assert (await client.delete(url, headers=olga.headers)).status == 403
    resp = await client.patch(url, json={"done": True}, headers=olga.headers)
    assert resp.status == 200 and (await resp.json())["done"] is True
    _, mine = await _create(client, olga)
    assert (await client.delete(f"/api/tasks/{mine['id']}", headers=olga.headers)).status == 204
    assert (await client.delete(url, headers=sue.headers)).status == 204
