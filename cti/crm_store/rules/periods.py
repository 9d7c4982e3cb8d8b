"""Periods in a chosen time zone: a day range read as its local midnights, in UTC.

A manager in Vladivostok asking for "1 to 7 March" means from 1 March 00:00 there until
8 March 00:00 there; the store keeps UTC, so the bounds are converted once here (a day that
has a DST change is 23 or 25 hours long, as it was lived).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def day_start(day: date, zone: str) -> datetime:
    """Local midnight at the start of ``day`` in ``zone``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def day_range(
    first: date | None, last: date | None, zone: str
) -> tuple[datetime | None, datetime | None]:
    """``[first 00:00, last + 1 day 00:00)`` in ``zone``, as UTC bounds (None: open)."""
    since = day_start(first, zone) if first is not None else None
    until = day_start(last + timedelta(days=1), zone) if last is not None else None
    return since, until
