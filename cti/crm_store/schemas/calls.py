"""The call log as the API reads it: one call, the search filters, the disposition."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cti.crm_store.schemas.common import InModel, OutModel, PageParams
from cti.crm_store.timeutil import UtcDateTime

Status = Literal["answered", "missed", "abandoned", "busy", "no-answer", "failed"]
DirectionIn = Literal["inbound", "outbound", "internal"]


class CallOut(OutModel):
    id: int
    pbx: str
    linkedid: str
    direction: str
    from_number: str | None
    from_name: str | None
    to_number: str | None
    external_number: str | None
    queue: str | None
    agents_rung: list[str]
    agent: str | None
    agent_user_id: int | None
    status: str
    started_at: UtcDateTime | None
    answered_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    ring_seconds: float | None
    talk_seconds: float | None
    hangup_cause: int | None
    transfers: list[dict[str, Any]]
    originate_action_id: str | None
    originate_variables: dict[str, str] | None
    account: str | None
    campaign: str | None
    recording: str | None
    contact_id: int | None
    partial: bool
    disposition: str | None
    clock: str | None
    answered_by: str | None
    ivr_seconds: float | None
    queue_wait_seconds: float | None
    hold_seconds: float | None


class RingOut(OutModel):
    """One agent's phone ringing for the call."""

    agent: str
    started_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    seconds: float | None
    answered: bool


class TalkOut(OutModel):
    """One agent's part of the call (a transferred call has one per agent)."""

    agent: str
    started_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    seconds: float | None
    hold_seconds: float | None


class CallDetailOut(CallOut):
    """One call with its rings and each agent's part."""

    rings: list[RingOut]
    talks: list[TalkOut]


class CallFilter(PageParams):
    """Query filters of ``GET /api/calls`` (all optional, combined with AND)."""

    number: str | None = Field(default=None, max_length=64)
    agent: str | None = Field(default=None, max_length=32, pattern=r"^[\w.+*#@/\-]+$")
    status: Status | None = None
    direction: DirectionIn | None = None
    campaign: str | None = Field(default=None, max_length=80)
    pbx: str | None = Field(default=None, max_length=64)
    since: UtcDateTime | None = Field(default=None, alias="from")
    until: UtcDateTime | None = Field(default=None, alias="to")

    model_config = InModel.model_config | {"populate_by_name": True}

    @field_validator("number")
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        if value is not None and not any(c.isdigit() for c in value):
            raise ValueError("must contain digits")
        return value

    @model_validator(mode="after")
    def _range(self) -> CallFilter:
        if self.since and self.until and self.since > self.until:
            raise ValueError("'from' is after 'to'")
        return self


class DispositionIn(InModel):
    disposition: str | None = Field(max_length=64)

    @field_validator("disposition")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c in value for c in "\r\n\x00")):
            raise ValueError("must be one non-empty line")
        return value
