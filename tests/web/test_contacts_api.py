"""/api/contacts, /api/companies and the caller-ID lookup over HTTP."""

from __future__ import annotations

from tests.web.conftest import Client, Login


async def test_contact_crud_search_and_pagination(
    client: Client, operator: Login, manager: Login
) -> None:
    h = operator.headers
    resp = await client.post(
        "/api/companies",
        json={"name": "Acme Ltd", "phones": [{"number": "+74959876543", "kind": "work"}]},
        headers=h,
    )
    assert resp.status == 201, await resp.text()
    company = await resp.json()
    ids = []
    for i in range(3):
        body = {
            "first_name": "Anna",
            "last_name": f"Petrova{i}",
            "company_id": company["id"],
            "emails": [f"anna{i}@example.com"],
            "phones": [{"number": f"+7916123456{i}"}],
        }
        resp = await client.post("/api/contacts", json=body, headers=h)
        assert resp.status == 201, await resp.text()
        ids.append((await resp.json())["id"])
    got = await (await client.get(f"/api/contacts/{ids[0]}", headers=h)).json()
    assert got["company_name"] == "Acme Ltd" and got["phones"][0]["e164"] == "+79161234560"

    page = await (
        await client.get(
            "/api/contacts", params={"q": "anna", "per_page": "2", "page": "2"}, headers=h
        )
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page"] == 2
    by_phone = await (
        await client.get("/api/contacts", params={"phone": "8 916 123-45-61"}, headers=h)
    ).json()
    assert [c["id"] for c in by_phone["items"]] == [ids[1]]
    by_email = await (
        await client.get("/api/contacts", params={"email": "anna2@example.com"}, headers=h)
    ).json()
    assert [c["id"] for c in by_email["items"]] == [ids[2]]

    resp = await client.patch(f"/api/contacts/{ids[0]}", json={"do_not_call": True}, headers=h)
    assert resp.status == 200 and (await resp.json())["do_not_call"] is True
    assert (await client.delete(f"/api/contacts/{ids[0]}", headers=h)).status == 403
    resp = await client.delete(f"/api/contacts/{ids[0]}", headers=manager.headers)
    assert resp.status == 204
    assert (await client.get(f"/api/contacts/{ids[0]}", headers=h)).status == 404

    companies = await (await client.get("/api/companies", params={"q": "acm"}, headers=h)).json()
    assert [c["name"] for c in companies["items"]] == ["Acme Ltd"]
    resp = await client.patch(
        f"/api/companies/{company['id']}", json={"website": "acme.example"}, headers=h
    )
    assert (await resp.json())["website"] == "acme.example"
    assert (await client.delete(f"/api/companies/{company['id']}", headers=h)).status == 403
    resp = await client.delete(f"/api/companies/{company['id']}", headers=manager.headers)
    assert resp.status == 204
    assert (await client.get(f"/api/companies/{company['id']}", headers=h)).status == 404


async def test_lookup_returns_the_match(client: Client, operator: Login) -> None:
    h = operator.headers
    body = {"first_name": "Ivan", "last_name": "Sidorov", "phones": [{"number": "+74951112233"}]}
    contact = await (await client.post("/api/contacts", json=body, headers=h)).json()
    match = await (
        await client.get("/api/contacts/lookup", params={"phone": "8 (495) 111-22-33"}, headers=h)
    ).json()
    assert match["status"] == "exact"
    assert match["candidates"][0]["contact_id"] == contact["id"]
    none = await (
        await client.get("/api/contacts/lookup", params={"phone": "+14155550100"}, headers=h)
    ).json()
    assert none["status"] == "none"
    resp = await client.get("/api/contacts/lookup", headers=h)
    assert resp.status == 422
    assert "phone" in (await resp.json())["details"]["fields"]


async def test_contact_validation_names_the_field(client: Client, operator: Login) -> None:
    h = operator.headers
    resp = await client.post(
        "/api/contacts", json={"first_name": "A", "emails": ["not-an-email"]}, headers=h
    )
    assert resp.status == 422
    assert list((await resp.json())["details"]["fields"]) == ["emails.0"]
    resp = await client.post(
        "/api/contacts", json={"first_name": "A", "phones": [{"number": "12"}]}, headers=h
    )
    assert resp.status == 422
    assert "phones[0].number" in (await resp.json())["details"]["fields"]
    resp = await client.post("/api/contacts", json={"first_name": "A", "shoe_size": 9}, headers=h)
    assert resp.status == 422
    assert "shoe_size" in (await resp.json())["details"]["fields"]
    resp = await client.get("/api/contacts", params={"per_page": "1000"}, headers=h)
    assert resp.status == 422
    assert "per_page" in (await resp.json())["details"]["fields"]
    resp = await client.post("/api/contacts", json=["not", "an", "object"], headers=h)
    assert resp.status == 422
    resp = await client.post("/api/contacts", data=b"", headers=h)
    assert resp.status == 400


async def test_contacts_need_a_token(client: Client) -> None:
    assert (await client.get("/api/contacts")).status == 401
    assert (await client.post("/api/contacts", json={"first_name": "A"})).status == 401
    assert (await client.get("/api/contacts/lookup", params={"phone": "1"})).status == 401
