"""The reports' JSON shapes (``/api/reports/…``, ``cti report NAME``)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from cti.crm_store.schemas.common import OutModel


class PeriodOut(OutModel):
    """First and last local day (inclusive), the zone, and the UTC instants they span."""

    model_config = OutModel.model_config | {"serialize_by_alias": True, "populate_by_name": True}

    from_: date = Field(serialization_alias="from", alias="from")
    to: date
    tz: str
    since: datetime = Field(description="the period's first instant, UTC")
    until: datetime = Field(description="the instant after the period, UTC")


class Report(OutModel):
    report: str
    period: PeriodOut
    #: the definitions the figures follow (docs/reports.md)
    definition: str


class AgentFigures(OutModel):
    agent: str = Field(description="the extension")
    user: str = Field(default="", description="the user the extension belongs to")
    day: date | None = Field(default=None, description="null: the whole period")
    offered: int = Field(description="calls that rang this agent (rung): a per-agent measure")
    answered: int
    missed: int = Field(description="rang this agent, not answered by them")
    answer_rate: float | None
    ring_seconds: float
    ring_no_answer_seconds: float
    handled: int = Field(description="calls this agent talked on (their own part)")
    talk_seconds: float = Field(description="connected, not on hold")
    hold_seconds: float
    wrap_up_seconds: float
    handle_seconds: float = Field(description="talk + hold + wrap-up")
    average_handle_seconds: float | None
    calls_per_hour: float | None = Field(description="handled per logged-in hour")
    logged_in_seconds: float
    pause_seconds: float
    pauses: dict[str, float] = Field(description="pause seconds by reason")
    occupancy: float | None = Field(description="handle / (logged in − paused)")
    utilisation: float | None = Field(description="handle / logged in")


class AgentsReport(Report):
    agents: list[AgentFigures]
    days: list[AgentFigures]


class QueueFigures(OutModel):
    queue: str
    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    timed_out: int = Field(description="the queue gave up (timeout, overflow, empty)")
    abandon_rate: float | None = Field(description="abandoned less short / offered less short")
    service_level: float | None
    answered_within: int
    average_speed_of_answer: float | None
    longest_wait: float
    average_abandon_seconds: float | None = Field(description="abandons past the short ones")
    average_ivr_seconds: float | None = Field(description="IVR time before the queue")


class QueuesReport(Report):
    service_level_seconds: float
    service_level_variant: str
    short_abandon_seconds: float
    queues: list[QueueFigures]
    total: QueueFigures
    calls: dict[str, dict[str, int]] = Field(description="direction → status → calls")


class CallbackRow(OutModel):
    number: str
    misses: int
    first_missed_at: datetime
    last_missed_at: datetime
    age_seconds: float = Field(description="now − the first miss not called back")
    queue: str | None
    task_id: int
    assignee: str | None


class CallbacksReport(Report):
    at: datetime
    items: list[CallbackRow]


class HeatmapReport(Report):
    weekdays: list[str]
    #: cells[weekday][hour]: inbound calls started then (local time)
    cells: list[list[int]]
    total: int


class CampaignFiguresOut(OutModel):
    campaign: str
    id: int
    attempts: int = Field(description="dials that ended in the period (preview skips apart)")
    skipped: int
    contacts: int = Field(description="answered by a person (live)")
    contact_rate: float | None
    abandoned: int
    abandon_rate: float | None = Field(description="abandoned / live, in the period")
    abandon_rate_24h: float | None = Field(description="the 24 h ending at the period's end")
    abandon_rate_30d: float | None
    outcomes: dict[str, int]
    dispositions: dict[str, int]
    conversion: dict[str, float] = Field(description="disposition / contacts")


class CampaignsReport(Report):
    campaigns: list[CampaignFiguresOut]


class SlaFigures(OutModel):
    key: str
    first_response_met: int
    first_response_breached: int
    first_response_compliance: float | None
    resolution_met: int
    resolution_breached: int
    resolution_compliance: float | None


class DealRow(OutModel):
    status: str
    stage: str
    owner: str | None
    deals: int
    amount: float


class OverdueRow(OutModel):
    owner: str | None
    overdue: int
    oldest_due: datetime


class SlaReport(Report):
    business_hours: bool
    by_agent: list[SlaFigures]
    by_priority: list[SlaFigures]
    deals: list[DealRow]
    overdue_tasks: list[OverdueRow]
