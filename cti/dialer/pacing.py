"""Pacing: how many calls a campaign places now, and how predictive dialling adapts its ratio.

Pure: the engine passes the floor as it stands (agents, calls up), the recent attempts and
``now``; nothing here reads a clock or the store.

**Abandon rate** is the field's definition (``shared/references/contact-center.md``,
Ofcom and FCC): abandoned calls / calls answered by a live person, per campaign, over any
24 h (Ofcom) and 30 days (FCC); cap 3 %. A call answered by a machine is in neither count;
a person taken for a machine by answering-machine detection and hung up on would count as
abandoned, but cti cannot tell them apart, so the figure is only as good as the detection.
Outbound (dialer) abandons only: callers giving up in an inbound queue are another figure.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cti.dialer.campaign_file import Mode

#: compliance windows: Ofcom's any 24 h, the FCC's 30 days
DAY = timedelta(hours=24)
MONTH = timedelta(days=30)
#: below this many dialled calls in the control window the measured answer rate is noise:
#: predictive paces progressively until it has them
MIN_SAMPLE = 30


@dataclass(frozen=True, slots=True)
class AttemptSample:
    """One finished attempt as pacing sees it (from ``DialAttempt``).

    ``live``: a person answered (outcome ``answered`` or ``abandoned``); ``abandoned``: the
    person was not put through to an agent within the connect limit. ``ring_seconds`` runs
    from the Originate to the answer or the give-up; ``talk_seconds`` and ``wrap_seconds``
    are the agent's, for calls that reached one. Attempts never dialled (a preview skip)
    are not samples.
    """

    ended_at: datetime
    live: bool
    abandoned: bool
    ring_seconds: float | None = None
    talk_seconds: float | None = None
    wrap_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class PacingStats:
    """What the recent attempts say: the control window's rates and times, and the abandon
    rates over the compliance windows (``None`` where no person answered)."""

    dialled: int
    live: int
    abandoned: int
    #: live / dialled in the control window (``None``: nothing dialled)
    answer_rate: float | None
    #: mean seconds from the Originate to a person's answer
    mean_answer_seconds: float | None
    #: the 10th percentile of those times: few answers come sooner
    early_answer_seconds: float | None
    mean_talk_seconds: float | None
    mean_wrap_seconds: float | None
    abandon_rate: float | None
    abandon_rate_24h: float | None
    abandon_rate_30d: float | None
    live_24h: int
    abandoned_24h: int
    live_30d: int
    abandoned_30d: int
    #: the control window's seconds from the Originate to a person's answer, sorted
    answer_times: tuple[float, ...] = ()
    #: ... and to the end of the calls nobody answered (busy, no answer, failed), sorted
    giveup_times: tuple[float, ...] = ()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def _quantile(values: Iterable[float | None], q: float) -> float | None:
    xs = sorted(v for v in values if v is not None)
    return xs[int(q * (len(xs) - 1))] if xs else None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def pacing_stats(
    samples: Iterable[AttemptSample], now: datetime, window_minutes: float
) -> PacingStats:
    """The figures pacing needs, from attempts that ended in the last 30 days (older ones and
    ones ending after ``now`` are ignored). The control window is ``window_minutes`` long."""
    end = _utc(now)
    control_from = end - timedelta(minutes=window_minutes)
    recent: list[AttemptSample] = []
    live_24h = abandoned_24h = live_30d = abandoned_30d = 0
    for s in samples:
        at = _utc(s.ended_at)
        if at > end or at <= end - MONTH:
            continue
        live_30d += s.live
        abandoned_30d += s.live and s.abandoned
        if at > end - DAY:
            live_24h += s.live
            abandoned_24h += s.live and s.abandoned
        if at > control_from:
            recent.append(s)
    live = [s for s in recent if s.live]
    abandoned = sum(1 for s in live if s.abandoned)
    connected = [s for s in live if not s.abandoned]
    return PacingStats(
        dialled=len(recent),
        live=len(live),
        abandoned=abandoned,
        answer_rate=_rate(len(live), len(recent)),
        mean_answer_seconds=_mean(s.ring_seconds for s in live),
        early_answer_seconds=_quantile([s.ring_seconds for s in live], 0.1),
        mean_talk_seconds=_mean(s.talk_seconds for s in connected),
        mean_wrap_seconds=_mean(s.wrap_seconds for s in connected),
        abandon_rate=_rate(abandoned, len(live)),
        abandon_rate_24h=_rate(abandoned_24h, live_24h),
        abandon_rate_30d=_rate(abandoned_30d, live_30d),
        live_24h=live_24h,
        abandoned_24h=abandoned_24h,
        live_30d=live_30d,
        abandoned_30d=abandoned_30d,
        answer_times=tuple(sorted(s.ring_seconds for s in live if s.ring_seconds is not None)),
        giveup_times=tuple(
            sorted(s.ring_seconds for s in recent if not s.live and s.ring_seconds is not None)
        ),
    )


@dataclass(frozen=True, slots=True)
class Floor:
    """The campaign's agents and calls at this moment.

    ``on_call``: agents ringing or talking; ``wrap_up_left``: for each agent in wrap-up, the
    seconds until it ends by itself (``wrap_until − now``); ``dialing``: calls placed and not
    answered yet; ``waiting``: answered, no agent yet; ``connected``: on an agent. Channels
    up = dialing + waiting + connected.
    """

    free_agents: int
    on_call: int = 0
    wrap_up_left: tuple[float, ...] = ()
    dialing: int = 0
    waiting: int = 0
    connected: int = 0
    #: for each call not answered yet, the seconds since its Originate (0 while claimed);
    #: empty when unknown (each call then counts as a fresh one)
    dialing_ages: tuple[float, ...] = ()

    @property
    def channels(self) -> int:
        return self.dialing + self.waiting + self.connected


def over_cap(stats: PacingStats, cap_percent: float) -> bool:
    """Whether the campaign's abandon rate over 24 h or 30 days is at or above the cap."""
    cap = cap_percent / 100
    return any(r is not None and r >= cap for r in (stats.abandon_rate_24h, stats.abandon_rate_30d))


def progressive_calls(floor: Floor, max_channels: int) -> int:
    """One call per free agent: free agents minus calls not yet on an agent."""
    wanted = floor.free_agents - floor.dialing - floor.waiting
    return max(0, min(wanted, max_channels - floor.channels))


def _share_above(times: Sequence[float], x: float) -> float:
    return (len(times) - bisect_right(times, x)) / len(times) if times else 0.0


def still_live_chance(age: float, stats: PacingStats) -> float:
    """The chance that a call ringing for ``age`` seconds is still answered by a person: of
    the calls that ring that long, the share a person answers later, from the control
    window's answer and give-up times. A fresh call has the answer rate; one ringing past
    every answer seen has none."""
    p = stats.answer_rate or 0.0
    later = p * _share_above(stats.answer_times, age)
    still = later + (1 - p) * _share_above(stats.giveup_times, age)
    return later / still if still > 0 else 0.0


def lines_in_flight(floor: Floor, stats: PacingStats) -> float:
    """The calls still dialling, each counted by its chance of still being answered relative
    to a fresh call's: a call ringing past every answer seen holds no line, so the dialer
    does not wait for its no-answer to dial for the agent it was meant for."""
    p = stats.answer_rate
    if not p or not floor.dialing_ages or not stats.answer_times:
        return float(floor.dialing)
    return sum(min(1.0, still_live_chance(age, stats) / p) for age in floor.dialing_ages)


def expected_free_agents(floor: Floor, stats: PacingStats, connect_limit: float = 2.0) -> float:
    """Agents expected free for the answers to a call placed now, less the answered calls
    already waiting for one: the free agents; each wrap-up ending within the horizon *H*;
    each agent on a call with the chance that the call and a wrap-up both end within *H*:
    ``1 − exp(−(H − wrap) / talk)``, the remaining talk taken as memoryless.

    *H* is the time by which an agent must be free for the *early* answers: the 10th
    percentile of answer times plus the connect limit an answered person may wait. (The mean
    time to answer counted agents who free up after early answers have already been
    abandoned: in the benchmark that cost 1–2 points of occupancy at the same abandon rate.)
    """
    if stats.early_answer_seconds is not None:
        horizon = stats.early_answer_seconds + connect_limit
    else:
        horizon = stats.mean_answer_seconds or 0.0
    wrap = stats.mean_wrap_seconds or 0.0
    talk = stats.mean_talk_seconds or 0.0
    wrapping = sum(1 for left in floor.wrap_up_left if left <= horizon)
    talking = 0.0
    if talk > 0 and horizon > wrap:
        talking = floor.on_call * (1 - math.exp(-(horizon - wrap) / talk))
    return max(0.0, floor.free_agents + wrapping + talking - floor.waiting)


def predictive_calls(
    floor: Floor,
    stats: PacingStats,
    ratio: float,
    max_channels: int,
    connect_limit: float = 2.0,
) -> int:
    """Calls to place so that ``ratio`` calls are in flight per agent expected free:
    ``min(ratio, 1 / answer_rate) × expected_free − lines_in_flight`` (rounded down), never
    fewer than progressive would place, never above ``max_channels``.

    The ratio is what the controller adapts (``adapt_ratio``); the answer rate caps it: at
    ``1 / answer_rate`` the calls in flight are expected to bring exactly one answer per
    agent about to be free, and beyond that abandons are expected, not risked.
    """
    base = progressive_calls(floor, max_channels)
    if not stats.answer_rate or stats.dialled < MIN_SAMPLE:
        return base
    lines = min(ratio, 1 / stats.answer_rate)
    ahead = lines * expected_free_agents(floor, stats, connect_limit) - lines_in_flight(
        floor, stats
    )
    wanted = max(base, math.floor(ahead + 1e-9))
    return max(0, min(wanted, max_channels - floor.channels))


def calls_to_place(
    mode: Mode,
    floor: Floor,
    stats: PacingStats,
    *,
    ratio: float,
    max_channels: int,
    cap_percent: float,
    connect_limit: float = 2.0,
) -> int:
    """How many calls the campaign places now.

    Preview dials only when an operator asks (0 here); progressive one per free agent;
    predictive dials ahead, but falls back to progressive while the 24 h or 30-day abandon
    rate is at or above the cap.
    """
    if mode == "preview":
        return 0
    if mode == "progressive" or over_cap(stats, cap_percent):
        return progressive_calls(floor, max_channels)
    return predictive_calls(floor, stats, ratio, max_channels, connect_limit)


def adapt_ratio(
    ratio: float,
    window_rate: float | None,
    day_rate: float | None,
    target_percent: float,
    bounds: tuple[float, float],
    *,
    gain: float = 0.02,
    fall: float = 0.95,
    rise: float = 1.02,
) -> float:
    """The next pacing ratio, once a minute: proportional to how far the control window's
    abandon rate is from the target (``1 + gain × (target − rate) / target``, at most
    ``rise`` up and ``fall`` down per step), and never up while the 24 h rate is over the
    target. Without a live call in the window it keeps the ratio. Always within ``bounds``.

    Steering on the window, not on the 24 h figure, matters: an abandon stays in the 24 h
    figure all day, so a controller steering on it keeps cutting long after the floor is
    calm (in the benchmark the ratio swung 2.7 → 1.0 → 2.7 every half hour). The small gain
    and steps keep the window's lag (its abandons stay in it for ``window_minutes``) from
    overshooting: with 0.05 and ±4 % a step the ratio still swung 1.1 ↔ 2.2.
    """
    low, high = bounds
    if window_rate is None:
        return min(high, max(low, ratio))
    target = target_percent / 100
    factor = min(rise, max(fall, 1 + gain * (target - window_rate) / target))
    if factor > 1 and day_rate is not None and day_rate > target:
        factor = 1.0
    return min(high, max(low, ratio * factor))
