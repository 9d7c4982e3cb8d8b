"""Support tickets: SLA due times from the priority policy, status rules, comments.

Due times come from ``[crm.sla]`` (hours per priority) counted from creation; a priority
change recomputes them. ``first_responded_at`` is stamped by the first public comment or the
first move out of ``new``; ``resolved_at`` by ``solved``/``closed`` (cleared on reopen).
Breached flags are computed whenever a ticket is read and stored on every write, and
:meth:`TicketService.refresh_breaches` stamps the ones that went overdue in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, or_, select, update

from cti.config import CrmConfig
from cti.crm_store.crud import apply_patch, ensure_refs, get_or_404, invalid, paginate
from cti.crm_store.deals import party_phone_filter, words_in
from cti.crm_store.models import Company, Contact, Ticket, TicketComment, User
from cti.crm_store.models.tickets import OPEN_TICKET_STATUSES
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.tickets import (
    CommentIn,
    CommentOut,
    TicketIn,
    TicketOut,
    TicketPatch,
    TicketQuery,
)
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, as_utc_opt, utcnow
from cti.errors import NotFoundError

#: allowed status moves; ``closed`` is final (open a new ticket instead)
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "solved", "closed"}),
    "open": frozenset({"pending", "solved", "closed"}),
    "pending": frozenset({"open", "solved", "closed"}),
    "solved": frozenset({"open", "pending", "closed"}),
    "closed": frozenset(),
}
RESOLVED = ("solved", "closed")


def _late(due: datetime | None, done: datetime | None, now: datetime) -> bool:
    if due is None:
        return False
    return as_utc(done or now) > as_utc(due)


def ticket_out(ticket: Ticket, now: datetime | None = None) -> TicketOut:
    """The ticket with its breached flags as of ``now``."""
    now = now or utcnow()
    out = TicketOut.model_validate(ticket)
    return out.model_copy(
        update={
            "first_response_breached": _late(
                ticket.first_response_due, ticket.first_responded_at, now
            ),
            "resolution_breached": _late(ticket.resolution_due, ticket.resolved_at, now),
        }
    )


def _breached_sql(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """SQL for "first response late" and "resolution late", never NULL (so ``NOT`` works)."""

    def late(due: Any, done: Any) -> ColumnElement[bool]:
        return and_(
            due.is_not(None),
            or_(and_(done.is_(None), due < now), and_(done.is_not(None), done > due)),
        )

    return (
        late(Ticket.first_response_due, Ticket.first_responded_at),
        late(Ticket.resolution_due, Ticket.resolved_at),
    )


class TicketService:
    def __init__(self, store: Store, crm: CrmConfig | None = None) -> None:
        self.store = store
        self.sla = (crm or CrmConfig()).sla

    def due_times(self, priority: str, start: datetime) -> tuple[datetime, datetime]:
        """First-response and resolution due times for a ticket opened at ``start``."""
        target = self.sla[priority]
        start = as_utc(start)
        return (
            start + timedelta(hours=target.first_response_hours),
            start + timedelta(hours=target.resolution_hours),
        )

    async def create(self, data: TicketIn) -> TicketOut:
        now = utcnow()
        values = data.model_dump()
        first_due, resolution_due = self.due_times(data.priority, now)
        ticket = Ticket(
            **values,
            created_at=now,
            first_response_due=first_due,
            resolution_due=resolution_due,
        )
        _apply_status(ticket, data.status, now)
        _store_flags(ticket, now)
        async with self.store.sessions() as session:
            await ensure_refs(session, _refs(values))
            session.add(ticket)
            await session.commit()
            return ticket_out(ticket, now)

    async def get(self, ticket_id: int) -> TicketOut:
        async with self.store.sessions() as session:
            return ticket_out(await get_or_404(session, Ticket, ticket_id, "ticket"))

    async def update(self, ticket_id: int, patch: TicketPatch) -> TicketOut:
        values = patch.model_dump(exclude_unset=True)
        for field in ("subject", "description", "status", "priority"):
            if field in values and values[field] is None:
                raise invalid(field, "may not be null")
        now = utcnow()
        async with self.store.sessions() as session:
            ticket = await get_or_404(session, Ticket, ticket_id, "ticket")
            await ensure_refs(session, _refs(values))
            status = values.pop("status", None)
            if status is not None and status != ticket.status:
                if status not in TRANSITIONS[ticket.status]:
                    raise invalid("status", f"cannot go from {ticket.status} to {status}")
                _apply_status(ticket, status, now)
            priority = values.get("priority")
            if priority is not None and priority != ticket.priority:
                ticket.first_response_due, ticket.resolution_due = self.due_times(
                    priority, ticket.created_at
                )
            apply_patch(ticket, values)
            _store_flags(ticket, now)
            await session.commit()
            await session.refresh(ticket)
            return ticket_out(ticket, now)

    async def delete(self, ticket_id: int) -> None:
        async with self.store.sessions() as session:
            result = await session.execute(delete(Ticket).where(Ticket.id == ticket_id))
            await session.commit()
            if not getattr(result, "rowcount", 0):
                raise NotFoundError(f"ticket {ticket_id} not found", details={"id": ticket_id})

    async def search(self, query: TicketQuery | None = None) -> Page[TicketOut]:
        query = query or TicketQuery()
        now = utcnow()
        stmt: Select[Any] = select(Ticket)
        if query.q:
            stmt = stmt.where(*words_in(Ticket.subject, query.q))
        for field in ("status", "priority", "assignee_id", "contact_id", "company_id"):
            value = getattr(query, field)
            if value is not None:
                stmt = stmt.where(getattr(Ticket, field) == value)
        if query.open is not None:
            is_open = Ticket.status.in_(OPEN_TICKET_STATUSES)
            stmt = stmt.where(is_open if query.open else ~is_open)
        if query.breached is not None:
            any_breach = or_(*_breached_sql(now))
            stmt = stmt.where(any_breach if query.breached else ~any_breach)
        if query.phone:
            stmt = stmt.where(
                party_phone_filter(self.store, query.phone, Ticket.contact_id, Ticket.company_id)
            )
        params = PageParams(page=query.page, per_page=query.per_page)
        async with self.store.sessions() as session:
            page = await paginate(
                session, stmt, params, TicketOut, [Ticket.created_at.desc(), Ticket.id.desc()]
            )
        # flags as of now (rows only carry what was true at their last write)
        for item in page.items:
            item.first_response_breached = _late(
                item.first_response_due, item.first_responded_at, now
            )
            item.resolution_breached = _late(item.resolution_due, item.resolved_at, now)
        return page

    async def add_comment(
        self, ticket_id: int, data: CommentIn, author_id: int | None
    ) -> CommentOut:
        """Add a comment; the first public one is the ticket's first response."""
        now = utcnow()
        async with self.store.sessions() as session:
            ticket = await get_or_404(session, Ticket, ticket_id, "ticket")
            if author_id is not None:
                await ensure_refs(session, {"author_id": (User, author_id)})
            comment = TicketComment(
                ticket_id=ticket_id, author_id=author_id, body=data.body, public=data.public
            )
            session.add(comment)
            if data.public and ticket.first_responded_at is None:
                ticket.first_responded_at = now
                if ticket.status == "new":
                    ticket.status = "open"
            _store_flags(ticket, now)
            await session.commit()
            return CommentOut.model_validate(comment)

    async def comments(self, ticket_id: int, params: PageParams | None = None) -> Page[CommentOut]:
        async with self.store.sessions() as session:
            await get_or_404(session, Ticket, ticket_id, "ticket")
            stmt = select(TicketComment).where(TicketComment.ticket_id == ticket_id)
            return await paginate(
                session,
                stmt,
                params or PageParams(),
                CommentOut,
                [TicketComment.created_at, TicketComment.id],
            )

    async def refresh_breaches(self, now: datetime | None = None) -> int:
        """Store the breached flags of tickets that went overdue since their last write."""
        now = now or utcnow()
        first, resolution = _breached_sql(now)
        total = 0
        async with self.store.sessions() as session:
            for column, cond in (
                (Ticket.first_response_breached, first),
                (Ticket.resolution_breached, resolution),
            ):
                result = await session.execute(
                    update(Ticket).where(cond, column.is_(False)).values({column: True})
                )
                total += int(getattr(result, "rowcount", 0))
            await session.commit()
        return total


def _apply_status(ticket: Ticket, status: str, now: datetime) -> None:
    ticket.status = status
    if status != "new" and ticket.first_responded_at is None:
        ticket.first_responded_at = now
    if status in RESOLVED:
        if ticket.resolved_at is None:
            ticket.resolved_at = now
    else:
        ticket.resolved_at = None


def _store_flags(ticket: Ticket, now: datetime) -> None:
    ticket.first_response_breached = _late(
        as_utc_opt(ticket.first_response_due), as_utc_opt(ticket.first_responded_at), now
    )
    ticket.resolution_breached = _late(
        as_utc_opt(ticket.resolution_due), as_utc_opt(ticket.resolved_at), now
    )


def _refs(values: dict[str, Any]) -> dict[str, tuple[Any, int | None]]:
    models = {"contact_id": Contact, "company_id": Company, "assignee_id": User}
    return {f: (m, values[f]) for f, m in models.items() if values.get(f) is not None}
