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
