"""Periods and clocks in a time zone (pure): a report's local period as UTC instants, UTC
buckets placed on local days and hours, business hours and holidays for the SLA clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cti.errors import ValidationError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _invalid(field: str, reason: str) -> ValidationError:
    return ValidationError(
        f"invalid field(s): {field}: {reason}", details={"fields": {field: reason}}
    )


def zone(name: str, field: str = "tz") -> ZoneInfo:
    """The IANA zone ``name``; a 422-style error naming ``field`` when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid(field, f"unknown time zone {name!r} (an IANA name: Europe/Moscow)") from None


@dataclass(frozen=True, slots=True)
class Period:
    """Local days ``first`` … ``last`` (inclusive) in ``tz``, and the UTC instants they span
    (``since`` inclusive, ``until`` exclusive): a DST day is 23 or 25 hours long."""

    first: date
    last: date
    tz: ZoneInfo

    @property
    def since(self) -> datetime:
        return local_midnight(self.first, self.tz)

    @property
    def until(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1), self.tz)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local day starts (a midnight skipped by DST: the first moment)."""
    local = datetime.combine(day, time(0), tzinfo=tz)
    return local.astimezone(UTC)


def period(first: date, last: date, tz: ZoneInfo, max_days: int = 400) -> Period:
    """A checked period: ``last`` not before ``first``, at most ``max_days`` days."""
    if last < first:
        raise _invalid("to", "before from")
    if (last - first).days + 1 > max_days:
        raise _invalid("to", f"a period of at most {max_days} days")
    return Period(first, last, tz)


def _offset(tz: ZoneInfo, moment: datetime) -> int:
    return int((moment.astimezone(tz).utcoffset() or timedelta(0)).total_seconds())


def offset_spans(
    tz: ZoneInfo, since: datetime, until: datetime
) -> list[tuple[datetime, datetime, int]]:
    """[since, until) cut where ``tz``'s UTC offset changes: (start, end, offset seconds).
    Within a span, local time is UTC plus one constant offset, so the store can group by
    local day or hour with plain arithmetic (exact for any zone, DST and :30 offsets too)."""
    spans: list[tuple[datetime, datetime, int]] = []
    start, offset = since, _offset(tz, since)
    day = timedelta(days=1)
    cursor = since
    while cursor < until:
        step = min(cursor + day, until)
        if _offset(tz, step) != offset:
            lo, hi = cursor, step  # the change is in (lo, hi]: find its second
            while (hi - lo) > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if _offset(tz, mid) == offset:
                    lo = mid
                else:
                    hi = mid
            change = hi.replace(microsecond=0)
            if start < change < until:
                spans.append((start, change, offset))
                start, offset = change, _offset(tz, change)
            step = max(change, cursor + timedelta(seconds=1))
        cursor = step
    spans.append((start, until, offset))
    return spans


# -- business hours -------------------------------------------------------------------------


def parse_hours(spec: Mapping[str, str]) -> dict[int, tuple[time, time]]:
    """``{"mon": "09:00-18:00", …}`` → weekday (0 = Monday) → (open, close)."""
    out: dict[int, tuple[time, time]] = {}
    for day, hours in spec.items():
        if day not in WEEKDAYS:
            raise ValueError(f"business_hours: {day!r} is not one of {', '.join(WEEKDAYS)}")
        start, sep, end = hours.partition("-")
        try:
            opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        except ValueError:
            raise ValueError(f"business_hours.{day}: {hours!r}: use HH:MM-HH:MM") from None
        if not sep or closes <= opens:
            raise ValueError(f"business_hours.{day}: {hours!r}: use HH:MM-HH:MM, open < close")
        out[WEEKDAYS.index(day)] = (opens, closes)
    return out


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When the SLA clock runs: working hours per weekday, minus holidays, in ``tz``.
    No hours at all: the clock always runs."""

    hours: Mapping[int, tuple[time, time]]
    holidays: frozenset[date]
    tz: ZoneInfo

    @classmethod
    def of(cls, hours: Mapping[str, str], holidays: Iterable[str], tz: str) -> BusinessCalendar:
        return cls(parse_hours(hours), frozenset(map(date.fromisoformat, holidays)), ZoneInfo(tz))

    @property
    def always(self) -> bool:
        return not self.hours

    def _windows(self, day: date) -> tuple[datetime, datetime] | None:
        if day in self.holidays or day.weekday() not in self.hours:
            return None
        opens, closes = self.hours[day.weekday()]
        return (
            datetime.combine(day, opens, tzinfo=self.tz).astimezone(UTC),
            datetime.combine(day, closes, tzinfo=self.tz).astimezone(UTC),
        )

    def add(self, start: datetime, hours: float, max_days: int = 3660) -> datetime:
        """The moment ``hours`` of business time after ``start``."""
        if self.always:
            return start + timedelta(hours=hours)
        left = timedelta(hours=hours)
        day = start.astimezone(self.tz).date()
        for _ in range(max_days):
            window = self._windows(day)
            if window is not None:
                begin, end = max(window[0], start), window[1]
                if begin < end:
                    if begin + left <= end:
                        return begin + left
                    left -= end - begin
            day += timedelta(days=1)
        return start + timedelta(hours=hours)  # no working day in ten years: wall clock
