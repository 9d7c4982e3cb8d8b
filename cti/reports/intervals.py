"""Interval arithmetic for agent sessions (pure): union, clipping, totals, per local day.

Sessions overlap (several queues, the same pause seen by the PBX and by the page), so
every total is the length of the union of the intervals, never a sum of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cti.reports.calendar import local_midnight

Interval = tuple[datetime, datetime]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union as sorted, disjoint intervals (empty ones dropped)."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def clip(intervals: Iterable[Interval], since: datetime, until: datetime) -> list[Interval]:
    """The parts of ``intervals`` within [since, until)."""
    return [(max(s, since), min(e, until)) for s, e in intervals if e > since and s < until]


def seconds(intervals: Iterable[Interval]) -> float:
    """The length of the union, in seconds."""
    return sum((e - s).total_seconds() for s, e in merge(intervals))


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The union of ``a`` within the union of ``b``."""
    left, right = merge(a), merge(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def by_day(intervals: Iterable[Interval], days: Iterable[date], tz: ZoneInfo) -> dict[date, float]:
    """Seconds of the union on each local day of ``days`` (split at local midnights)."""
    union = merge(intervals)
    out: dict[date, float] = {}
    for day in days:
        start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        out[day] = seconds(clip(union, start, end))
    return out
