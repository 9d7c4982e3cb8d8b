"""The call log: one row per finished call, unique per PBX + Linkedid (idempotent writes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cti.crm_store.models.base import Base, TimestampMixin

CALL_STATUSES = ("answered", "missed", "abandoned", "busy", "no-answer", "failed")
DIRECTIONS = ("inbound", "outbound", "internal")
UNANSWERED_INBOUND = "direction = 'inbound' AND status IN ('missed', 'abandoned')"


class Call(TimestampMixin, Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("pbx", "linkedid", name="uq_calls_pbx_linkedid"),
        Index("ix_calls_external_tail_started", "external_tail", "started_at"),
        Index("ix_calls_agent_started", "agent", "started_at"),
        Index("ix_calls_started", "started_at"),
        #: a survey finds its call by Linkedid alone (the keypad knows no PBX name)
        Index("ix_calls_linkedid", "linkedid"),
        # the history's filters with its order (newest first): a queue's, a status's, a
        # campaign's calls are an index range, never all of them sorted per page
        Index("ix_calls_queue_started", "queue", "started_at"),
        Index("ix_calls_status_started", "status", "started_at"),
        Index("ix_calls_campaign_started", "campaign", "started_at"),
        Index("ix_calls_disposition_started", "disposition", "started_at"),
        # the callback worklist walks the unanswered inbound calls in time order
        Index(
            "ix_calls_unanswered_started",
            "started_at",
            sqlite_where=text(UNANSWERED_INBOUND),
            postgresql_where=text(UNANSWERED_INBOUND),
        ),
        # the history sorted by talk time (``sort=-duration``)
        Index("ix_calls_talk", "talk_seconds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx: Mapped[str] = mapped_column(String(64))
    linkedid: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(10))
    from_number: Mapped[str | None] = mapped_column(String(64))
    from_name: Mapped[str | None] = mapped_column(String(200))
    to_number: Mapped[str | None] = mapped_column(String(64))
    #: the outside party (caller of an inbound, callee of an outbound call), E.164 when parseable
    external_number: Mapped[str | None] = mapped_column(String(64))
    external_tail: Mapped[str | None] = mapped_column(String(12))
    queue: Mapped[str | None] = mapped_column(String(64))
    agents_rung: Mapped[list[str]] = mapped_column(JSON, default=list)
    agent: Mapped[str | None] = mapped_column(String(32))
    agent_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ring_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    transfers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    originate_action_id: Mapped[str | None] = mapped_column(String(128), index=True)
    originate_variables: Mapped[dict[str, str] | None] = mapped_column(JSON)
    account: Mapped[str | None] = mapped_column(String(80))
    campaign: Mapped[str | None] = mapped_column(String(80))
    recording: Mapped[str | None] = mapped_column(String(500))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    #: set by the operator after the call (e.g. "interested", "wrong number")
    disposition: Mapped[str | None] = mapped_column(String(64))
    #: where the times come from: pbx (Timestamp headers), receipt (cti's), cdr
    clock: Mapped[str | None] = mapped_column(String(8))
    #: agent / external / pbx (IVR, message): what answered the call
    answered_by: Mapped[str | None] = mapped_column(String(8))
    ivr_seconds: Mapped[float | None] = mapped_column(Float)
    queue_wait_seconds: Mapped[float | None] = mapped_column(Float)
    hold_seconds: Mapped[float | None] = mapped_column(Float)


class CallAgent(Base):
    """An extension a call rang or was answered on: what "my calls" and per-agent reports
    select by, through an index (``calls.agents_rung`` keeps the list as the record had it).
    Written with the call by :mod:`cti.calllog`. ``started_at`` is the call's (copied when
    the call is written or rewritten), so one agent's calls of a period are one range of
    an index, not every call the agent ever had."""

    __tablename__ = "call_agents"
    __table_args__ = (
        Index("ix_call_agents_extension_call", "extension", "call_id"),
        Index("ix_call_agents_extension_started", "extension", "started_at", "call_id"),
    )

    call_id: Mapped[int] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    extension: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[datetime | None]


class CallRing(Base):
    """One agent's phone ringing for a call (``seq``: the order of the rings); per-agent
    "offered / answered / missed" and ring times read these."""

    __tablename__ = "call_rings"
    __table_args__ = (
        Index("ix_call_rings_agent_started", "agent", "started_at"),
        Index("ix_call_rings_started", "started_at"),
    )

    call_id: Mapped[int] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    agent: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    seconds: Mapped[float | None] = mapped_column(Float)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)


class CallTalk(Base):
    """One agent's part of a call (a transferred call has one per agent), with its hold."""

    __tablename__ = "call_talks"
    __table_args__ = (
        Index("ix_call_talks_agent_started", "agent", "started_at"),
        Index("ix_call_talks_started", "started_at"),
    )

    call_id: Mapped[int] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    agent: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    seconds: Mapped[float | None] = mapped_column(Float)
    hold_seconds: Mapped[float | None] = mapped_column(Float)
