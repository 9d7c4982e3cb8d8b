"""Pacing: the figures measured from recent attempts, how many calls each mode places, the
fallback to progressive over the abandon cap, and how the predictive ratio adapts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from cti.dialer.pacing import (
    MIN_SAMPLE,
    AttemptSample,
    Floor,
    PacingStats,
    adapt_ratio,
    calls_to_place,
    expected_free_agents,
    lines_in_flight,
    pacing_stats,
    predictive_calls,
    progressive_calls,
    still_live_chance,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def sample(
    ago: timedelta,
    *,
    live: bool = False,
    abandoned: bool = False,
    ring: float | None = 20.0,
    talk: float | None = None,
    wrap: float | None = None,
) -> AttemptSample:
    return AttemptSample(NOW - ago, live, abandoned, ring, talk, wrap)


def population(
    n: int, answer_every: int, *, ago: timedelta = timedelta(minutes=1)
) -> list[AttemptSample]:
    """``n`` attempts, one in ``answer_every`` answered by a person (10 s to answer, 90 s
    talk, 15 s wrap-up); the rest rang 20 s unanswered."""
    return [
        sample(ago, live=True, ring=10.0, talk=90.0, wrap=15.0)
        if i % answer_every == 0
        else sample(ago)
        for i in range(n)
    ]


def stats_of(samples: list[AttemptSample], minutes: float = 10) -> PacingStats:
    return pacing_stats(samples, NOW, minutes)


# --- the figures ---------------------------------------------------------------------------


def test_rates_and_means_over_the_control_window() -> None:
    samples = [
        sample(timedelta(minutes=1), live=True, ring=8.0, talk=100.0, wrap=20.0),
        sample(timedelta(minutes=2), live=True, ring=12.0, talk=80.0, wrap=10.0),
        sample(timedelta(minutes=3), live=True, abandoned=True, ring=4.0),
        sample(timedelta(minutes=4), ring=20.0),
        sample(timedelta(minutes=30), live=True, abandoned=True),  # outside 10 minutes
    ]
    s = stats_of(samples)
    assert (s.dialled, s.live, s.abandoned) == (4, 3, 1)
    assert s.answer_rate == pytest.approx(0.75)
    assert s.mean_answer_seconds == pytest.approx(8.0)  # of the calls a person answered
    assert s.mean_talk_seconds == pytest.approx(90.0)  # of the calls that reached an agent
    assert s.mean_wrap_seconds == pytest.approx(15.0)
    assert s.abandon_rate == pytest.approx(1 / 3)
    assert (s.live_24h, s.abandoned_24h) == (4, 2)
    assert s.abandon_rate_24h == pytest.approx(0.5)


def test_the_abandon_rate_counts_only_calls_a_person_answered() -> None:
    # 97 connected, 3 abandoned, and 900 unanswered or machines: 3 %, not 0.3 %
    samples = [sample(timedelta(hours=2), live=True, talk=60.0) for _ in range(97)]
    samples += [sample(timedelta(hours=2), live=True, abandoned=True) for _ in range(3)]
    samples += [sample(timedelta(hours=2)) for _ in range(900)]
    s = stats_of(samples)
    assert s.abandon_rate_24h == pytest.approx(0.03)
    assert s.abandon_rate_30d == pytest.approx(0.03)


def test_compliance_windows_are_24_hours_and_30_days() -> None:
    samples = [
        sample(timedelta(hours=23, minutes=59), live=True, abandoned=True),
        sample(timedelta(hours=24), live=True, abandoned=True),  # just outside 24 h
        sample(timedelta(days=29, hours=23), live=True),
        sample(timedelta(days=30), live=True, abandoned=True),  # just outside 30 days
        sample(-timedelta(minutes=1), live=True, abandoned=True),  # after now: ignored
    ]
    s = stats_of(samples)
    assert (s.live_24h, s.abandoned_24h) == (1, 1)
    assert (s.live_30d, s.abandoned_30d) == (3, 2)
    assert s.dialled == 0 and s.answer_rate is None and s.abandon_rate is None


def test_no_attempts_no_figures() -> None:
    s = stats_of([])
    assert s.answer_rate is None and s.abandon_rate_24h is None and s.abandon_rate_30d is None
    assert s.mean_answer_seconds is None and s.mean_talk_seconds is None


def test_naive_times_are_utc() -> None:
    naive = AttemptSample(datetime(2026, 12, 7, 11, 59), live=True, abandoned=False)
    assert stats_of([naive]).live == 1


# --- progressive ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("floor", "max_channels", "expected"),
    [
        (Floor(free_agents=5), 10, 5),
        (Floor(free_agents=5, dialing=2), 10, 3),  # already ringing for two of them
        (Floor(free_agents=5, dialing=2, waiting=1), 10, 2),
        (Floor(free_agents=2, dialing=4), 10, 0),  # never negative
        (Floor(free_agents=8, connected=6), 10, 4),  # channels cap: 6 up, 10 at most
        (Floor(free_agents=0, on_call=5, wrap_up_left=(1.0,)), 10, 0),
    ],
)
def test_progressive_one_call_per_free_agent(
    floor: Floor, max_channels: int, expected: int
) -> None:
    assert progressive_calls(floor, max_channels) == expected
    assert (
        calls_to_place(
            "progressive",
            floor,
            stats_of([]),
            ratio=2.0,
            max_channels=max_channels,
            cap_percent=3,
        )
        == expected
    )


def test_preview_places_nothing_by_itself() -> None:
    stats = stats_of(population(100, 3))
    floor = Floor(free_agents=10)
    assert calls_to_place("preview", floor, stats, ratio=2, max_channels=50, cap_percent=3) == 0


# --- predictive ----------------------------------------------------------------------------


def test_predictive_dials_ahead_by_the_ratio_up_to_the_answer_rate() -> None:
    stats = stats_of(population(100, 4))  # 25 % answered
    floor = Floor(free_agents=2)
    assert predictive_calls(floor, stats, 1.0, 100) == 2  # one per free agent
    assert predictive_calls(floor, stats, 1.5, 100) == 3
    assert predictive_calls(floor, stats, 3.0, 100) == 6
    # 1 / 0.25 = 4 calls per agent bring one answer each: never more than that
    assert predictive_calls(floor, stats, 4.0, 100) == 8
    assert predictive_calls(floor, stats, 9.0, 100) == 8
    # calls already ringing count toward it
    assert predictive_calls(Floor(free_agents=2, dialing=5), stats, 4.0, 100) == 3
    assert predictive_calls(Floor(free_agents=2, dialing=9), stats, 4.0, 100) == 0


def test_predictive_counts_wrap_ups_that_end_before_a_call_is_answered() -> None:
    # answers after 10 s (all of them: the early ones too), 90 s talk, 15 s wrap-up: an
    # agent counts if free by the early answers plus the 2 s an answered person may wait
    stats = stats_of(population(100, 4))
    assert stats.early_answer_seconds == pytest.approx(10.0)
    floor = Floor(free_agents=0, wrap_up_left=(3.0, 10.0, 11.5, 14.0))
    assert expected_free_agents(floor, stats) == pytest.approx(3.0)
    assert expected_free_agents(floor, stats, connect_limit=0.5) == pytest.approx(2.0)
    assert predictive_calls(floor, stats, 4.0, 100) == 12
    assert progressive_calls(floor, 100) == 0  # progressive waits for them


def test_predictive_counts_agents_on_a_call_by_their_chance_to_be_free_in_time() -> None:
    # 40 s to answer, 90 s talk, 15 s wrap-up, 2 s connect limit: the call must end within 27 s
    samples = [
        sample(timedelta(minutes=1), live=True, ring=40.0, talk=90.0, wrap=15.0) for _ in range(40)
    ]
    stats = stats_of(samples)
    chance = 1 - math.exp(-27 / 90)
    assert expected_free_agents(Floor(0, on_call=10), stats) == pytest.approx(10 * chance)
    # when the wrap-up alone is longer than the time to answer, none of them
    quick = stats_of(population(100, 4))
    assert expected_free_agents(Floor(0, on_call=10), quick) == 0


def test_predictive_subtracts_answered_calls_still_waiting_for_an_agent() -> None:
    stats = stats_of(population(100, 4))
    assert expected_free_agents(Floor(free_agents=3, waiting=1), stats) == pytest.approx(2.0)
    assert expected_free_agents(Floor(free_agents=1, waiting=4), stats) == 0


def test_predictive_respects_max_channels() -> None:
    stats = stats_of(population(100, 10))  # 10 % answered
    floor = Floor(free_agents=10, connected=5)
    assert predictive_calls(floor, stats, 4.0, 100) == 40
    assert predictive_calls(floor, stats, 4.0, 30) == 25


def test_predictive_without_enough_samples_paces_progressively() -> None:
    few = stats_of(population(MIN_SAMPLE - 1, 4))
    floor = Floor(free_agents=3, wrap_up_left=(1.0, 2.0))
    assert predictive_calls(floor, few, 2.0, 100) == 3
    nobody_answers = stats_of([sample(timedelta(minutes=1)) for _ in range(100)])
    assert predictive_calls(floor, nobody_answers, 2.0, 100) == 3
    enough = stats_of(population(MIN_SAMPLE, 4))
    assert predictive_calls(floor, enough, 2.0, 100) == 10  # 2 × (3 free + 2 wrapping up)


def test_predictive_with_no_agents_places_nothing() -> None:
    stats = stats_of(population(100, 4))
    assert predictive_calls(Floor(free_agents=0), stats, 3.0, 100) == 0


def test_predictive_falls_back_to_progressive_at_the_abandon_cap() -> None:
    control = population(100, 4)  # 25 live, none abandoned
    # 24 h: with those, 100 live and 3 abandoned → 3 % = the cap
    day = [sample(timedelta(hours=3), live=True, talk=90.0) for _ in range(72)]
    abandons = [sample(timedelta(hours=3), live=True, abandoned=True) for _ in range(3)]
    floor = Floor(free_agents=2)
    at_cap = stats_of(control + day + abandons)
    assert at_cap.abandon_rate_24h == pytest.approx(0.03)
    placed = calls_to_place(
        "predictive", floor, at_cap, ratio=4.0, max_channels=100, cap_percent=3.0
    )
    assert placed == 2
    under = stats_of([*control, *day, *abandons[:2], sample(timedelta(hours=3), live=True)])
    placed = calls_to_place(
        "predictive", floor, under, ratio=4.0, max_channels=100, cap_percent=3.0
    )
    assert placed == 8


def test_the_30_day_rate_also_holds_predictive_back() -> None:
    old = [sample(timedelta(days=10), live=True, abandoned=True) for _ in range(5)]
    old += [sample(timedelta(days=10), live=True, talk=60.0) for _ in range(95)]
    stats = stats_of(population(100, 4) + old)
    assert stats.abandon_rate_24h == 0
    assert predictive_calls(Floor(free_agents=2), stats, 4.0, 100) == 8
    assert (
        calls_to_place(
            "predictive", Floor(free_agents=2), stats, ratio=4.0, max_channels=100, cap_percent=3
        )
        == 2
    )


# --- the ratio -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "window", "day", "expected"),
    [
        (2.0, 0.03, 0.01, 2.0 * 0.99),  # 1.5 × the 2 % target: 1 % down (gain 0.02)
        (2.0, 0.20, 0.01, 2.0 * 0.95),  # far over: at most 5 % down a step
        (2.0, 0.01, 0.01, 2.0 * 1.01),  # half the target: 1 % up
        (2.0, 0.0, 0.0, 2.0 * 1.02),  # none abandoned: the largest step up
        (2.0, 0.0, 0.025, 2.0),  # the 24 h rate is over the target: never up
        (2.0, 0.05, 0.025, 2.0 * 0.97),  # ... but down as usual
        (2.0, 0.02, 0.0, 2.0),  # at the target: kept
        (2.0, None, 0.0, 2.0),  # nobody answered in the window: nothing to go by
        (1.01, 0.10, 0.0, 1.0),  # never below 1
        (3.98, 0.0, 0.0, 4.0),  # never above max_ratio
        (6.0, None, None, 4.0),  # a ratio from an older, looser campaign version is pulled in
    ],
)
def test_adapt_ratio(
    ratio: float, window: float | None, day: float | None, expected: float
) -> None:
    assert adapt_ratio(ratio, window, day, 2.0, (1.0, 4.0)) == pytest.approx(expected)


def test_the_ratio_settles_where_the_window_meets_the_target() -> None:
    """A floor whose abandon rate grows with the ratio (here 1 % per 0.5 of ratio over 1):
    the controller climbs from 1.5 and settles near the ratio giving the 2 % target (2.0),
    without swinging past the cap's ratio (2.5) on the way."""
    ratio, seen = 1.5, []
    for _ in range(240):  # four hours of minutes
        window = max(0.0, (ratio - 1.0) / 0.5 / 100)
        ratio = adapt_ratio(ratio, window, None, 2.0, (1.0, 6.0))
        seen.append(ratio)
    assert max(seen) < 2.5
    assert seen[-1] == pytest.approx(2.0, abs=0.05)


# --- calls still ringing -------------------------------------------------------------------


def test_a_call_ringing_past_every_answer_holds_no_line() -> None:
    """One in four answered, after 10 s; the rest rang 20 s: a fresh call has the answer
    rate; one ringing 12 s can only be a no-answer; one ringing 5 s keeps its full chance
    (no unanswered call has ended by then either)."""
    stats = stats_of(population(100, 4))
    assert still_live_chance(0.0, stats) == pytest.approx(0.25)
    assert still_live_chance(5.0, stats) == pytest.approx(0.25)
    assert still_live_chance(12.0, stats) == 0.0
    floor = Floor(free_agents=2, dialing=3, dialing_ages=(0.0, 5.0, 12.0))
    assert lines_in_flight(floor, stats) == pytest.approx(2.0)
    # 4 × 2 free − 2 live lines: the call past every answer does not hold back a new one
    assert predictive_calls(floor, stats, 4.0, 100) == 6
    # ages unknown (a floor built by hand): every call counts as a fresh one
    assert predictive_calls(Floor(free_agents=2, dialing=3), stats, 4.0, 100) == 5


def test_busy_calls_ending_early_raise_a_ringing_calls_chance() -> None:
    """Half the unanswered calls end busy after 2 s: a call still ringing at 3 s is among
    fewer unanswered ones, so a person more likely answers it."""
    samples = population(100, 4)
    samples += [sample(timedelta(minutes=1), ring=2.0) for _ in range(75)]
    stats = stats_of(samples)
    fresh, later = still_live_chance(0.0, stats), still_live_chance(3.0, stats)
    assert later > fresh
    assert later == pytest.approx(25 / (25 + 75))
