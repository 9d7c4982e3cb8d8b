"""CardLoader on both backends: a caller's open deals, tickets, tasks and recent calls."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from cti.ami.events import CallRecord
from cti.calllog.service import CallLog
from cti.crm_store.models import Ticket
from cti.crm_store.repos.cards import PER_CONTACT, RECENT_CALLS, CardData, CardLoader
from cti.crm_store.schemas.contacts import ContactIn
from cti.crm_store.schemas.deals import DealIn, DealPatch
from cti.crm_store.schemas.tasks import TaskIn, TaskPatch
from cti.crm_store.schemas.tickets import TicketIn, TicketPatch
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.services.deals import DealService
from cti.crm_store.services.tasks import TaskService
from cti.crm_store.services.tickets import TicketService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow

NUMBER = "+74951234567"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def _contact(store: Store, phone: str = NUMBER) -> int:
    contact = await ContactService(store).create(
        ContactIn.model_validate(
            {"first_name": "Anna", "last_name": "Petrova", "phones": [{"number": phone}]}
        )
    )
    return contact.id


def _call(linkedid: str, number: str, minutes: int, status: str = "answered") -> CallRecord:
    at = T0 + timedelta(minutes=minutes)
    return CallRecord(
        "lab", linkedid, "inbound", number, "Anna", "101", None, ("101",), "101",
        status, at, at, at + timedelta(seconds=30), 1.0, 30.0, 16,
    )  # fmt: skip


@pytest.fixture(params=[True, False], ids=["direct", "engine"])
async def loader(store: Store, request: pytest.FixtureRequest) -> CardLoader:
    """Both read paths: SQLite's read-only direct connection, and the async engine."""
    return CardLoader(store, direct_sqlite=request.param)


async def test_a_known_callers_card_has_only_open_items(store: Store, loader: CardLoader) -> None:
    anna = await _contact(store)
    other = await _contact(store, "+74957654321")
    deals = DealService(store)
    open_deal = await deals.create(DealIn(title="Fleet", contact_id=anna, amount=Decimal("99.5")))
    won = await deals.create(DealIn(title="Old", contact_id=anna))
    await deals.update(won.id, DealPatch(status="won"))
    await deals.create(DealIn(title="Not hers", contact_id=other))
    tickets = TicketService(store)
    late = await tickets.create(TicketIn(subject="Line down", contact_id=anna))
    done = await tickets.create(TicketIn(subject="Fixed", contact_id=anna))
    await tickets.update(done.id, TicketPatch(status="closed"))
    async with store.sessions() as session:  # the first response was due an hour ago
        await session.execute(
            update(Ticket)
            .where(Ticket.id == late.id)
            .values(first_response_due=utcnow() - timedelta(hours=1))
        )
        await session.commit()
    tasks = TaskService(store)
    soon = await tasks.create(TaskIn(title="Call back", contact_id=anna, due_at=T0))
    later = await tasks.create(
        TaskIn(title="Send offer", contact_id=anna, due_at=T0 + timedelta(days=1))
    )
    undated = await tasks.create(TaskIn(title="Someday", contact_id=anna))
    finished = await tasks.create(TaskIn(title="Done", contact_id=anna))
    await tasks.update(finished.id, TaskPatch(done=True))

    try:
        card = await loader.load([anna], NUMBER)
    finally:
        loader.close()

    assert [(d.id, d.title, d.stage, d.amount) for d in card.deals] == [
        (open_deal.id, "Fleet", open_deal.stage, Decimal("99.50"))
    ]
    assert [(t.id, t.status, t.sla_breached) for t in card.tickets] == [(late.id, "new", True)]
    sla_due = card.tickets[0].sla_due
    assert sla_due is not None and sla_due.tzinfo is not None and sla_due < utcnow()
    assert [t.id for t in card.tasks] == [soon.id, later.id, undated.id]
    assert card.tasks[0].due_at == T0
    assert card.calls == []


async def test_recent_calls_newest_first_and_limited(store: Store, loader: CardLoader) -> None:
    calllog = CallLog(store)
    for i in range(RECENT_CALLS + 2):
        await calllog.record(_call(f"1.{i}", NUMBER, minutes=i))
    await calllog.record(_call("2.1", "+74957654321", minutes=99))  # another caller

    try:
        card = await loader.load([], "84951234567")  # any spelling of the number
    finally:
        loader.close()

    assert len(card.calls) == RECENT_CALLS
    starts = [c.started_at for c in card.calls]
    assert starts == [T0 + timedelta(minutes=i) for i in range(RECENT_CALLS + 1, 1, -1)]
    first = card.calls[0]
    assert (first.direction, first.status, first.agent, first.talk_seconds) == (
        "inbound",
        "answered",
        "101",
        30.0,
    )


async def test_an_unknown_callers_tasks_are_the_callbacks_to_the_number(
    store: Store, loader: CardLoader
) -> None:
    tasks = TaskService(store)
    callback = await tasks.create(TaskIn(title="Missed call", kind="callback", phone=NUMBER))
    await tasks.create(TaskIn(title="Someone else", kind="callback", phone="+74957654321"))

    try:
        card = await loader.load([], NUMBER)
        nobody = await loader.load([], "")
    finally:
        loader.close()

    assert [(t.id, t.kind) for t in card.tasks] == [(callback.id, "callback")]
    assert card.deals == [] and card.tickets == [] and card.calls == []
    assert nobody == CardData(deals=[], tickets=[], tasks=[], calls=[])


async def test_items_per_contact_are_capped(store: Store, loader: CardLoader) -> None:
    anna = await _contact(store)
    deals = DealService(store)
    for i in range(PER_CONTACT + 3):
        await deals.create(DealIn(title=f"Deal {i}", contact_id=anna))

    try:
        card = await loader.load([anna, anna], NUMBER)  # a repeated id is read once
    finally:
        loader.close()

    assert len(card.deals) == PER_CONTACT
    assert len({d.id for d in card.deals}) == PER_CONTACT


async def test_direct_path_falls_back_when_sqlite_fails(sqlite_store: Store) -> None:
    anna = await _contact(sqlite_store)
    loader = CardLoader(sqlite_store)
    loader._sqlite_path = "/nonexistent/cti.db"  # the direct read fails: the engine answers
    await DealService(sqlite_store).create(DealIn(title="Fleet", contact_id=anna))
    try:
        card = await loader.load([anna], NUMBER)
    finally:
        loader.close()
    assert [d.title for d in card.deals] == ["Fleet"]
    assert replace(card, deals=[]) == CardData(deals=[], tickets=[], tasks=[], calls=[])


async def test_the_direct_path_reads_exactly_what_the_engine_reads(sqlite_store: Store) -> None:
    """The precompiled SQLite statements give the same values and types (Decimal, date,
    aware datetimes, None) as SQLAlchemy's own execution of the same statements."""
    anna = await _contact(sqlite_store)
    deals = DealService(sqlite_store)
    await deals.create(
        DealIn(title="Fleet", contact_id=anna, amount=Decimal("12.30"), expected_close=T0.date())
    )
    await deals.create(DealIn(title="No amount", contact_id=anna))
    await TicketService(sqlite_store).create(TicketIn(subject="Line down", contact_id=anna))
    await TaskService(sqlite_store).create(TaskIn(title="Call back", contact_id=anna, due_at=T0))
    calllog = CallLog(sqlite_store)
    await calllog.record_many([_call(f"d{i}", NUMBER, i) for i in range(3)])
    calllog.close()
    direct, engine = CardLoader(sqlite_store), CardLoader(sqlite_store, direct_sqlite=False)
    try:
        for ids, number in (([anna], NUMBER), ([], NUMBER), ([anna], None)):
            now = utcnow()
            got = await direct.load(ids, number, now=now)
            assert got == await engine.load(ids, number, now=now)
            assert direct._conn is not None  # it really read directly
    finally:
        direct.close()
        engine.close()
    fleet = next(d for d in got.deals if d.title == "Fleet")
    assert fleet.amount == Decimal("12.30") and fleet.expected_close == T0.date()
    assert {d.amount for d in got.deals} == {Decimal("12.30"), None}
