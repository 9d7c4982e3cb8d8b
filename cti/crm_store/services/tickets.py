"""Support tickets: SLA clocks and status rules (:mod:`cti.crm_store.rules.sla`) decided
around the repository's reads and writes.

Due times come from ``[crm.sla]`` (hours per priority) counted from creation; a priority
change recomputes them. Breached flags are computed whenever a ticket is read and stored on
every write; :meth:`TicketService.refresh_breaches` stamps the ones that went overdue.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cti.config import CrmConfig
from cti.crm_store.repos.tickets import TicketRepo
from cti.crm_store.rules import sla
from cti.crm_store.rules.fields import invalid, refuse_nulls
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
from cti.crm_store.timeutil import utcnow

_CLOCKS = ("first_response_due", "first_responded_at", "resolution_due", "resolved_at")


def _clocks(ticket: TicketOut, changes: Mapping[str, Any]) -> sla.Clocks:
    return sla.Clocks(**{f: changes.get(f, getattr(ticket, f)) for f in _CLOCKS})


def _flags(clocks: sla.Clocks, now: datetime) -> dict[str, bool]:
    first, resolution = sla.breaches(clocks, now)
    return {"first_response_breached": first, "resolution_breached": resolution}


def _changed(ticket: TicketOut, changes: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """``changes`` with the breached flags they lead to, minus what the ticket already has
    (an unchanged ticket is not written, so its ``updated_at`` stays)."""
    wanted = {**changes, **_flags(_clocks(ticket, changes), now)}
    return {k: v for k, v in wanted.items() if getattr(ticket, k) != v}


def ticket_out(ticket: TicketOut, now: datetime | None = None) -> TicketOut:
    """The ticket with its breached flags as of ``now``."""
    return ticket.model_copy(update=_flags(_clocks(ticket, {}), now or utcnow()))


class TicketService:
    def __init__(self, store: Store, crm: CrmConfig | None = None) -> None:
        self.store = store
        self.sla = (crm or CrmConfig()).sla
        self.repo = TicketRepo(store)

    def due_times(self, priority: str, start: datetime) -> tuple[datetime, datetime]:
        """First-response and resolution due times for a ticket opened at ``start``."""
        return sla.due_times(self.sla, priority, start)

    async def create(self, data: TicketIn) -> TicketOut:
        now = utcnow()
        first_due, resolution_due = self.due_times(data.priority, now)
        responded, resolved = sla.stamps(data.status, None, None, now)
        clocks = sla.Clocks(first_due, responded, resolution_due, resolved)
        values = {
            **data.model_dump(),
            "created_at": now,
            "first_response_due": first_due,
            "resolution_due": resolution_due,
            "first_responded_at": responded,
            "resolved_at": resolved,
            **_flags(clocks, now),
        }
        return ticket_out(await self.repo.create(values), now)

    async def get(self, ticket_id: int) -> TicketOut:
        return ticket_out(await self.repo.get(ticket_id))

    async def update(self, ticket_id: int, patch: TicketPatch) -> TicketOut:
        values = patch.model_dump(exclude_unset=True)
        refuse_nulls(values, ("subject", "description", "status", "priority"))
        now = utcnow()
        status = values.pop("status", None)

        def decide(ticket: TicketOut) -> dict[str, Any]:
            changes: dict[str, Any] = {}
            if status is not None and status != ticket.status:
                if not sla.may_move(ticket.status, status):
                    raise invalid("status", f"cannot go from {ticket.status} to {status}")
                changes["status"] = status
                changes["first_responded_at"], changes["resolved_at"] = sla.stamps(
                    status, ticket.first_responded_at, ticket.resolved_at, now
                )
            priority = values.get("priority")
            if priority is not None and priority != ticket.priority:
                changes["first_response_due"], changes["resolution_due"] = self.due_times(
                    priority, ticket.created_at
                )
            return _changed(ticket, changes, now)

        return ticket_out(await self.repo.update(ticket_id, values, decide), now)

    async def delete(self, ticket_id: int) -> None:
        await self.repo.delete(ticket_id)

    async def search(self, query: TicketQuery | None = None) -> Page[TicketOut]:
        now = utcnow()
        page = await self.repo.search(query or TicketQuery(), now)
        # flags as of now (rows only carry what was true at their last write)
        page.items = [ticket_out(item, now) for item in page.items]
        return page

    async def add_comment(
        self, ticket_id: int, data: CommentIn, author_id: int | None
    ) -> CommentOut:
        """Add a comment; the first public one is the ticket's first response."""
        now = utcnow()

        def decide(ticket: TicketOut) -> dict[str, Any]:
            status, responded = sla.first_response(
                data.public, ticket.status, ticket.first_responded_at, now
            )
            return _changed(ticket, {"status": status, "first_responded_at": responded}, now)

        return await self.repo.add_comment(ticket_id, author_id, data.body, data.public, decide)

    async def comments(self, ticket_id: int, params: PageParams | None = None) -> Page[CommentOut]:
        return await self.repo.comments(ticket_id, params or PageParams())

    async def refresh_breaches(self, now: datetime | None = None) -> int:
        """Store the breached flags of tickets that went overdue since their last write."""
        return await self.repo.refresh_breaches(now or utcnow())
