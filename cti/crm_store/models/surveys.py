"""Survey responses and their answers, saved the moment each answer is given.

A response belongs to a call by its *call key* (the Linkedid the daemon and the PBX know
during the call), so an answer given after hang-up, before the call record exists, lands on
the right call; ``call_id`` is filled in once the call log has stored the record
(:meth:`cti.crm_store.repos.surveys.SurveyRepo.link_calls`). Each response keeps the version
(content hash) of the script it was given under, and ``survey_scripts`` keeps each version's
definition, so results of an edited script never mix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cti.crm_store.models.base import Base
from cti.crm_store.timeutil import utcnow

RESPONSE_STATUSES = ("in_progress", "complete", "partial")
MODES = ("operator", "keypad")


class SurveyScript(Base):
    """One version of a script as it was asked (its definition, by content hash)."""

    __tablename__ = "survey_scripts"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("call_key", "script_name", name="uq_survey_responses_call_script"),
        Index("ix_survey_responses_campaign_started", "campaign_id", "started_at"),
        Index("ix_survey_responses_script_started", "script_name", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the call's Linkedid as known during the call (the record's ``calls.linkedid``)
    call_key: Mapped[str] = mapped_column(String(64))
    pbx: Mapped[str | None] = mapped_column(String(64))
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    list_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_lists.id", ondelete="SET NULL"), index=True
    )
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("dial_attempts.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    script_name: Mapped[str] = mapped_column(String(64))
    script_version: Mapped[str] = mapped_column(
        ForeignKey("survey_scripts.version", ondelete="RESTRICT"), index=True
    )
    #: operator (asked by an agent) or keypad (the caller's keys, over FastAGI)
    mode: Mapped[str] = mapped_column(String(8))
    agent: Mapped[str | None] = mapped_column(String(32), index=True)
    agent_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: in_progress, complete, or partial (hung up or stopped before the end: kept, marked)
    status: Mapped[str] = mapped_column(String(12), default="in_progress")
    #: a partial survey: the question it stopped at (the drop-off figures)
    stopped_at: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class SurveyAnswer(Base):
    """One answer; changing it updates the row (``updated_at``), never adds a second."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id", name="uq_survey_answers_question"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    #: the normalised answer (JSON: true/false, 7, "price", ["a", "b"], "2026-12-01", null)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: what was keyed in on the phone (keypad mode)
    raw: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: a username, or ``keypad``
    answered_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
