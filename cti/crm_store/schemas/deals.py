"""Deals: validated input, partial updates and the output shape."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from cti.crm_store.schemas.common import Id, InModel, OutModel, PageParams
from cti.crm_store.timeutil import UtcDateTime

DealStatus = Literal["open", "won", "lost"]
_CURRENCY = r"^[A-Z]{3}$"


class DealIn(InModel):
    title: str = Field(min_length=1, max_length=200)
    contact_id: Id | None = None
    company_id: Id | None = None
    #: a stage of the configured pipeline; the first stage when omitted
    stage: str | None = Field(default=None, max_length=64)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(default="USD", pattern=_CURRENCY)
    expected_close: date | None = None
    owner_id: Id | None = None
    status: DealStatus = "open"
    #: required when ``status`` is ``lost``
    lost_reason: str | None = Field(default=None, max_length=2000)


class DealPatch(InModel):
    """Only the fields sent change; ``null`` clears a nullable field."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    contact_id: Id | None = None
    company_id: Id | None = None
    stage: str | None = Field(default=None, max_length=64)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, pattern=_CURRENCY)
    expected_close: date | None = None
    owner_id: Id | None = None
    status: DealStatus | None = None
    lost_reason: str | None = Field(default=None, max_length=2000)


class DealOut(OutModel):
    id: int
    title: str
    contact_id: int | None
    company_id: int | None
    stage: str
    amount: Decimal | None
    currency: str
    expected_close: date | None
    owner_id: int | None
    status: DealStatus
    lost_reason: str | None
    closed_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class DealQuery(PageParams):
    q: str | None = Field(default=None, max_length=200, description="words in the title")
    stage: str | None = None
    status: DealStatus | None = None
    contact_id: Id | None = None
    company_id: Id | None = None
    owner_id: Id | None = None
    phone: str | None = Field(default=None, max_length=64, description="of the contact/company")
