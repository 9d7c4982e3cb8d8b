"""Agent sessions: intervals of an agent's queue login, pauses (with their reason) and
wrap-up, from the PBX's queue member and device events and from the operator page's own
actions; logged-in time, pause time by reason, wrap-up time and occupancy are read here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cti.crm_store.models.base import Base

#: login: a member of ``queue``; pause: paused there (``reason``); wrap-up: after a call
SESSION_KINDS = ("login", "pause", "wrap-up")
#: pbx: the PBX's events; page: the operator page (campaign join, pause, disposition)
SESSION_SOURCES = ("pbx", "page")


class AgentSession(Base):
    """One interval of an agent (``extension``): open while ``ended_at`` is NULL. The same
    time may be recorded by both sources (a page pause is also a PBX pause): reports take
    the union of the intervals, never their sum."""

    __tablename__ = "agent_sessions"
    __table_args__ = (
        Index("ix_agent_sessions_extension_started", "extension", "started_at"),
        Index("ix_agent_sessions_open", "source", "pbx", "extension", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    pbx: Mapped[str] = mapped_column(String(64), default="")
    extension: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: the PBX queue (``campaign:<id>`` for a page session of a campaign)
    queue: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
