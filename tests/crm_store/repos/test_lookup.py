"""Caller-ID lookup: exact, national/international spellings, partial, multiple, none."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from cti.crm_store.repos.lookup import _ACTIVITY_SQL, _MATCH_SQL, _PHONES_SQL, CallerLookup
from cti.crm_store.schemas.contacts import CompanyIn, ContactIn, PhoneIn
from cti.crm_store.services.contacts import CompanyService, ContactService
from cti.crm_store.store import Store


def person(first: str, last: str, *phones: str, company_id: int | None = None) -> ContactIn:
    return ContactIn(
        first_name=first,
        last_name=last,
        company_id=company_id,
        phones=[PhoneIn(number=p) for p in phones],
    )


@pytest.fixture(params=[True, False], ids=["direct", "async"])
async def lookup(request: pytest.FixtureRequest, store: Store) -> AsyncIterator[CallerLookup]:
    companies = CompanyService(store)
    acme = await companies.create(
        CompanyIn(name="Acme", phones=[PhoneIn(number="+7 495 000-00-01", kind="work")])
    )
    await companies.create(CompanyIn(name="Lonely Co", phones=[PhoneIn(number="+74950000002")]))
    contacts = ContactService(store)
    await contacts.create(
        person("Ivan", "Petrov", "+7 495 123-45-67", "89161112233", company_id=acme.id)
    )
    await contacts.create(person("Olga", "Ivanova", "+79167654321"))
    await contacts.create(person("Twin", "One", "+79031234500"))
    await contacts.create(person("Twin", "Two", "8 903 123-45-00"))
    await contacts.create(person("Switch", "Board", "+74950000001", company_id=acme.id))
    found = CallerLookup(store, direct_sqlite=request.param)
    yield found
    found.close()


@pytest.mark.parametrize(
    "spelling", ["+74951234567", "84951234567", "4951234567", "8 (495) 123-45-67", "0074951234567"]
)
async def test_exact_in_every_spelling(lookup: CallerLookup, spelling: str) -> None:
    match = await lookup.lookup(spelling)
    assert match.status == "exact"
    assert match.number == "+74951234567"
    best = match.candidates[0]
    assert (best.name, best.company_name, best.matched_phone, best.score) == (
        "Ivan Petrov",
        "Acme",
        "+74951234567",
        1.0,
    )
    assert best.phones == ["+74951234567", "+79161112233"]
    assert match.to_json()["candidates"][0]["contact_id"] == best.contact_id


async def test_partial_tail_match_with_other_country_code(lookup: CallerLookup) -> None:
    match = await lookup.lookup("+380 44 765 43 21")
    assert match.status == "partial"
    assert [c.name for c in match.candidates] == ["Olga Ivanova"]
    assert 0 < match.candidates[0].score < 1


async def test_partial_for_unparseable_long_number(lookup: CallerLookup) -> None:
    match = await lookup.lookup("5557654321")  # not a valid RU number, same last 7 digits
    assert match.status == "partial"
    assert match.candidates[0].name == "Olga Ivanova"


async def test_multiple_contacts_share_a_number(lookup: CallerLookup) -> None:
    match = await lookup.lookup("+79031234500")
    assert match.status == "multiple"
    assert sorted(c.name or "" for c in match.candidates) == ["Twin One", "Twin Two"]


async def test_people_sharing_a_number_come_most_recently_active_first(
    lookup: CallerLookup, store: Store
) -> None:
    """One has open deals and tickets, the other was on a call yesterday: the call wins;
    with no calls at all, the one with more open work comes first."""
    from sqlalchemy import update

    from cti.calllog.service import CallLog
    from cti.crm_store.models.calls import Call
    from cti.crm_store.schemas.deals import DealIn
    from cti.crm_store.schemas.tickets import TicketIn
    from cti.crm_store.services.deals import DealService
    from cti.crm_store.services.tickets import TicketService
    from tests.calllog.records import call

    contacts = {c.name: c.id for c in (await ContactService(store).search(q="twin")).items}
    one, two = contacts["Twin One"], contacts["Twin Two"]
    before = await lookup.lookup("+79031234500")
    assert [c.open_deals + c.open_tickets for c in before.candidates] == [0, 0]
    await DealService(store).create(DealIn(title="Upgrade", contact_id=one))
    await TicketService(store).create(TicketIn(subject="Broken", contact_id=one))
    busy = await lookup.lookup("+79031234500")
    assert [c.contact_id for c in busy.candidates[:2]] == [one, two]
    assert (busy.candidates[0].open_deals, busy.candidates[0].open_tickets) == (1, 1)
    log = CallLog(store)
    await log.record(call("x.1", from_number="+79031234500"))  # matched to nobody: a tie
    async with store.sessions() as session:  # the operator linked the call to Twin Two
        await session.execute(update(Call).values(contact_id=two))
        await session.commit()
    log.close()
    recent = await lookup.lookup("+79031234500")
    assert recent.status == "multiple"
    assert [c.contact_id for c in recent.candidates[:2]] == [two, one]
    assert recent.candidates[0].last_call_at is not None


async def test_none(lookup: CallerLookup) -> None:
    assert (await lookup.lookup("+79990000000")).status == "none"
    short = await lookup.lookup("101")
    assert (short.status, short.number, short.candidates) == ("none", "101", [])
    assert (await lookup.lookup("")).status == "none"


async def test_company_phone_matches_without_contact(lookup: CallerLookup) -> None:
    match = await lookup.lookup("84950000002")
    assert match.status == "exact"
    best = match.candidates[0]
    assert (best.contact_id, best.name, best.company_name) == (None, "Lonely Co", "Lonely Co")
    assert best.phones == ["+74950000002"]


async def test_contact_outranks_its_company_switchboard(lookup: CallerLookup) -> None:
    match = await lookup.lookup("+74950000001")
    assert match.status == "exact"
    assert [(c.name, c.contact_id is None) for c in match.candidates] == [
        ("Switch Board", False),
        ("Acme", True),
    ]


async def test_sees_rows_written_after_first_lookup(lookup: CallerLookup) -> None:
    assert (await lookup.lookup("+79995554433")).status == "none"
    await ContactService(lookup.store).create(person("New", "Person", "+79995554433"))
    assert (await lookup.lookup("+79995554433")).status == "exact"


def test_lookup_queries_use_indexes_only(sqlite_store: Store) -> None:
    path = make_url(sqlite_store.url).database
    assert path
    conn = sqlite3.connect(path)
    try:
        plans = [
            " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
            for sql, params in (
                (_MATCH_SQL, {"e164": "+74951234567", "tail": "1234567"}),
                (_PHONES_SQL.format(cids="(?,?)", kids="(?)"), [1, 2, 3]),
                (_ACTIVITY_SQL.format(ids="(?,?)"), [1, 2]),
            )
        ]
    finally:
        conn.close()
    for plan in plans:
        assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), plan
    assert "ix_phones_e164" in plans[0] and "ix_phones_tail" in plans[0]
    assert "ix_phones_contact_id" in plans[1]
    for index in ("ix_calls_contact_id", "ix_deals_contact_id", "ix_tickets_contact_id"):
        assert index in plans[2], plans[2]
