"""Time zones and call windows: whose local time counts, when all of a lead's zones are open,
and the earliest instant they all are (exact across daylight-saving changes)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cti.dialer.campaign_file import Window
from cti.dialer.windows import lead_zones, next_open, number_zones, window_open

RU_MOBILE = "+79161234567"
VLADIVOSTOK_LANDLINE = "+74232000000"
WEEKDAYS_9_20 = (Window.model_validate({"from": "09:00", "to": "20:00"}),)


def w(start: str, end: str, days: tuple[str, ...] | None = None) -> Window:
    data: dict[str, Any] = {"from": start, "to": end}
    if days is not None:
        data["days"] = days
    return Window.model_validate(data)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- whose zones ---------------------------------------------------------------------------


def test_a_russian_mobile_maps_to_many_zones_and_all_of_them_count() -> None:
    zones, rule = lead_zones(RU_MOBILE, None, None)
    assert rule == "all"
    assert len(zones) >= 10
    assert {"Europe/Moscow", "Asia/Vladivostok", "Asia/Kamchatka"} <= set(zones)


@pytest.mark.parametrize(
    ("phone", "contact_tz", "default_tz", "expected"),
    [
        # a contact's own zone wins over the number and the campaign default
        (RU_MOBILE, "Asia/Vladivostok", "Europe/Moscow", (("Asia/Vladivostok",), "contact")),
        (VLADIVOSTOK_LANDLINE, "Europe/Moscow", None, (("Europe/Moscow",), "contact")),
        # one zone: as is, even when the campaign names a default
        (VLADIVOSTOK_LANDLINE, None, "Europe/Moscow", (("Asia/Vladivostok",), "number")),
        ("+442071234567", None, None, (("Europe/London",), "number")),
        # several zones: the campaign default replaces them
        (RU_MOBILE, None, "Europe/Moscow", (("Europe/Moscow",), "default")),
        # a contact zone that is not a zone is ignored
        (VLADIVOSTOK_LANDLINE, "Mars/Olympus", None, (("Asia/Vladivostok",), "number")),
        # no zone known: the default, else none at all
        ("+80012345678", None, "Europe/Berlin", (("Europe/Berlin",), "default")),
        ("+80012345678", None, None, ((), "unknown")),
        ("not a number", None, None, ((), "unknown")),
    ],
)
def test_zone_rules(
    phone: str,
    contact_tz: str | None,
    default_tz: str | None,
    expected: tuple[tuple[str, ...], str],
) -> None:
    assert lead_zones(phone, contact_tz, default_tz) == expected


def test_number_zones_never_include_the_unknown_placeholder() -> None:
    assert number_zones("+80012345678") == ()
    assert number_zones(VLADIVOSTOK_LANDLINE) == ("Asia/Vladivostok",)


# --- open now ------------------------------------------------------------------------------


def test_a_contact_in_vladivostok_is_not_called_at_three_in_the_morning() -> None:
    zones, _ = lead_zones(VLADIVOSTOK_LANDLINE, None, None)
    three_am_local = utc(2026, 12, 7, 17, 0)  # Monday 17:00 UTC = Tuesday 03:00 UTC+10
    assert not window_open(WEEKDAYS_9_20, zones, three_am_local)
    # although it is office hours in Moscow (20:00 there is closed; 17:00 UTC = 20:00 MSK)
    assert window_open(WEEKDAYS_9_20, ("Europe/Moscow",), utc(2026, 12, 7, 16, 59))
    assert next_open(WEEKDAYS_9_20, zones, three_am_local) == utc(2026, 12, 7, 23, 0)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (utc(2026, 12, 7, 6, 0), True),  # Monday 09:00 MSK: from is included
        (utc(2026, 12, 7, 5, 59), False),
        (utc(2026, 12, 7, 17, 0), False),  # 20:00 MSK: to is not included
        (utc(2026, 12, 5, 10, 0), False),  # Saturday
        (datetime(2026, 12, 7, 12, 0), True),  # naive: taken as UTC
    ],
)
def test_window_edges_and_weekdays(moment: datetime, is_open: bool) -> None:
    assert window_open(WEEKDAYS_9_20, ("Europe/Moscow",), moment) is is_open


def test_several_windows_a_day_and_different_days() -> None:
    windows = (
        w("09:00", "12:00"),
        w("14:00", "18:00"),
        w("11:00", "15:00", ("sat",)),
    )
    zone = ("Europe/London",)  # GMT in December
    assert window_open(windows, zone, utc(2026, 12, 7, 11, 59))
    assert not window_open(windows, zone, utc(2026, 12, 7, 12, 0))  # lunch
    assert next_open(windows, zone, utc(2026, 12, 7, 12, 30)) == utc(2026, 12, 7, 14, 0)
    # Friday evening → Saturday 11:00
    assert next_open(windows, zone, utc(2026, 12, 11, 18, 0)) == utc(2026, 12, 12, 11, 0)
    # Saturday after the window → Monday 09:00
    assert next_open(windows, zone, utc(2026, 12, 12, 15, 0)) == utc(2026, 12, 14, 9, 0)


def test_no_zones_or_an_unknown_zone_is_never_open() -> None:
    now = utc(2026, 12, 7, 12, 0)
    assert not window_open(WEEKDAYS_9_20, (), now)
    assert next_open(WEEKDAYS_9_20, (), now) is None
    assert not window_open(WEEKDAYS_9_20, ("Mars/Olympus",), now)
    assert next_open(WEEKDAYS_9_20, ("Europe/Moscow", "Mars/Olympus"), now) is None


# --- a mobile with many zones waits for all ------------------------------------------------


def test_an_ambiguous_mobile_waits_until_the_window_is_open_in_all_its_zones() -> None:
    zones, rule = lead_zones(RU_MOBILE, None, None)
    assert rule == "all"
    monday_noon_moscow = utc(2026, 12, 7, 9, 0)
    assert window_open(WEEKDAYS_9_20, ("Europe/Moscow",), monday_noon_moscow)
    assert not window_open(WEEKDAYS_9_20, zones, monday_noon_moscow)  # 21:00 in Kamchatka
    at = next_open(WEEKDAYS_9_20, zones, monday_noon_moscow)
    assert at is not None
    assert at > monday_noon_moscow
    assert window_open(WEEKDAYS_9_20, zones, at)
    assert not window_open(WEEKDAYS_9_20, zones, at - timedelta(minutes=1))
    for zone in zones:  # open in each zone at that instant, 09:00–20:00 local
        assert window_open(WEEKDAYS_9_20, (zone,), at)
    # with the campaign's default zone the same number is due at once
    zones, rule = lead_zones(RU_MOBILE, None, "Europe/Moscow")
    assert next_open(WEEKDAYS_9_20, zones, monday_noon_moscow) == monday_noon_moscow


def test_zones_too_far_apart_for_the_windows_never_open() -> None:
    zones, _ = lead_zones(RU_MOBILE, None, None)
    narrow = (w("10:00", "17:00"),)  # Kaliningrad and Kamchatka never share 7 hours
    assert next_open(narrow, zones, utc(2026, 12, 7, 0, 0)) is None


# --- daylight saving -----------------------------------------------------------------------


def test_spring_forward_opens_when_the_clock_jumps_into_the_window() -> None:
    # London, Sunday 29 March 2026: 01:00 GMT becomes 02:00 BST; 01:30 never happens
    windows = (w("01:30", "03:00", ("sun",)),)
    zone = ("Europe/London",)
    assert next_open(windows, zone, utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 1, 0)
    assert not window_open(windows, zone, utc(2026, 3, 29, 0, 59))  # 00:59 GMT


def test_the_same_wall_clock_hour_is_an_hour_earlier_in_utc_after_spring_forward() -> None:
    zone = ("Europe/London",)
    assert next_open(WEEKDAYS_9_20, zone, utc(2026, 3, 27, 5, 0)) == utc(2026, 3, 27, 9, 0)
    assert next_open(WEEKDAYS_9_20, zone, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 8, 0)


def test_fall_back_the_repeated_hour_opens_twice() -> None:
    # London, Sunday 25 October 2026: 02:00 BST becomes 01:00 GMT; 01:30 happens twice
    windows = (w("01:30", "01:45", ("sun",)),)
    zone = ("Europe/London",)
    assert window_open(windows, zone, utc(2026, 10, 25, 0, 40))  # 01:40 BST
    assert next_open(windows, zone, utc(2026, 10, 25, 0, 50)) == utc(2026, 10, 25, 1, 30)


def test_a_zone_without_daylight_saving_next_to_one_with_it() -> None:
    # New York moves to EDT on 8 March 2026; Phoenix stays on MST (UTC-7)
    zones = ("America/New_York", "America/Phoenix")
    friday = utc(2026, 3, 6, 3, 0)  # Thursday 22:00 EST
    monday = utc(2026, 3, 9, 3, 0)  # Sunday 23:00 EDT
    # before: 09:00 MST = 16:00 UTC (11:00 EST); after: the same (12:00 EDT)
    assert next_open(WEEKDAYS_9_20, zones, friday) == utc(2026, 3, 6, 16, 0)
    assert next_open(WEEKDAYS_9_20, zones, monday) == utc(2026, 3, 9, 16, 0)
    # closing: 20:00 EST = 01:00 UTC before; 20:00 EDT = 00:00 UTC after
    assert window_open(WEEKDAYS_9_20, zones, utc(2026, 3, 6, 0, 30))  # Thu 19:30 EST
    assert not window_open(WEEKDAYS_9_20, zones, utc(2026, 3, 10, 0, 30))  # Mon 20:30 EDT


# --- next_open agrees with a minute-by-minute search ---------------------------------------

ZONE_POOL = (
    "Europe/London",
    "Europe/Moscow",
    "America/New_York",
    "America/Phoenix",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Vladivostok",
    "Pacific/Chatham",
)


def brute_next_open(windows: tuple[Window, ...], zones: tuple[str, ...], now: datetime) -> Any:
    t = now
    if window_open(windows, zones, t):
        return t
    t = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = now + timedelta(days=8)
    while t <= end:
        if window_open(windows, zones, t):
            return t
        t += timedelta(minutes=1)
    return None


@pytest.mark.parametrize("seed", range(8))
def test_next_open_matches_a_minute_by_minute_search(seed: int) -> None:
    rnd = random.Random(seed)
    zones = tuple(rnd.sample(ZONE_POOL, rnd.randint(1, 3)))
    windows = []
    for _ in range(rnd.randint(1, 3)):
        start = rnd.randrange(0, 22 * 60, 15)
        end = rnd.randrange(start + 15, 24 * 60, 15)
        days = tuple(sorted(rnd.sample(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], 3)))
        windows.append(
            w(f"{start // 60:02}:{start % 60:02}", f"{end // 60:02}:{end % 60:02}", days)
        )
    # around the northern spring change and the southern autumn one (first Sunday of April)
    now = utc(2026, 3, 27, 0, 0) + timedelta(minutes=rnd.randrange(0, 10 * 1440), seconds=17)
    expected = brute_next_open(tuple(windows), zones, now)
    assert next_open(tuple(windows), zones, now) == expected
