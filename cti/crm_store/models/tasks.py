"""Tasks (reminders, callbacks) and free-text notes, linked to contacts, deals, tickets, calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cti.crm_store.models.base import Base, TimestampMixin

TASK_KINDS = ("todo", "callback")
#: the callbacks that may not repeat: open ones (one per number and queue, enforced below)
_OPEN_CALLBACK = "kind = 'callback' AND NOT done"


class Task(TimestampMixin, Base):
    """A to-do with a due time. ``kind='callback'``: call ``phone`` back (missed calls).

    A callback is assigned to a user, or to the agents of ``queue`` when no single user owns it.
    At most one callback per number and queue is open: the database enforces it with two
    partial unique indexes (a unique index over a NULL ``queue`` would let those repeat).
    """

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_open_callbacks", "kind", "phone_tail", "done"),
        Index("ix_tasks_assignee_done_due", "assignee_id", "done", "due_at"),
        Index("ix_tasks_done_due", "done", "due_at"),
        Index(
            "uq_tasks_open_callback_queue",
            "phone",
            "queue",
            unique=True,
            sqlite_where=text(f"{_OPEN_CALLBACK} AND queue IS NOT NULL"),
            postgresql_where=text(f"{_OPEN_CALLBACK} AND queue IS NOT NULL"),
        ),
        Index(
            "uq_tasks_open_callback_no_queue",
            "phone",
            unique=True,
            sqlite_where=text(f"{_OPEN_CALLBACK} AND queue IS NULL"),
            postgresql_where=text(f"{_OPEN_CALLBACK} AND queue IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(10), default="todo")
    due_at: Mapped[datetime | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    queue: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    phone_tail: Mapped[str | None] = mapped_column(String(12))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None]
    #: set when the task was closed by the system (e.g. the callback's number called back)
    done_reason: Mapped[str | None] = mapped_column(String(200))
    #: when a ``task.due`` reminder was pushed, and for which due time: a task is reminded
    #: once per due time (a snooze sets a new one); the claim is an atomic UPDATE
    reminded_at: Mapped[datetime | None]
    reminded_for: Mapped[datetime | None]


class Note(TimestampMixin, Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
