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
    """ISO 8601 text (date and time) read here; pydantic would also read ``0.5`` or
    ``"1700000000"`` as seconds since 1970, which no client means, and a strict (body)
    validation would refuse the text itself."""
    if isinstance(value, str):
        if not _ISO.match(value):
            raise ValueError("must be an ISO 8601 date and time, e.g. 2026-05-01T09:30:00Z")
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("not a valid ISO 8601 date and time") from None
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date and time text, not a number")
    return value


def aware_only(value: Any) -> Any:
    """Refuse a time without its UTC offset (``2026-03-01T10:00``: whose ten o'clock?);
    malformed text is left for the ISO check to name."""
    parsed = value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        raise ValueError("needs its UTC offset (Z or +03:00), or use day_from/day_to with tz")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return as_utc(value)
    except OverflowError:  # 0001-01-01T00:00+05:00 is in year 0 in UTC
        raise ValueError("out of range once converted to UTC") from None


#: a datetime that always enters and leaves the store as aware UTC: naive values (SQLite's)
#: are UTC, and a value set without validation (``model_copy``) is converted when dumped
UtcDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(_in_utc),
    PlainSerializer(as_utc, return_type=datetime),
]
