"""UTC helpers: SQLite hands back naive datetimes, PostgreSQL aware ones; compare them safely."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def as_utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _iso_only(value: Any) -> Any:
    """Text in ISO 8601 (date and time); pydantic would also read ``0.5`` or ``"1700000000"``
    as seconds since 1970, which no client means."""
    if isinstance(value, str) and not _ISO.match(value):
        raise ValueError("must be an ISO 8601 date and time, e.g. 2026-05-01T09:30:00Z")
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date and time text, not a number")
    return value


#: a datetime that always enters and leaves the store as aware UTC: naive values (SQLite's)
#: are UTC, and a value set without validation (``model_copy``) is converted when dumped
UtcDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(as_utc),
    PlainSerializer(as_utc, return_type=datetime),
]
