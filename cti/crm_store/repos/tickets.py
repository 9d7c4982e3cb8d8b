"""Tickets and their comments in SQL, with the SLA breach test as SQL for search and refresh.

Rows carry the breached flags as they were at their last write; readers recompute them as of
now (:func:`cti.crm_store.rules.sla.breaches`), and :meth:`TicketRepo.refresh_breaches`
stamps the ones that went overdue in between.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update

from cti.crm_store.models import Company, Contact, Ticket, TicketComment, User
from cti.crm_store.repos.base import (
    RowRepo,
    apply_patch,
    ensure_refs,
    get_or_404,
    paginate,
    party_phone_filter,
    where_equal,
    words_in,
)
from cti.crm_store.rules.sla import OPEN_TICKET_STATUSES
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.tickets import CommentOut, TicketOut, TicketQuery
from cti.crm_store.store import Store

_REFS = {"contact_id": Contact, "company_id": Company, "assignee_id": User}
#: what a change decides from the ticket as it is now
Decide = Callable[[TicketOut], Mapping[str, Any]]


def breached_sql(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
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


class TicketRepo(RowRepo[Ticket, TicketOut]):
    def __init__(self, store: Store) -> None:
        super().__init__(store, Ticket, TicketOut, "ticket", _REFS)

    async def search(self, query: TicketQuery, now: datetime) -> Page[TicketOut]:
        """A page of tickets; ``breached`` is tested as of ``now``."""
        stmt: Select[Any] = select(Ticket)
        if query.q:
            stmt = stmt.where(*words_in(Ticket.subject, query.q))
        fields = ("status", "priority", "assignee_id", "contact_id", "company_id")
        stmt = where_equal(stmt, Ticket, query, fields)
        if query.open is not None:
            is_open = Ticket.status.in_(OPEN_TICKET_STATUSES)
            stmt = stmt.where(is_open if query.open else ~is_open)
        if query.breached is not None:
            any_breach = or_(*breached_sql(now))
            stmt = stmt.where(any_breach if query.breached else ~any_breach)
        if query.phone:
            stmt = stmt.where(
                party_phone_filter(
                    self.store.phone, query.phone, Ticket.contact_id, Ticket.company_id
                )
            )
        params = PageParams(page=query.page, per_page=query.per_page)
        async with self.store.sessions() as session:
            return await paginate(
                session, stmt, params, TicketOut, [Ticket.created_at.desc(), Ticket.id.desc()]
            )

    async def add_comment(
        self, ticket_id: int, author_id: int | None, body: str, public: bool, decide: Decide
    ) -> CommentOut:
        """Add a comment and write what ``decide`` makes of the ticket (its first response)."""
        async with self.store.sessions() as session:
            ticket = await get_or_404(session, Ticket, ticket_id, "ticket")
            if author_id is not None:
                await ensure_refs(session, {"author_id": (User, author_id)})
            comment = TicketComment(
                ticket_id=ticket_id, author_id=author_id, body=body, public=public
            )
            session.add(comment)
            apply_patch(ticket, decide(TicketOut.model_validate(ticket)))
            await session.commit()
            return CommentOut.model_validate(comment)

    async def comments(self, ticket_id: int, params: PageParams) -> Page[CommentOut]:
        async with self.store.sessions() as session:
            await get_or_404(session, Ticket, ticket_id, "ticket")
            stmt = select(TicketComment).where(TicketComment.ticket_id == ticket_id)
            return await paginate(
                session, stmt, params, CommentOut, [TicketComment.created_at, TicketComment.id]
            )

    async def refresh_breaches(self, now: datetime) -> int:
        """Store the breached flags of tickets that went overdue since their last write."""
        first, resolution = breached_sql(now)
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
