"""A contact's or a company's timeline: calls, notes, tickets, deals and tasks, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from cti.crm_store.rules.keyset import MAX_CURSOR
from cti.crm_store.schemas.calls import CallOut
from cti.crm_store.schemas.common import InModel, plain_int
from cti.crm_store.schemas.deals import DealOut
from cti.crm_store.schemas.tasks import NoteOut, TaskOut
from cti.crm_store.schemas.tickets import TicketOut
from cti.crm_store.timeutil import UtcDateTime

TimelineKind = Literal["call", "note", "ticket", "deal", "task"]


class TimelineQuery(InModel):
    limit: Annotated[int, Field(ge=1, le=200), BeforeValidator(plain_int)] = 50
    #: the ``next_cursor`` of the page before
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)


class TimelineItem(BaseModel):
    """One entry: ``at`` is when it happened (a call's start, the others' creation) and
    exactly the field named by ``kind`` holds the record."""

    kind: TimelineKind
    id: int
    at: UtcDateTime
    call: CallOut | None = None
    note: NoteOut | None = None
    ticket: TicketOut | None = None
    deal: DealOut | None = None
    task: TaskOut | None = None


class TimelinePage(BaseModel):
    items: list[TimelineItem]
    next_cursor: str | None
