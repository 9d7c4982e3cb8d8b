"""Campaigns as the API and the CLI show them (the definition itself is
:class:`cti.dialer.campaign_file.CampaignSpec`)."""

from __future__ import annotations

from typing import Any, Literal

from cti.crm_store.schemas.common import OutModel
from cti.crm_store.timeutil import UtcDateTime

CampaignStatus = Literal["draft", "running", "paused", "stopped"]


class CampaignOut(OutModel):
    id: int
    name: str
    title: str
    status: CampaignStatus
    version: int
    spec: dict[str, Any]
    script: dict[str, Any] | None
    pacing_ratio: float
    started_at: UtcDateTime | None
    stopped_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CampaignVersionOut(OutModel):
    version: int
    sha256: str
    source: str | None
    loaded_by: str | None
    loaded_at: UtcDateTime


class CampaignProgress(OutModel):
    """Counts: leads by state, attempts by outcome (``dialing``: no outcome yet), agents by
    state."""

    leads: dict[str, int]
    attempts: dict[str, int]
    agents: dict[str, int]


class LoadResult(OutModel):
    """What ``cti campaign load`` did: created, updated (a new version) or unchanged."""

    campaign: CampaignOut
    action: Literal["created", "updated", "unchanged"]


class DncOut(OutModel):
    """A do-not-call entry: for every campaign (``campaign_id`` null) or one."""

    campaign_id: int | None
    number: str
    reason: str | None
    source: str | None
    created_at: UtcDateTime


class CampaignListOut(OutModel):
    """A dial list of a campaign: higher ``priority`` is dialled first; ``report``: the
    counts of its imports (added, duplicates, invalid, dnc, time-zone rules …)."""

    id: int
    name: str
    priority: int
    active: bool
    source: str | None
    report: dict[str, Any]
    created_at: UtcDateTime


class ListImportReport(OutModel):
    """What one list import did (or, with ``dry_run``, would do): counts, the time-zone
    rule each added lead got, and the rejected rows (line, field, reason)."""

    campaign: str
    list_name: str
    dry_run: bool
    rows: int
    added: int
    duplicates: int
    invalid: int
    dnc: int
    contacts_matched: int
    contacts_created: int
    zone_rules: dict[str, int]
    problems: list[tuple[int, str, str]]
    report: str | None = None


class AgentFigure(OutModel):
    user_id: int
    extension: str
    state: str
    pause_reason: str | None
    state_since: UtcDateTime


class CampaignFigures(OutModel):
    """What a supervisor watches: calls placed and what they came to (the last 24 h and
    30 days: the abandon rate's compliance windows), calls up now, leads left, agents."""

    #: the end of the 24 h and 30-day windows
    at: UtcDateTime
    id: int
    name: str
    title: str
    status: CampaignStatus
    mode: str
    pacing_ratio: float
    dialled_24h: int
    answered_24h: int
    abandoned_24h: int
    #: abandoned / answered by a person, in percent (None: nobody answered yet)
    abandon_percent_24h: float | None
    abandon_percent_30d: float | None
    abandon_cap_percent: float
    calls_up: int
    outcomes: dict[str, int]
    leads: dict[str, int]
    lists: list[dict[str, Any]]
    agents: list[AgentFigure]


class PreviewOut(OutModel):
    """A lead claimed for an operator's preview: dial it or skip it."""

    attempt_id: int
    phone: str
    contact_id: int | None
    #: this is the lead's n-th attempt
    attempt: int
