"""UTC helpers: SQLite hands back naive datetimes, PostgreSQL aware ones; compare them safely."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def as_utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


#: a datetime that always leaves the store (and enters it) as aware UTC
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
