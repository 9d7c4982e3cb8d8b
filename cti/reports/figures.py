"""The reports' figures from what the store aggregated (pure: no I/O, no clock).

Definitions (``../shared/references/contact-center.md``; docs/reports.md):

* a queue's **offered** calls are answered + abandoned + timed out; short abandons (gone
  within the threshold) are counted apart and out of the abandon rate;
* **service level** = answered within T / the named denominator;
* **ASA** = waiting time of the answered calls / answered calls;
* per agent, **offered** is the calls that rang them (a call ringing two agents is offered
  to both: a per-agent measure, not the queue's call count), **answered** the calls they
  answered, **missed** the rest; **AHT** = (talk + hold + wrap-up) / handled;
  **occupancy** = handle time / (logged in − paused), **utilisation** = handle / logged in.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter

from cti.crm_store.repos.report_calls import QueueRow
from cti.crm_store.repos.report_rollups import AgentSums
from cti.crm_store.repos.sessions import SessionRow
from cti.reports import intervals
from cti.reports.calendar import Period
from cti.reports.schemas import AgentFigures, QueueFigures

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole > 0 else None


@functools.lru_cache(maxsize=4096)
def local_day(bucket: str) -> date | None:
    """A local day as the store gives it (``YYYY-MM-DD``; ``""``: the whole period)."""
    return date.fromisoformat(bucket[:10]) if bucket else None


# -- agents ---------------------------------------------------------------------------------


@dataclass
class _Counts:
    offered: int = 0
    answered: int = 0
    ring: float = 0.0
    ring_no_answer: float = 0.0
    handled: int = 0
    talk: float = 0.0
    hold: float = 0.0
    wrap: float = 0.0
    logged_in: float = 0.0
    pauses: dict[str, float] = field(default_factory=dict)
    pause: float = 0.0

    def add(self, other: _Counts) -> None:
        self.offered += other.offered
        self.answered += other.answered
        self.ring += other.ring
        self.ring_no_answer += other.ring_no_answer
        self.handled += other.handled
        self.talk += other.talk
        self.hold += other.hold
        self.wrap += other.wrap
        self.logged_in += other.logged_in
        self.pause += other.pause
        for reason, secs in other.pauses.items():
            self.pauses[reason] = self.pauses.get(reason, 0.0) + secs


#: a report's rows validated as one list (pydantic's compiled validation of plain dicts is
#: several times faster than ``model_construct`` row by row: thousands of rows per report)
_ROWS = TypeAdapter(list[AgentFigures])


def _figures(agent: str, user: str, day: date | None, c: _Counts) -> dict[str, Any]:
    """One row's figures."""
    talk = max(0.0, c.talk - c.hold)  # a talk part's seconds include its hold
    handle = talk + c.hold + c.wrap
    available = c.logged_in - c.pause
    return dict(
        agent=agent,
        user=user,
        day=day,
        offered=c.offered,
        answered=c.answered,
        missed=c.offered - c.answered,
        answer_rate=ratio(c.answered, c.offered),
        ring_seconds=round(c.ring, 3),
        ring_no_answer_seconds=round(c.ring_no_answer, 3),
        handled=c.handled,
        talk_seconds=round(talk, 3),
        hold_seconds=round(c.hold, 3),
        wrap_up_seconds=round(c.wrap, 3),
        handle_seconds=round(handle, 3),
        average_handle_seconds=round(handle / c.handled, 3) if c.handled else None,
        calls_per_hour=round(c.handled / (c.logged_in / 3600), 3) if c.logged_in else None,
        logged_in_seconds=round(c.logged_in, 3),
        pause_seconds=round(c.pause, 3),
        pauses={k: round(v, 3) for k, v in sorted(c.pauses.items())} if c.pauses else {},
        occupancy=min(1.0, ratio(handle, available) or 0.0) if available > 0 else None,
        utilisation=ratio(handle, c.logged_in),
    )


def _session_counts(
    rows: Iterable[SessionRow], period: Period, until: datetime
) -> dict[tuple[str, date], _Counts]:
    """Per agent and local day: logged-in, pause (by reason) and wrap-up seconds, each the
    union of the agent's intervals (open ones run until ``until``: now, or the period's
    end)."""
    by_agent: dict[str, dict[str, list[intervals.Interval]]] = defaultdict(
        lambda: defaultdict(list)
    )
    end = min(until, period.until)
    for row in rows:
        stop = row.ended_at if row.ended_at is not None else end
        span = (row.started_at, min(stop, end))
        key = f"pause:{row.reason or 'paused'}" if row.kind == "pause" else row.kind
        by_agent[row.extension][key].append(span)
    out: dict[tuple[str, date], _Counts] = {}
    days = period.days()
    for agent, kinds in by_agent.items():
        clip = {k: intervals.clip(v, period.since, end) for k, v in kinds.items()}
        logged = intervals.by_day(clip.get("login", []), days, period.tz)
        wrap = intervals.by_day(clip.get("wrap-up", []), days, period.tz)
        pauses_all = [i for k, v in clip.items() if k.startswith("pause:") for i in v]
        paused = intervals.by_day(pauses_all, days, period.tz)
        reasons = {
            k.removeprefix("pause:"): intervals.by_day(v, days, period.tz)
            for k, v in clip.items()
            if k.startswith("pause:")
        }
        for day in days:
            counts = _Counts(
                wrap=wrap[day],
                logged_in=logged[day],
                pause=paused[day],
                pauses={r: d[day] for r, d in reasons.items() if d[day] > 0},
            )
            if counts.wrap or counts.logged_in or counts.pause:
                out[(agent, day)] = counts
    return out


def agents(
    sums: AgentSums,
    sessions: Sequence[SessionRow],
    period: Period,
    *,
    now: datetime,
    users: Mapping[str, str],
    by_day: bool = True,
) -> tuple[list[AgentFigures], list[AgentFigures]]:
    """Per agent over the period, and (``by_day``) per agent and local day, from the
    calls' ``sums`` (:meth:`ReportRepo.agent_sums`) and the sessions."""
    cells: dict[tuple[str, date | None], _Counts] = defaultdict(_Counts)
    for (agent, day), v in sums.items():
        cells[(agent, local_day(day))] = _Counts(
            offered=int(v[0]),
            answered=int(v[1]),
            ring=v[2],
            ring_no_answer=v[3],
            handled=int(v[4]),
            talk=v[5],
            hold=v[6],
        )
    for key, counts in _session_counts(sessions, period, now).items():
        cells[key].add(counts)
    totals: dict[str, _Counts] = defaultdict(_Counts)
    for (agent, _), counts in cells.items():
        totals[agent].add(counts)
    per_agent = [_figures(a, users.get(a, ""), None, c) for a, c in sorted(totals.items())]
    per_day = [
        _figures(a, users.get(a, ""), d, c)
        for (a, d), c in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        if by_day
    ]
    return _ROWS.validate_python(per_agent), _ROWS.validate_python(per_day)


# -- queues ---------------------------------------------------------------------------------


def service_level(row: QueueRow, variant: str) -> float | None:
    """Answered within T over the denominator the variant names."""
    denominators = {
        "offered": row.offered,
        "answered": row.answered,
        "offered-no-short": row.offered - row.short_abandons,
        "answered-and-late-abandons": row.answered + row.abandoned_after,
    }
    return ratio(row.answered_within, denominators[variant])


def queue_figures(row: QueueRow, variant: str) -> QueueFigures:
    long_abandons = row.abandoned - row.short_abandons
    return QueueFigures(
        queue=row.queue,
        offered=row.offered,
        answered=row.answered,
        abandoned=row.abandoned,
        short_abandons=row.short_abandons,
        timed_out=row.offered - row.answered - row.abandoned,
        abandon_rate=ratio(long_abandons, row.offered - row.short_abandons),
        service_level=service_level(row, variant),
        answered_within=row.answered_within,
        average_speed_of_answer=ratio(row.wait_answered, row.answered, 3),
        longest_wait=round(row.longest_wait, 3),
        average_abandon_seconds=ratio(row.wait_abandoned, long_abandons, 3),
        average_ivr_seconds=ratio(row.ivr_seconds, row.ivr_calls, 3),
    )


def queue_total(rows: Sequence[QueueRow]) -> QueueRow:
    """Every queue together (a call is in one queue: the sum counts it once)."""
    return QueueRow(
        "all",
        sum(r.offered for r in rows),
        sum(r.answered for r in rows),
        sum(r.abandoned for r in rows),
        sum(r.short_abandons for r in rows),
        sum(r.answered_within for r in rows),
        sum(r.abandoned_after for r in rows),
        sum(r.wait_answered for r in rows),
        max((r.longest_wait for r in rows), default=0.0),
        sum(r.wait_abandoned for r in rows),
        sum(r.ivr_seconds for r in rows),
        sum(r.ivr_calls for r in rows),
    )


# -- heat map -------------------------------------------------------------------------------


def heatmap(hours: Iterable[tuple[str, int]]) -> list[list[int]]:
    """cells[weekday (Monday 0)][hour] of the calls per local hour (``YYYY-MM-DD HH``)."""
    cells = [[0] * 24 for _ in range(7)]
    for hour, calls in hours:
        weekday = date.fromisoformat(hour[:10]).weekday()
        cells[weekday][int(hour[11:13])] += calls
    return cells
