"""A contact's or a company's timeline in SQL: one keyset query per kind, merged.

Each kind (calls, notes, tickets, deals, tasks) is read newest first from where the page
before ended, at most one page plus one row each, through their ``contact_id`` /
``company_id`` indexes; the merge keeps the newest. The order is ``(at, rank, id)``
descending (``rank``: the kind's place in :data:`KINDS`), so rows created in the same
instant have one order and a cursor names exactly one place in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, DateTime, and_, func, literal, or_, select

from cti.crm_store.models.base import Base
from cti.crm_store.models.calls import Call
from cti.crm_store.models.contacts import Contact
from cti.crm_store.models.sales import Deal
from cti.crm_store.models.tasks import Note, Task
from cti.crm_store.models.tickets import Ticket
from cti.crm_store.repos.calls import touches
from cti.crm_store.rules.keyset import Position
from cti.crm_store.schemas.calls import CallOut
from cti.crm_store.schemas.deals import DealOut
from cti.crm_store.schemas.tasks import NoteOut, TaskOut
from cti.crm_store.schemas.tickets import TicketOut
from cti.crm_store.schemas.timeline import TimelineItem
from cti.crm_store.store import Store

#: kind → (model, output schema); the position in this tuple is the kind's rank
KINDS: tuple[tuple[str, type[Base], type[BaseModel]], ...] = (
    ("task", Task, TaskOut),
    ("deal", Deal, DealOut),
    ("ticket", Ticket, TicketOut),
    ("note", Note, NoteOut),
    ("call", Call, CallOut),
)


@dataclass(frozen=True)
class Owner:
    """Whose timeline: a contact or a company, and what the reader may see of it
    (``calls``: their extensions when limited to their own calls; ``tasks``: their user id
    when limited to their own tasks; None: everything)."""

    contact_id: int | None
    company_id: int | None
    calls: Sequence[str] | None
    tasks: int | None


def _at(model: type[Base]) -> Any:
    if model is Call:
        return func.coalesce(Call.started_at, Call.created_at)
    return model.created_at  # type: ignore[attr-defined]


def _belongs(model: type[Base], owner: Owner) -> list[ColumnElement[bool]]:
    """Rows of ``model`` on the owner's timeline that the reader may see."""
    col: Any = model
    if owner.contact_id is not None:
        who = col.contact_id == owner.contact_id
    else:
        staff = select(Contact.id).where(Contact.company_id == owner.company_id)
        who = col.contact_id.in_(staff)
        if model in (Ticket, Deal):
            who = or_(who, col.company_id == owner.company_id)
    where = [who]
    if model is Call and owner.calls is not None:
        where.append(touches(owner.calls))
    if model is Note and owner.calls is not None:
        where.append(or_(Note.call_id.is_(None), touches(owner.calls, Note.call_id)))
    if model is Task and owner.tasks is not None:
        where.append(or_(Task.assignee_id.is_(None), Task.assignee_id == owner.tasks))
    return where


def _after(
    at: ColumnElement[datetime], model: type[Base], rank: int, after: Position
) -> ColumnElement[bool]:
    """Rows of this kind that come after ``after`` in ``(at, rank, id)`` descending order."""
    bound = literal(after.value, DateTime(timezone=True))
    row_id: Any = model.id  # type: ignore[attr-defined]
    if rank < after.rank:
        return at <= bound
    if rank > after.rank:
        return at < bound
    return or_(at < bound, and_(at == bound, row_id < after.id))


class TimelineRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def page(
        self, owner: Owner, after: Position | None, limit: int
    ) -> tuple[list[TimelineItem], Position | None]:
        """Up to ``limit`` entries after ``after``, and the position of the last one when
        there are more."""
        found: list[tuple[datetime, int, int, TimelineItem]] = []
        async with self.store.sessions() as session:
            for rank, (kind, model, out) in enumerate(KINDS):
                at = _at(model)
                row_id: Any = model.id  # type: ignore[attr-defined]
                stmt = select(model, at).where(*_belongs(model, owner))
                if after is not None:
                    stmt = stmt.where(_after(at, model, rank, after))
                stmt = stmt.order_by(at.desc(), row_id.desc()).limit(limit + 1)
                for row, when in (await session.execute(stmt)).all():
                    record = out.model_validate(row)
                    item = TimelineItem.model_validate(
                        {"kind": kind, "id": row.id, "at": when, kind: record}
                    )
                    found.append((item.at, rank, row.id, item))
        found.sort(key=lambda entry: entry[:3], reverse=True)
        more = len(found) > limit
        page = found[:limit]
        last = Position(page[-1][0], page[-1][2], page[-1][1]) if more and page else None
        return [entry[3] for entry in page], last
