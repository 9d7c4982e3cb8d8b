"""TicketService on both backends: SLA due times, breaches, status rules, comments."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from cti.config import CrmConfig, SlaTarget, load_settings
from cti.crm_store.models import Ticket
from cti.crm_store.schemas.tickets import CommentIn, TicketIn, TicketPatch, TicketQuery
from cti.crm_store.services.tickets import TicketService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.errors import ConfigError, NotFoundError, ValidationError


async def _age(store: Store, ticket_id: int, hours: float) -> None:
    """Pretend the ticket was opened ``hours`` ago (shift every SLA time back)."""
    shift = timedelta(hours=hours)
    async with store.sessions() as session:
        await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(
                created_at=utcnow() - shift,
                first_response_due=utcnow() - shift + timedelta(hours=1),
                resolution_due=utcnow() - shift + timedelta(hours=4),
            )
        )
        await session.commit()


async def test_due_times_follow_the_priority_policy(store: Store) -> None:
    tickets = TicketService(store)
    before = utcnow()
    urgent = await tickets.create(TicketIn(subject="Line down", priority="urgent"))
    after = utcnow()
    assert urgent.first_response_due is not None and urgent.resolution_due is not None
    assert before + timedelta(hours=1) <= urgent.first_response_due <= after + timedelta(hours=1)
    assert before + timedelta(hours=4) <= urgent.resolution_due <= after + timedelta(hours=4)
    low = await tickets.create(TicketIn(subject="Typo on invoice", priority="low"))
    assert low.resolution_due is not None
    assert low.resolution_due - low.created_at == timedelta(hours=120)
    assert not urgent.first_response_breached and not urgent.resolution_breached


async def test_policy_is_configurable_and_priority_change_recomputes(store: Store) -> None:
    sla = dict(CrmConfig().sla)
    sla["normal"] = SlaTarget(first_response_hours=2, resolution_hours=10)
    tickets = TicketService(store, CrmConfig(sla=sla))
    ticket = await tickets.create(TicketIn(subject="Question"))
    assert ticket.first_response_due - ticket.created_at == timedelta(hours=2)  # type: ignore[operator]
    raised = await tickets.update(ticket.id, TicketPatch(priority="urgent"))
    assert raised.resolution_due - raised.created_at == timedelta(hours=4)  # type: ignore[operator]


async def test_breaches_are_computed_on_read_and_refreshed_in_store(store: Store) -> None:
    tickets = TicketService(store)
    late = await tickets.create(TicketIn(subject="Nobody answered", priority="urgent"))
    fine = await tickets.create(TicketIn(subject="Fresh", priority="urgent"))
    await _age(store, late.id, hours=2)  # first response (1 h) overdue, resolution (4 h) not
    got = await tickets.get(late.id)
    assert got.first_response_breached and not got.resolution_breached
    assert not (await tickets.get(fine.id)).first_response_breached
    breached = await tickets.search(TicketQuery(breached=True))
    assert [t.id for t in breached.items] == [late.id]
    assert [t.id for t in (await tickets.search(TicketQuery(breached=False))).items] == [fine.id]
    assert await tickets.refresh_breaches() == 1
    assert await tickets.refresh_breaches() == 0
    # answering late keeps the first-response breach: it was late
    answered = await tickets.update(late.id, TicketPatch(status="open"))
    assert answered.first_responded_at is not None and answered.first_response_breached


async def test_status_transitions_stamp_response_and_resolution(store: Store) -> None:
    tickets = TicketService(store)
    ticket = await tickets.create(TicketIn(subject="Echo on calls"))
    assert ticket.status == "new" and ticket.first_responded_at is None
    opened = await tickets.update(ticket.id, TicketPatch(status="pending"))
    assert opened.first_responded_at is not None and opened.resolved_at is None
    solved = await tickets.update(ticket.id, TicketPatch(status="solved"))
    assert solved.resolved_at is not None
    reopened = await tickets.update(ticket.id, TicketPatch(status="open"))
    assert reopened.resolved_at is None
    assert reopened.first_responded_at == opened.first_responded_at
    closed = await tickets.update(ticket.id, TicketPatch(status="closed"))
    assert closed.resolved_at is not None
    with pytest.raises(ValidationError) as err:
        await tickets.update(ticket.id, TicketPatch(status="open"))
    assert "status" in err.value.details["fields"]


async def test_public_comment_is_the_first_response(store: Store) -> None:
    tickets = TicketService(store)
    ticket = await tickets.create(TicketIn(subject="Billing"))
    internal = await tickets.add_comment(ticket.id, CommentIn(body="check", public=False), None)
    assert not internal.public
    assert (await tickets.get(ticket.id)).first_responded_at is None
    await tickets.add_comment(ticket.id, CommentIn(body="We are on it"), None)
    after = await tickets.get(ticket.id)
    assert after.first_responded_at is not None and after.status == "open"
    comments = await tickets.comments(ticket.id)
    assert [c.body for c in comments.items] == ["check", "We are on it"]
    with pytest.raises(NotFoundError):
        await tickets.add_comment(999, CommentIn(body="x"), None)
    with pytest.raises(NotFoundError):
        await tickets.comments(999)


async def test_search_filters(store: Store) -> None:
    tickets = TicketService(store)
    a = await tickets.create(TicketIn(subject="Router reboots", priority="high"))
    await tickets.create(TicketIn(subject="Router noise", priority="low"))
    c = await tickets.create(TicketIn(subject="Invoice"))
    await tickets.update(c.id, TicketPatch(status="solved"))
    assert (await tickets.search(TicketQuery(q="router"))).total == 2
    assert [t.id for t in (await tickets.search(TicketQuery(priority="high"))).items] == [a.id]
    assert (await tickets.search(TicketQuery(open=True))).total == 2
    assert [t.id for t in (await tickets.search(TicketQuery(open=False))).items] == [c.id]
    with pytest.raises(ValidationError):
        await tickets.create(TicketIn(subject="x", assignee_id=4242))
    await tickets.delete(a.id)
    with pytest.raises(NotFoundError):
        await tickets.delete(a.id)


def test_sla_config_needs_every_priority(tmp_path: Path) -> None:
    cfg = tmp_path / "cti.toml"
    cfg.write_text(
        "[crm.sla.urgent]\nfirst_response_hours = 0.5\nresolution_hours = 2\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"crm\.sla"):
        load_settings(cfg, environ={})
    rows = "".join(
        f"[crm.sla.{p}]\nfirst_response_hours = 1\nresolution_hours = {h}\n"
        for p, h in (("low", 9), ("normal", 8), ("high", 7), ("urgent", 6))
    )
    cfg.write_text(rows, encoding="utf-8")
    assert load_settings(cfg, environ={}).crm.sla["low"].resolution_hours == 9
