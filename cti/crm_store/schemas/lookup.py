"""The caller-ID lookup's answer: a status and ranked candidates."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from cti.crm_store.timeutil import UtcDateTime

MatchStatus = Literal["exact", "partial", "multiple", "none"]


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact_id: int | None
    name: str | None
    company_id: int | None
    company_name: str | None
    phones: list[str]
    matched_phone: str
    score: float
    #: recent activity, filled when several contacts share the number (what ranks them)
    last_call_at: UtcDateTime | None = None
    open_deals: int = 0
    open_tickets: int = 0


class Match(BaseModel):
    """The answer for one number: ``status`` and the candidates, best first."""

    model_config = ConfigDict(frozen=True)

    status: MatchStatus
    number: str
    candidates: list[Candidate]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None
