"""Tickets (with SLA fields) and their comments."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cti.crm_store.schemas.common import Flag, Id, InModel, OutModel, PageParams
from cti.crm_store.timeutil import UtcDateTime

TicketStatus = Literal["new", "open", "pending", "solved", "closed"]
TicketPriority = Literal["low", "normal", "high", "urgent"]


class TicketIn(InModel):
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=50_000)
    contact_id: Id | None = None
    company_id: Id | None = None
    status: TicketStatus = "new"
    priority: TicketPriority = "normal"
    assignee_id: Id | None = None


class TicketPatch(InModel):
    """Only the fields sent change. Status moves follow :data:`TRANSITIONS`."""

    subject: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=50_000)
    contact_id: Id | None = None
    company_id: Id | None = None
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    assignee_id: Id | None = None


class TicketOut(OutModel):
    id: int
    subject: str
    description: str
    contact_id: int | None
    company_id: int | None
    status: TicketStatus
    priority: TicketPriority
    assignee_id: int | None
    first_response_due: UtcDateTime | None
    resolution_due: UtcDateTime | None
    first_responded_at: UtcDateTime | None
    resolved_at: UtcDateTime | None
    #: computed when read: the due time passed before (or without) the response/resolution
    first_response_breached: bool
    resolution_breached: bool
    created_at: UtcDateTime
    updated_at: UtcDateTime


class TicketQuery(PageParams):
    q: str | None = Field(default=None, max_length=300, description="words in the subject")
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    assignee_id: Id | None = None
    contact_id: Id | None = None
    company_id: Id | None = None
    open: Flag | None = Field(default=None, description="new, open or pending")
    breached: Flag | None = Field(default=None, description="any SLA breached")
    phone: str | None = Field(default=None, max_length=64, description="of the contact/company")


class CommentIn(InModel):
    body: str = Field(min_length=1, max_length=50_000)
    #: public comments are replies to the customer and count as the first response
    public: Flag = True


class CommentOut(OutModel):
    id: int
    ticket_id: int
    author_id: int | None
    body: str
    public: bool
    created_at: UtcDateTime
