"""Survey responses and answers as the API, the service and the results read them."""

from __future__ import annotations

from typing import Any, Literal

from cti.crm_store.schemas.common import OutModel
from cti.crm_store.timeutil import UtcDateTime

ResponseStatus = Literal["in_progress", "complete", "partial"]
Mode = Literal["operator", "keypad"]


class ResponseOut(OutModel):
    id: int
    call_key: str
    pbx: str | None
    call_id: int | None
    campaign_id: int | None
    list_id: int | None
    attempt_id: int | None
    contact_id: int | None
    script_name: str
    script_version: str
    mode: Mode
    agent: str | None
    agent_user_id: int | None
    status: ResponseStatus
    stopped_at: str | None
    started_at: UtcDateTime
    ended_at: UtcDateTime | None


class AnswerOut(OutModel):
    question_id: str
    value: Any
    raw: str | None
    answered_at: UtcDateTime
    answered_by: str | None
    updated_at: UtcDateTime
