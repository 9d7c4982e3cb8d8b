"""Contact and company services on both backends."""

from __future__ import annotations

import sqlite3
from typing import Any

import pydantic
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from cti.crm_store.schemas.common import PageParams
from cti.crm_store.schemas.contacts import (
    CompanyIn,
    CompanyPatch,
    ContactIn,
    ContactPatch,
    PhoneIn,
)
from cti.crm_store.services.contacts import CompanyService, ContactService
from cti.crm_store.store import Store
from cti.errors import NotFoundError, ValidationError


def contact(first: str, last: str, *phones: str, **kw: object) -> ContactIn:
    return ContactIn.model_validate(
        {"first_name": first, "last_name": last, "phones": [{"number": p} for p in phones], **kw}
    )


async def test_create_get_normalizes_phones_and_derives_time_zone(store: Store) -> None:
    companies = CompanyService(store)
    acme = await companies.create(
        CompanyIn(name="Acme Ltd", phones=[PhoneIn(number="+7 495 111-22-33", kind="work")])
    )
    svc = ContactService(store)
    made = await svc.create(
        contact(
            "Ivan",
            "Petrov",
            "8 (495) 123-45-67",
            emails=["Ivan@Example.com"],
            company_id=acme.id,
            tags=["vip"],
        )
    )
    got = await svc.get(made.id)
    assert got == made
    assert got.name == "Ivan Petrov"
    assert got.company_name == "Acme Ltd"
    assert got.emails == ["ivan@example.com"]
    assert [(p.raw, p.e164, p.kind) for p in got.phones] == [
        ("8 (495) 123-45-67", "+74951234567", "mobile")
    ]
    assert got.time_zone == "Europe/Moscow"
    assert got.tags == ["vip"]
    assert acme.phones[0].e164 == "+74951112233"


async def test_explicit_time_zone_wins(store: Store) -> None:
    made = await ContactService(store).create(
        contact("A", "B", "+74951234567", time_zone="Asia/Tokyo")
    )
    assert made.time_zone == "Asia/Tokyo"


async def test_bad_input_names_the_field(store: Store) -> None:
    svc = ContactService(store)
    with pytest.raises(ValidationError) as err:
        await svc.create(contact("Ivan", "Petrov", "+74951234567", "12"))
    assert err.value.details["field"] == "phones[1].number"
    with pytest.raises(ValidationError) as err:
        await svc.create(contact("Ivan", "Petrov", company_id=999))
    assert err.value.details["field"] == "company_id"
    with pytest.raises(ValidationError) as err:
        await svc.create(contact("Ivan", "Petrov", owner_id=999))
    assert err.value.details["field"] == "owner_id"
    with pytest.raises(pydantic.ValidationError) as perr:
        ContactIn.model_validate({"first_name": "", "last_name": ""})
    assert perr.value.errors()[0]["loc"] == ("last_name",)
    with pytest.raises(pydantic.ValidationError) as perr:
        ContactIn.model_validate({"last_name": "x", "emails": ["ok@x.org", "nope"]})
    assert perr.value.errors()[0]["loc"] == ("emails", 1)
    assert (await svc.search(params=PageParams())).total == 0


async def test_update_patches_only_given_fields(store: Store) -> None:
    svc = ContactService(store)
    made = await svc.create(contact("Ivan", "Petrov", "+74951234567", emails=["a@b.cc"], notes="n"))
    updated = await svc.update(
        made.id,
        ContactPatch(last_name="Sidorov", phones=[PhoneIn(number="89161234567", kind="home")]),
    )
    assert updated.name == "Ivan Sidorov"
    assert updated.notes == "n"
    assert updated.emails == ["a@b.cc"]
    assert [(p.e164, p.kind) for p in updated.phones] == [("+79161234567", "home")]
    assert updated.updated_at >= made.updated_at
    cleared = await svc.update(made.id, ContactPatch(notes=None, emails=[]))
    assert cleared.notes is None and cleared.emails == []
    assert (await svc.search(q="sidorov")).total == 1
    assert (await svc.search(q="petrov")).total == 0
    with pytest.raises(ValidationError):
        await svc.update(made.id, ContactPatch(first_name="", last_name=""))
    with pytest.raises(NotFoundError):
        await svc.update(12345, ContactPatch(notes="x"))


async def test_delete_removes_contact_and_phones(store: Store) -> None:
    svc = ContactService(store)
    made = await svc.create(contact("Ivan", "Petrov", "+74951234567"))
    await svc.delete(made.id)
    with pytest.raises(NotFoundError):
        await svc.get(made.id)
    with pytest.raises(NotFoundError):
        await svc.delete(made.id)
    assert (await svc.search(phone="+74951234567")).total == 0
    assert await svc.numbers_sample(10) == []


async def test_search_by_name_prefix_phone_email_with_pages(store: Store) -> None:
    svc = ContactService(store)
    for i in range(5):
        await svc.create(
            contact("Anna", f"Smith{i}", f"+7495123450{i}", emails=[f"anna{i}@smith.org"])
        )
    await svc.create(contact("Boris", "Annenkov", "+79161234567"))
    await svc.create(contact("100%", "Real_Name", "+79161234568"))
    by_first = await svc.search(q="ann", params=PageParams(page=1, per_page=2))
    assert by_first.total == 6  # five Annas + Annenkov (last name prefix)
    assert len(by_first.items) == 2
    page3 = await svc.search(q="ann", params=PageParams(page=3, per_page=2))
    assert [c.name for c in page3.items] == ["Anna Smith4", "Boris Annenkov"]
    assert [c.name for c in (await svc.search(q="Anna Smith2")).items] == ["Anna Smith2"]
    assert [c.name for c in (await svc.search(q="smith2 anna")).items] == ["Anna Smith2"]
    assert (await svc.search(q="nna")).total == 0  # prefix, not substring
    assert [c.name for c in (await svc.search(q="100%")).items] == ["100% Real_Name"]
    assert (await svc.search(q="100x")).total == 0
    assert [c.name for c in (await svc.search(phone="89161234567")).items] == ["Boris Annenkov"]
    assert [c.name for c in (await svc.search(phone="4951234503")).items] == ["Anna Smith3"]
    assert [c.name for c in (await svc.search(email="ANNA4@smith.org")).items] == ["Anna Smith4"]
    assert (await svc.search(q="anna", email="anna1@")).total == 1
    with pytest.raises(ValidationError) as err:
        await svc.search(phone="12")
    assert err.value.details["field"] == "phone"
    sample = await svc.numbers_sample(3)
    assert sample == ["+74951234500", "+74951234501", "+74951234502"]


async def test_company_crud_and_search(store: Store) -> None:
    svc = CompanyService(store)
    acme = await svc.create(
        CompanyIn(
            name="Acme  Trading",
            website="https://acme.test",
            phones=[PhoneIn(number="+74951112233")],
        )
    )
    await svc.create(CompanyIn(name="Globex"))
    assert (await svc.get(acme.id)).name == "Acme  Trading"
    assert [c.name for c in (await svc.search(q="acme t")).items] == ["Acme  Trading"]
    assert [c.name for c in (await svc.search(phone="84951112233")).items] == ["Acme  Trading"]
    renamed = await svc.update(acme.id, CompanyPatch(name="Acme Corp", phones=[]))
    assert renamed.name == "Acme Corp" and renamed.phones == []
    assert renamed.website == "https://acme.test"
    people = ContactService(store)
    worker = await people.create(contact("W", "K", company_id=acme.id))
    await svc.delete(acme.id)
    with pytest.raises(NotFoundError):
        await svc.get(acme.id)
    orphan = await people.get(worker.id)
    assert orphan.company_id is None and orphan.company_name is None
    with pytest.raises(pydantic.ValidationError):
        CompanyIn.model_validate({"name": ""})


async def test_searches_are_index_lookups(sqlite_store: Store) -> None:
    """EXPLAIN every statement a search runs: no full scan of contacts, phones or e-mails."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(sqlite_store.engine.sync_engine, "before_cursor_execute", capture)
    svc = ContactService(sqlite_store)
    await svc.search(q="iva")
    await svc.search(phone="+74951234567")
    await svc.search(phone="1234567")
    await svc.search(email="ivan@")
    await CompanyService(sqlite_store).search(q="acme")
    path = make_url(sqlite_store.url).database
    assert path and len(seen) >= 10
    conn = sqlite3.connect(path)
    try:
        for statement, params in seen:
            plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + statement, params))
            for table in ("contacts", "phones", "contact_emails", "companies"):
                assert f"SCAN {table}" not in plan, (statement, plan)
    finally:
        conn.close()
