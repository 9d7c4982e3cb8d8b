"""Time zones and call windows: which zones a lead's local time is read in, and when a
campaign's windows are open in all of them.

Pure: every function takes ``now``; naive datetimes are taken to be UTC (SQLite hands them
back so), aware ones are used as they are. Local times come from ``zoneinfo``, so daylight
saving is exact: an instant is open when its wall-clock time in each zone falls inside a
window for that local weekday.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_timezone

from cti.dialer.campaign_file import WEEKDAYS, Window

#: which rule gave a lead its zones (``Lead.zone_rule``, at most 8 characters):
#: ``contact`` the contact's own zone; ``number`` the one zone of the number; ``all`` every
#: zone of a number that maps to several; ``default`` the campaign's ``default_time_zone``
#: for a number with several or no zones; ``unknown`` no zone at all (never dialled: the
#: list import reports these so a supervisor can name a default zone)
ZoneRule = Literal["contact", "number", "all", "default", "unknown"]
#: how far ahead ``next_open`` looks: a week of windows and a day to spare
SEARCH = timedelta(days=8)
_UNKNOWN = "Etc/Unknown"


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def number_zones(phone_e164: str) -> tuple[str, ...]:
    """The IANA zones phonenumbers knows for a number (empty when it knows none)."""
    try:
        parsed = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = number_timezone.time_zones_for_number(parsed)
    return tuple(sorted(z for z in zones if z != _UNKNOWN and _zone(z) is not None))


def lead_zones(
    phone_e164: str, contact_tz: str | None, default_tz: str | None
) -> tuple[tuple[str, ...], ZoneRule]:
    """The zones a lead's window must be open in, and the rule that gave them.

    A contact's own (valid) zone wins. Else the number's: one zone as is; several (a Russian
    mobile maps to 16, Kaliningrad to Kamchatka) all of them, unless the campaign names a
    default zone for such numbers; none: the campaign default, else no zone (``unknown``:
    the lead is never in a window, rather than called at an unknown local hour).
    """
    if contact_tz and _zone(contact_tz) is not None:
        return (contact_tz,), "contact"
    zones = number_zones(phone_e164)
    if len(zones) == 1:
        return zones, "number"
    if default_tz and _zone(default_tz) is not None:
        return (default_tz,), "default"
    if zones:
        return zones, "all"
    return (), "unknown"


def _open_at_local(windows: Sequence[Window], local: datetime) -> bool:
    day = WEEKDAYS[local.weekday()]
    clock = local.time().replace(tzinfo=None)
    return any(day in w.days and w.start <= clock < w.end for w in windows)


def window_open(windows: Sequence[Window], zones: Iterable[str], now: datetime) -> bool:
    """Whether ``now`` is inside a window in every one of ``zones`` (no zones: never)."""
    moment = _utc(now)
    names = tuple(zones)
    if not names:
        return False
    for name in names:
        tz = _zone(name)
        if tz is None or not _open_at_local(windows, moment.astimezone(tz)):
            return False
    return True


def _offset_changes(tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in (start, end] where ``tz``'s UTC offset changes (offsets change on a
    whole minute: found by bisection over whole minutes)."""
    base = start.replace(second=0, microsecond=0)
    total = int((end - base).total_seconds() // 60) + 1
    out: list[datetime] = []

    def offset(minute: int) -> timedelta | None:
        return (base + timedelta(minutes=minute)).astimezone(tz).utcoffset()

    step = 6 * 60
    for lo in range(0, total, step):
        hi = min(lo + step, total)
        a, b = lo, hi
        if offset(a) == offset(b):
            continue
        before = offset(a)
        while b - a > 1:  # offset(a) == before != offset(b)
            mid = (a + b) // 2
            if offset(mid) == before:
                a = mid
            else:
                b = mid
        out.append(base + timedelta(minutes=b))
    return out


def _openings(windows: Sequence[Window], tz: ZoneInfo, start: datetime) -> set[datetime]:
    """Instants at which ``tz`` may go from closed to open after ``start``: each window's
    start on each local day (both readings of an ambiguous wall time), and each change of
    offset (a clock that jumps forward can land inside a window)."""
    end = start + SEARCH
    first: date = start.astimezone(tz).date() - timedelta(days=1)
    starts: set[time] = {w.start for w in windows}
    out: set[datetime] = set(_offset_changes(tz, start, end))
    for n in range(SEARCH.days + 3):
        day = first + timedelta(days=n)
        if not any(WEEKDAYS[day.weekday()] in w.days for w in windows):
            continue
        for clock in starts:
            for fold in (0, 1):
                local = datetime.combine(day, clock, tzinfo=tz).replace(fold=fold)
                out.add(local.astimezone(UTC))
    return {t for t in out if start < t <= end}


def next_open(windows: Sequence[Window], zones: Iterable[str], now: datetime) -> datetime | None:
    """The earliest instant at or after ``now`` (in UTC) when the windows are open in all
    ``zones``; ``None`` when that does not happen within 8 days (no zones, an unknown zone,
    or zones too far apart for the windows to overlap).

    The answer is exact: the set of zones is only open at ``now`` or at an instant where one
    zone opens, so those instants are the only candidates checked.
    """
    moment = _utc(now)
    names = tuple(zones)
    tzs = [tz for tz in (_zone(n) for n in names) if tz is not None]
    if not names or len(tzs) != len(names):
        return None
    if window_open(windows, names, moment):
        return moment
    candidates: set[datetime] = set()
    for tz in tzs:
        candidates |= _openings(windows, tz, moment)
    for candidate in sorted(candidates):
        if window_open(windows, names, candidate):
            return candidate
    return None
