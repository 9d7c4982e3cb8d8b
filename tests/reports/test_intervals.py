"""Interval arithmetic and calendars: unions (never sums), local days across DST, business
hours and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cti.errors import ValidationError
from cti.reports import intervals
from cti.reports.calendar import (
    BusinessCalendar,
    Period,
    offset_spans,
    parse_hours,
    period,
    zone,
)

T = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def h(a: float, b: float) -> intervals.Interval:
    return (T + timedelta(hours=a), T + timedelta(hours=b))


def test_merge_takes_the_union() -> None:
    assert intervals.merge([h(2, 3), h(0, 1), h(0.5, 2), h(5, 5)]) == [h(0, 3)]
    assert intervals.seconds([h(0, 1), h(0, 1), h(0.5, 1.5)]) == 1.5 * 3600


def test_clip_and_intersect() -> None:
    assert intervals.clip([h(0, 4), h(5, 6)], *h(1, 5.5)) == [h(1, 4), h(5, 5.5)]
    assert intervals.intersect([h(0, 2), h(3, 5)], [h(1, 4)]) == [h(1, 2), h(3, 4)]


def test_by_day_splits_at_local_midnights_of_a_dst_day() -> None:
    paris = ZoneInfo("Europe/Paris")
    # 28 March 22:00 UTC (23:00 Paris) to 29 March 23:30 UTC (01:30 on the 30th, summer time)
    start = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    end = datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    days = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    got = intervals.by_day([(start, end)], days, paris)
    assert got == {days[0]: 3600.0, days[1]: 23 * 3600.0, days[2]: 1.5 * 3600}


def test_a_period_is_checked_and_zones_are_named() -> None:
    with pytest.raises(ValidationError, match="to"):
        period(date(2026, 5, 2), date(2026, 5, 1), ZoneInfo("UTC"))
    with pytest.raises(ValidationError, match="tz"):
        zone("Mars/Olympus")
    p = Period(date(2026, 5, 1), date(2026, 5, 3), ZoneInfo("Asia/Kolkata"))
    assert p.since == datetime(2026, 4, 30, 18, 30, tzinfo=UTC)
    assert offset_spans(p.tz, p.since, p.until) == [(p.since, p.until, 19800)]


def test_offset_spans_cut_at_the_dst_changes() -> None:
    paris = ZoneInfo("Europe/Paris")
    since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    spring, autumn = datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)
    assert offset_spans(paris, since, until) == [
        (since, spring, 3600),
        (spring, autumn, 7200),
        (autumn, until, 3600),
    ]
    # a span ending exactly at a change has one offset
    assert offset_spans(paris, since, spring) == [(since, spring, 3600)]
    assert offset_spans(ZoneInfo("UTC"), since, until) == [(since, until, 0)]


def test_business_hours_pause_the_clock_overnight_weekends_and_holidays() -> None:
    cal = BusinessCalendar.of(
        {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        ["2026-05-05"],
        "Europe/Moscow",
    )
    monday_5pm = datetime(2026, 5, 4, 14, 0, tzinfo=UTC)  # 17:00 in Moscow
    # 1 h left on Monday, Tuesday a holiday, then 3 h on Wednesday: 12:00 Moscow
    assert cal.add(monday_5pm, 4) == datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
    friday_evening = datetime(2026, 5, 8, 16, 0, tzinfo=UTC)  # 19:00 Friday: closed
    assert cal.add(friday_evening, 1) == datetime(2026, 5, 11, 7, 0, tzinfo=UTC)
    always = BusinessCalendar.of({}, [], "UTC")
    assert always.add(T, 5) == T + timedelta(hours=5)


def test_business_hours_are_validated() -> None:
    with pytest.raises(ValueError, match="mon"):
        parse_hours({"mon": "18:00-09:00"})
    with pytest.raises(ValueError, match="funday"):
        parse_hours({"funday": "09:00-18:00"})
