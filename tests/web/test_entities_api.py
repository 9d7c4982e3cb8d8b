"""/api/deals, /api/tickets (+comments), /api/tasks and /api/notes over HTTP, with roles."""

from __future__ import annotations

from tests.web.conftest import Client, Login, MakeUser


async def test_deal_crud_search_and_pipeline(
    client: Client, operator: Login, manager: Login
) -> None:
    h = operator.headers
    stages = (await (await client.get("/api/pipeline", headers=h)).json())["stages"]
    assert stages[0] == "lead"
    resp = await client.post(
        "/api/deals", json={"title": "40 seats", "amount": "999.90"}, headers=h
    )
    assert resp.status == 201, await resp.text()
    deal = await resp.json()
    assert deal["stage"] == "lead" and deal["amount"] == "999.90"
    for i in range(3):
        await client.post("/api/deals", json={"title": f"Extra {i}", "stage": stages[1]}, headers=h)
    page = await (
        await client.get("/api/deals", params={"stage": stages[1], "per_page": "2"}, headers=h)
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    resp = await client.patch(f"/api/deals/{deal['id']}", json={"stage": "moon"}, headers=h)
    assert resp.status == 422 and "stage" in (await resp.json())["details"]["fields"]
    resp = await client.patch(
        f"/api/deals/{deal['id']}", json={"status": "lost", "lost_reason": "budget"}, headers=h
    )
    assert (await resp.json())["closed_at"] is not None
    resp = await client.post("/api/deals", json={"title": "x", "amount": "-5"}, headers=h)
    assert resp.status == 422 and "amount" in (await resp.json())["details"]["fields"]
    assert (await client.delete(f"/api/deals/{deal['id']}", headers=h)).status == 403
    resp = await client.delete(f"/api/deals/{deal['id']}", headers=manager.headers)
    assert resp.status == 204
    assert (await client.get(f"/api/deals/{deal['id']}", headers=h)).status == 404
    assert (await client.patch("/api/deals/999", json={}, headers=h)).status == 404


async def test_ticket_sla_status_and_comments(
    client: Client, operator: Login, make_user: MakeUser
) -> None:
    h = operator.headers
    resp = await client.post(
        "/api/tickets", json={"subject": "No dial tone", "priority": "urgent"}, headers=h
    )
    assert resp.status == 201, await resp.text()
    ticket = await resp.json()
    assert ticket["first_response_due"] and ticket["resolution_due"]
    assert ticket["first_response_breached"] is False
    resp = await client.post(
        f"/api/tickets/{ticket['id']}/comments", json={"body": "Looking into it"}, headers=h
    )
    assert resp.status == 201
    assert (await resp.json())["author_id"] == operator.user.id
    got = await (await client.get(f"/api/tickets/{ticket['id']}", headers=h)).json()
    assert got["status"] == "open" and got["first_responded_at"] is not None
    comments = await (await client.get(f"/api/tickets/{ticket['id']}/comments", headers=h)).json()
    assert [c["body"] for c in comments["items"]] == ["Looking into it"]
    for status in ("solved", "closed"):
        resp = await client.patch(
            f"/api/tickets/{ticket['id']}", json={"status": status}, headers=h
        )
        assert resp.status == 200
    resp = await client.patch(f"/api/tickets/{ticket['id']}", json={"status": "open"}, headers=h)
    assert resp.status == 422 and "status" in (await resp.json())["details"]["fields"]
    resp = await client.post("/api/tickets", json={"subject": "x", "priority": "asap"}, headers=h)
    assert resp.status == 422 and "priority" in (await resp.json())["details"]["fields"]
    listed = await (await client.get("/api/tickets", params={"open": "false"}, headers=h)).json()
    assert [t["id"] for t in listed["items"]] == [ticket["id"]]
    assert (await client.get("/api/tickets/424242/comments", headers=h)).status == 404
    assert (await client.delete(f"/api/tickets/{ticket['id']}", headers=h)).status == 403
    sue = await make_user("sue", "supervisor")
    assert (await client.delete(f"/api/tickets/{ticket['id']}", headers=sue.headers)).status == 204


async def test_operators_see_their_own_tasks_supervisors_all(
    client: Client, operator: Login, manager: Login, make_user: MakeUser
) -> None:
    ivan = await make_user("ivan")
    mine = await (
        await client.post("/api/tasks", json={"title": "Call Anna"}, headers=operator.headers)
    ).json()
    assert mine["assignee_id"] == operator.user.id  # defaults to the creator
    theirs = await (
        await client.post("/api/tasks", json={"title": "Ivan's"}, headers=ivan.headers)
    ).json()
    cb = {"title": "Missed call", "kind": "callback", "phone": "+74951234567", "queue": "support"}
    pool = await (await client.post("/api/tasks", json=cb, headers=manager.headers)).json()
    assert pool["assignee_id"] is None and pool["phone_tail"] == "1234567"

    seen = await (await client.get("/api/tasks", headers=operator.headers)).json()
    assert {t["id"] for t in seen["items"]} == {mine["id"], pool["id"]}
    everything = await (await client.get("/api/tasks", headers=manager.headers)).json()
    assert everything["total"] == 3
    resp = await client.get(f"/api/tasks/{theirs['id']}", headers=operator.headers)
    assert resp.status == 403
    resp = await client.patch(
        f"/api/tasks/{theirs['id']}", json={"done": True}, headers=operator.headers
    )
    assert resp.status == 403
    resp = await client.patch(
        f"/api/tasks/{theirs['id']}", json={"done": True}, headers=manager.headers
    )
    assert resp.status == 200 and (await resp.json())["done"] is True
    resp = await client.post(
        "/api/tasks", json={"title": "cb", "kind": "callback"}, headers=operator.headers
    )
    assert resp.status == 422 and "phone" in (await resp.json())["details"]["fields"]
    resp = await client.post(
        "/api/tasks", json={"title": "x", "due_at": "tomorrow"}, headers=operator.headers
    )
    assert resp.status == 422 and "due_at" in (await resp.json())["details"]["fields"]
    assert (await client.delete(f"/api/tasks/{mine['id']}", headers=operator.headers)).status == 204
    assert (await client.get(f"/api/tasks/{mine['id']}", headers=operator.headers)).status == 404


async def test_notes_belong_to_their_author(
    client: Client, operator: Login, manager: Login, make_user: MakeUser
) -> None:
    contact = await (
        await client.post("/api/contacts", json={"first_name": "Ann"}, headers=operator.headers)
    ).json()
    resp = await client.post(
        "/api/notes", json={"body": "VIP", "contact_id": contact["id"]}, headers=operator.headers
    )
    assert resp.status == 201
    note = await resp.json()
    assert note["author_id"] == operator.user.id
    other = await make_user("ivan")
    resp = await client.patch(f"/api/notes/{note['id']}", json={"body": "x"}, headers=other.headers)
    assert resp.status == 403
    resp = await client.patch(
        f"/api/notes/{note['id']}", json={"body": "VIP!"}, headers=operator.headers
    )
    assert (await resp.json())["body"] == "VIP!"
    listed = await (
        await client.get("/api/notes", params={"contact_id": contact["id"]}, headers=other.headers)
    ).json()
    assert [n["body"] for n in listed["items"]] == ["VIP!"]
    resp = await client.post("/api/notes", json={"body": "floating"}, headers=operator.headers)
    assert resp.status == 422 and "contact_id" in (await resp.json())["details"]["fields"]
    assert (await client.delete(f"/api/notes/{note['id']}", headers=manager.headers)).status == 204
    assert (await client.get(f"/api/notes/{note['id']}", headers=manager.headers)).status == 404


async def test_out_of_range_ids_are_404_and_422(client: Client, operator: Login) -> None:
    h = operator.headers
    assert (await client.get("/api/deals/99999999999999999999", headers=h)).status == 404
    assert (await client.get("/api/tickets/0", headers=h)).status == 404
    resp = await client.post("/api/deals", json={"title": "x", "contact_id": 2**40}, headers=h)
    assert resp.status == 422 and "contact_id" in (await resp.json())["details"]["fields"]
    resp = await client.get("/api/tasks", params={"contact_id": "abc"}, headers=h)
    assert resp.status == 422 and "contact_id" in (await resp.json())["details"]["fields"]


async def test_short_phone_filter_is_422_naming_phone(client: Client, operator: Login) -> None:
    for path in ("/api/deals", "/api/tickets", "/api/contacts"):
        resp = await client.get(path, params={"phone": "12"}, headers=operator.headers)
        assert resp.status == 422, path
        assert "phone" in (await resp.json())["details"]["fields"], path
