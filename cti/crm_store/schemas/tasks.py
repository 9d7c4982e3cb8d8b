"""Tasks (to-dos and callbacks) and notes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cti.crm_store.schemas.common import Flag, Id, InModel, OutModel, PageParams
from cti.crm_store.timeutil import UtcDateTime

TaskKind = Literal["todo", "callback"]


class TaskIn(InModel):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    kind: TaskKind = "todo"
    #: naive times are taken as UTC
    due_at: UtcDateTime | None = None
    #: defaults to the creating user over the API
    assignee_id: Id | None = None
    #: for callbacks owned by a queue's agents rather than one user
    queue: str | None = Field(default=None, max_length=64)
    #: number to call (required for callbacks)
    phone: str | None = Field(default=None, max_length=32)
    contact_id: Id | None = None
    deal_id: Id | None = None
    ticket_id: Id | None = None
    call_id: Id | None = None


class TaskPatch(InModel):
    """Only the fields sent change; ``done: true`` stamps ``done_at``."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    due_at: UtcDateTime | None = None
    assignee_id: Id | None = None
    queue: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    contact_id: Id | None = None
    deal_id: Id | None = None
    ticket_id: Id | None = None
    call_id: Id | None = None
    done: Flag | None = None
    done_reason: str | None = Field(default=None, max_length=200)


class TaskOut(OutModel):
    id: int
    title: str
    description: str
    kind: TaskKind
    due_at: UtcDateTime | None
    assignee_id: int | None
    queue: str | None
    phone: str | None
    phone_tail: str | None
    contact_id: int | None
    deal_id: int | None
    ticket_id: int | None
    call_id: int | None
    done: bool
    done_at: UtcDateTime | None
    done_reason: str | None
    reminded_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class TaskQuery(PageParams):
    q: str | None = Field(default=None, max_length=300, description="words in the title")
    kind: TaskKind | None = None
    done: Flag | None = None
    assignee_id: Id | None = None
    queue: str | None = None
    phone: str | None = Field(default=None, max_length=32)
    contact_id: Id | None = None
    deal_id: Id | None = None
    ticket_id: Id | None = None
    call_id: Id | None = None
    due_before: UtcDateTime | None = None
    due_after: UtcDateTime | None = None


class NoteIn(InModel):
    """A note is attached to at least one of a contact, deal, ticket or call."""

    body: str = Field(min_length=1, max_length=50_000)
    contact_id: Id | None = None
    deal_id: Id | None = None
    ticket_id: Id | None = None
    call_id: Id | None = None


class NotePatch(InModel):
    body: str = Field(min_length=1, max_length=50_000)


class NoteOut(OutModel):
    id: int
    body: str
    author_id: int | None
    contact_id: int | None
    deal_id: int | None
    ticket_id: int | None
    call_id: int | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class NoteQuery(PageParams):
    contact_id: Id | None = None
    deal_id: Id | None = None
    ticket_id: Id | None = None
    call_id: Id | None = None
    author_id: Id | None = None
