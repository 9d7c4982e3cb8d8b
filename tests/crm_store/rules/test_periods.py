"""Day ranges in a time zone: local midnights in UTC, a DST day as long as it was lived."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cti.crm_store.rules.periods import day_range


def test_days_are_read_at_local_midnight() -> None:
    since, until = day_range(date(2026, 3, 2), date(2026, 3, 2), "Asia/Vladivostok")
    assert since == datetime(2026, 3, 1, 14, 0, tzinfo=UTC)  # UTC+10
    assert until == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def test_a_day_with_a_dst_change_has_its_own_length() -> None:
    since, until = day_range(date(2026, 3, 29), date(2026, 3, 29), "Europe/Berlin")
    assert since is not None and until is not None
    assert until - since == timedelta(hours=23)  # clocks went forward
    since, until = day_range(date(2026, 10, 25), date(2026, 10, 25), "Europe/Berlin")
    assert since is not None and until is not None
    assert until - since == timedelta(hours=25)


def test_open_ends_stay_open() -> None:
    assert day_range(None, date(2026, 3, 2), "UTC") == (
        None,
        datetime(2026, 3, 3, tzinfo=UTC),
    )
    assert day_range(None, None, "UTC") == (None, None)
