"""Telemarketing: campaigns and their versions, dial lists and their leads, dial attempts,
do-not-call numbers, and the agents working a campaign.

All dialer state lives here (not in a daemon's memory): a restart or a second dialer reads
the same rows, and claims them with row locks (``FOR UPDATE SKIP LOCKED``) before acting.
"""

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
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cti.crm_store.models.base import Base, TimestampMixin

CAMPAIGN_STATUSES = ("draft", "running", "paused", "stopped")
LEAD_STATES = ("ready", "dialing", "done")
ATTEMPT_STATES = ("claimed", "dialing", "ended")
#: what an attempt came to (``machine``: answering-machine detection said so)
ATTEMPT_OUTCOMES = (
    "answered",
    "abandoned",
    "busy",
    "no-answer",
    "congestion",
    "invalid",
    "failed",
    "machine",
    "skipped",
)
AGENT_STATES = ("free", "ringing", "on-call", "wrap-up", "paused")


class Campaign(TimestampMixin, Base):
    """A campaign: its current definition (``spec``, a validated campaign file) and status."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    #: the version ``spec`` is (``campaign_versions.version``)
    version: Mapped[int] = mapped_column(Integer, default=1)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the call script the spec names, as loaded with it (``Script.to_json``)
    script: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: predictive dialling's current calls per free agent (shared by every dialer)
    pacing_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    #: when a dialer last stepped the ratio: the once-a-minute step is the campaign's, not
    #: each dialer's (two dialers would otherwise step it twice as fast)
    pacing_ratio_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]


class CampaignVersion(Base):
    """Each load of a campaign file: what was dialled under which definition."""

    __tablename__ = "campaign_versions"
    __table_args__ = (UniqueConstraint("campaign_id", "version", name="uq_campaign_versions"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    script: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the file as it was loaded, and where from
    source_text: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_by: Mapped[str | None] = mapped_column(String(64))
    loaded_at: Mapped[datetime]


class CampaignList(TimestampMixin, Base):
    """One imported dial list of a campaign; lists of higher ``priority`` are dialled first."""

    __tablename__ = "campaign_lists"
    __table_args__ = (UniqueConstraint("campaign_id", "name", name="uq_campaign_lists_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str | None] = mapped_column(String(500))
    #: the import's counts (rows, added, duplicates, invalid, dnc, time-zone rules …)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Lead(TimestampMixin, Base):
    """A number to dial in a campaign (one per campaign and number), and where it stands."""

    __tablename__ = "campaign_leads"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", name="uq_campaign_leads_phone"),
        Index("ix_campaign_leads_due", "campaign_id", "state", "next_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_lists.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    #: E.164
    phone: Mapped[str] = mapped_column(String(20))
    #: the zones its call window must be open in, and which rule gave them
    #: (``contact``, ``number``, ``all`` of an ambiguous number's, ``default`` of the campaign)
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    zone_rule: Mapped[str] = mapped_column(String(8), default="number")
    state: Mapped[str] = mapped_column(String(8), default="ready")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: not dialled before this time (a retry delay); NULL: due now
    next_at: Mapped[datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(String(12))
    last_attempt_at: Mapped[datetime | None]
    #: why the lead is done: a disposition, ``max-attempts``, ``invalid``, ``dnc``
    closed_reason: Mapped[str | None] = mapped_column(String(64))
    #: the last time the person was abandoned (no agent): 72 h without a redial but preview
    abandoned_at: Mapped[datetime | None]


class DialAttempt(Base):
    """One call placed for a lead: claimed, then dialled once, then its outcome.

    The row is written (``claimed``) before the Originate is sent and the ActionID is on it,
    so a restart never sends the same attempt twice and finds every outcome a home.
    """

    __tablename__ = "dial_attempts"
    __table_args__ = (
        UniqueConstraint("lead_id", "seq", name="uq_dial_attempts_seq"),
        Index("ix_dial_attempts_campaign_state", "campaign_id", "state"),
        Index("ix_dial_attempts_campaign_ended", "campaign_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    lead_id: Mapped[int] = mapped_column(ForeignKey("campaign_leads.id", ondelete="CASCADE"))
    #: the attempt's number for its lead (1, 2, …)
    seq: Mapped[int] = mapped_column(Integer)
    action_id: Mapped[str] = mapped_column(String(128), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(12))
    pbx: Mapped[str | None] = mapped_column(String(64))
    #: the dialer (daemon) that claimed it
    dialer: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8), default="claimed")
    #: preview: the operator who asked for it; else the agent who took the call
    agent_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    agent: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime]
    originated_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    connected_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(12))
    #: a person answered (the abandon rate's denominator; a machine is not one)
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    amd_status: Mapped[str | None] = mapped_column(String(16))
    ring_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    call_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    disposition: Mapped[str | None] = mapped_column(String(64))
    disposition_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    disposition_at: Mapped[datetime | None]


class DncNumber(Base):
    """A number not to be dialled: for every campaign (``campaign_id`` NULL) or one."""

    __tablename__ = "dnc_numbers"
    __table_args__ = (
        UniqueConstraint("campaign_id", "number", name="uq_dnc_numbers_campaign"),
        Index(
            "uq_dnc_numbers_global",
            "number",
            unique=True,
            sqlite_where=text("campaign_id IS NULL"),
            postgresql_where=text("campaign_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    #: E.164
    number: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class CampaignAgent(Base):
    """An operator working a campaign now, and their state as the PBX shows it."""

    __tablename__ = "campaign_agents"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    #: one campaign at a time per operator
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, unique=True
    )
    extension: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(8), default="free")
    pause_reason: Mapped[str | None] = mapped_column(String(64))
    state_since: Mapped[datetime]
    joined_at: Mapped[datetime]
    #: the attempt on their screen (ringing, on call, wrap-up)
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("dial_attempts.id", ondelete="SET NULL")
    )
    #: wrap-up ends by itself at this time
    wrap_until: Mapped[datetime | None]


class AgentStateLog(Base):
    """Every agent state with its start and end: logged-in time, pauses and their reasons,
    occupancy (reports read these)."""

    __tablename__ = "agent_state_log"
    __table_args__ = (Index("ix_agent_state_log_user_started", "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    extension: Mapped[str] = mapped_column(String(32))
    #: an AGENT_STATES value, or ``logged-out``
    state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
