"""Validated shapes of contacts, companies and their phones (services and REST share them).

Phone numbers are checked against the store's default region by the services (the region is
configuration, not schema), which raise :class:`cti.errors.ValidationError` naming the field
(``phones[1].number``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from cti.crm_store.schemas.common import Flag, Id, InModel, OutModel
from cti.crm_store.timeutil import UtcDateTime

PhoneKind = Literal["mobile", "work", "home", "other"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TAGS = 50


def check_email(value: str) -> str:
    """Lower-cased e-mail, or ValueError (pydantic turns it into a field error)."""
    value = value.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("not a valid e-mail address")
    return value


def check_time_zone(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _check_tag(value: str) -> str:
    tag = value.strip()
    if not tag or len(tag) > 64:
        raise ValueError("a tag is 1 to 64 characters")
    return tag


Email = Annotated[str, AfterValidator(check_email)]
Tag = Annotated[str, AfterValidator(_check_tag)]


def _unique(values: list[str] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(values))


class PhoneIn(InModel):
    number: str = Field(min_length=1, max_length=64)
    kind: PhoneKind = "mobile"


class PhoneOut(OutModel):
    id: int
    raw: str
    e164: str | None
    kind: str


class _ContactFields(InModel):
    @field_validator("emails", "tags", check_fields=False)
    @classmethod
    def _dedupe(cls, value: list[str] | None) -> list[str] | None:
        return _unique(value)

    @field_validator("time_zone", check_fields=False)
    @classmethod
    def _check_tz(cls, value: str | None) -> str | None:
        return check_time_zone(value)


class ContactIn(_ContactFields):
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100, validate_default=True)
    company_id: Id | None = None
    emails: list[Email] = Field(default_factory=list, max_length=20)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    notes: str | None = Field(default=None, max_length=10_000)
    owner_id: Id | None = None
    #: IANA zone; derived from the first phone when not given
    time_zone: str | None = None
    do_not_call: Flag = False
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)

    @field_validator("last_name")
    @classmethod
    def _needs_a_name(cls, value: str, info: ValidationInfo) -> str:
        if not value and not info.data.get("first_name"):
            raise ValueError("first_name or last_name is required")
        return value


class ContactPatch(_ContactFields):
    """Only the fields given change; ``emails``/``phones``/``tags`` replace the whole list."""

    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company_id: Id | None = None
    emails: list[Email] | None = Field(default=None, max_length=20)
    phones: list[PhoneIn] | None = Field(default=None, max_length=20)
    notes: str | None = Field(default=None, max_length=10_000)
    owner_id: Id | None = None
    time_zone: str | None = None
    do_not_call: Flag | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)


class ContactOut(OutModel):
    id: int
    first_name: str
    last_name: str
    name: str
    company_id: int | None
    company_name: str | None
    emails: list[str]
    phones: list[PhoneOut]
    notes: str | None
    owner_id: int | None
    time_zone: str | None
    do_not_call: bool
    tags: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CompanyIn(InModel):
    name: str = Field(min_length=1, max_length=200)
    website: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=10_000)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)


class CompanyPatch(InModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    website: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=10_000)
    phones: list[PhoneIn] | None = Field(default=None, max_length=20)


class CompanyOut(OutModel):
    id: int
    name: str
    website: str | None
    notes: str | None
    phones: list[PhoneOut]
    created_at: UtcDateTime
    updated_at: UtcDateTime
