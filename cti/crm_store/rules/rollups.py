"""What one call adds to (or takes out of) the reports' rollups, and a period's whole
buckets and local days (pure: no I/O).

:class:`Deltas` collects, for a batch of calls, the change of each rollup row
(:mod:`cti.crm_store.models.rollups`): ``+1`` for a call written, ``-1`` for the stored
version of a call being rewritten. The figures are the ones the reports' SQL reads from the
calls, so whole buckets of rollups give what the calls give.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cti.crm_store.timeutil import as_utc

#: (hour, direction, status, queue): [calls, wait seconds, longest wait, IVR seconds, IVR calls]
CallHourKey = tuple[int, str, str, str]
#: (day, queue, status, wait in whole seconds rounded up): [calls, wait seconds]
QueueWaitKey = tuple[int, str, str, int]
#: (quarter-hour, agent): [offered, answered, ring, ring unanswered, handled, talk, hold]
AgentQuarterKey = tuple[int, str]
HOUR, DAY, QUARTER = 3600, 86400, 900
#: the statuses whose waits the service level and the short abandons count
WAIT_STATUSES = ("answered", "abandoned")


def bucket(moment: datetime, grain: int) -> int:
    """The bucket of ``grain`` seconds that ``moment`` falls in (Unix time // grain)."""
    return math.floor(as_utc(moment).timestamp()) // grain


def bucket_start(number: int, grain: int) -> datetime:
    return datetime.fromtimestamp(number * grain, UTC)


def wait_second(wait: float | None) -> int:
    """The wait rounded up to a whole second (so ``wait <= T`` is ``wait_second <= T``)."""
    return max(0, math.ceil(wait or 0.0))


@dataclass
class Deltas:
    call_hours: dict[CallHourKey, list[float]] = field(default_factory=dict)
    queue_waits: dict[QueueWaitKey, list[float]] = field(default_factory=dict)
    quarters: dict[int, int] = field(default_factory=dict)
    agent_quarters: dict[AgentQuarterKey, list[float]] = field(default_factory=dict)
    #: call-hour rows a waiting call was taken out of: their longest wait is read again
    shrunk: set[CallHourKey] = field(default_factory=set)

    def add(
        self,
        call: Mapping[str, Any],
        rings: Iterable[Mapping[str, Any]],
        talks: Iterable[Mapping[str, Any]],
        sign: int = 1,
    ) -> None:
        """Count one call (its columns, rings and talk parts) in, or out (``sign`` -1)."""
        started = call.get("started_at")
        if started is not None:
            self._call(call, started, sign)
        self._rings(rings, sign)
        self._talks(talks, sign)

    def _call(self, call: Mapping[str, Any], started: datetime, sign: int) -> None:
        direction, status = str(call["direction"]), str(call["status"])
        queue = call.get("queue") or ""
        wait = float(call.get("queue_wait_seconds") or 0.0)
        ivr = call.get("ivr_seconds")
        key = (bucket(started, HOUR), direction, status, queue)
        row = self.call_hours.setdefault(key, [0, 0.0, 0.0, 0.0, 0])
        row[0] += sign
        row[1] += sign * wait
        if sign > 0:
            row[2] = max(row[2], wait)
        elif wait > 0:
            self.shrunk.add(key)
        if ivr is not None:
            row[3] += sign * float(ivr)
            row[4] += sign
        if direction == "inbound":
            quarter = bucket(started, QUARTER)
            self.quarters[quarter] = self.quarters.get(quarter, 0) + sign
            if queue and status in WAIT_STATUSES:
                wkey = (bucket(started, DAY), queue, status, wait_second(wait))
                wrow = self.queue_waits.setdefault(wkey, [0, 0.0])
                wrow[0] += sign
                wrow[1] += sign * wait

    def _rings(self, rings: Iterable[Mapping[str, Any]], sign: int) -> None:
        per_agent: dict[str, list[Any]] = {}
        for ring in rings:
            if ring.get("started_at") is None:
                continue
            start = as_utc(ring["started_at"])
            seconds = float(ring.get("seconds") or 0.0)
            got = per_agent.setdefault(str(ring["agent"]), [start, False, 0.0, 0.0])
            got[0] = min(got[0], start)
            got[1] = got[1] or bool(ring.get("answered"))
            got[2] += seconds
            got[3] += 0.0 if ring.get("answered") else seconds
        for agent, (start, answered, seconds, unanswered) in per_agent.items():
            row = self._agent_row(start, agent)
            row[0] += sign
            row[1] += sign * int(answered)
            row[2] += sign * seconds
            row[3] += sign * unanswered

    def _talks(self, talks: Iterable[Mapping[str, Any]], sign: int) -> None:
        per_agent: dict[str, list[Any]] = {}
        for talk in talks:
            if talk.get("started_at") is None:
                continue
            start = as_utc(talk["started_at"])
            got = per_agent.setdefault(str(talk["agent"]), [start, 0.0, 0.0])
            got[0] = min(got[0], start)
            got[1] += float(talk.get("seconds") or 0.0)
            got[2] += float(talk.get("hold_seconds") or 0.0)
        for agent, (start, seconds, hold) in per_agent.items():
            row = self._agent_row(start, agent)
            row[4] += sign
            row[5] += sign * seconds
            row[6] += sign * hold

    def _agent_row(self, start: datetime, agent: str) -> list[float]:
        return self.agent_quarters.setdefault(
            (bucket(start, QUARTER), agent), [0, 0, 0.0, 0.0, 0, 0.0, 0.0]
        )

    def agent_sums(self, grain: int) -> dict[AgentQuarterKey, list[float]]:
        """The agents' quarter-hour deltas summed per ``grain`` (an hour, a day)."""
        out: dict[AgentQuarterKey, list[float]] = {}
        for (quarter, agent), values in self.agent_quarters.items():
            got = out.setdefault((quarter * QUARTER // grain, agent), [0] * len(values))
            for i, value in enumerate(values):
                got[i] += value
        return out


# -- a period in buckets ---------------------------------------------------------------

#: (since, until, UTC offset in seconds): a period cut where the zone's offset changes
Spans = Sequence[tuple[datetime, datetime, int]]
EPOCH = date(1970, 1, 1)


def day_plan(offset: int) -> tuple[list[int], int, int | None]:
    """For a UTC offset: the hours of a UTC day that belong to the local day after it
    (``shift`` +1, east of UTC) or before it (-1, west), and the hour in which the local
    midnight falls when that is not on the hour (None otherwise)."""
    if offset == 0:
        return [], 0, None
    edge = DAY - offset if offset > 0 else -offset  # the local midnight, seconds into the day
    hours = range(DAY // HOUR)
    if offset > 0:
        moved = [h for h in hours if h * HOUR >= edge]
    else:
        moved = [h for h in hours if (h + 1) * HOUR <= edge]
    return moved, (1 if offset > 0 else -1), (edge // HOUR if edge % HOUR else None)


def by_offset(spans: Spans) -> list[tuple[int, list[tuple[datetime, datetime]]]]:
    """The spans' time ranges per UTC offset (one query each)."""
    out: dict[int, list[tuple[datetime, datetime]]] = {}
    for since, until, offset in spans:
        out.setdefault(offset, []).append((since, until))
    return list(out.items())


def whole_buckets(
    since: datetime, until: datetime, grain: int
) -> tuple[tuple[int, int] | None, list[tuple[datetime, datetime]]]:
    """``[since, until)`` as its whole buckets of ``grain`` seconds (``[first, last)``; None:
    none) and the pieces of time left at either end."""
    first = -(-math.ceil(as_utc(since).timestamp()) // grain)  # rounded up
    last = bucket(until, grain)
    if first >= last:
        return None, [(since, until)]
    start, end = bucket_start(first, grain), bucket_start(last, grain)
    edges = [(since, start)] if as_utc(since) < start else []
    edges += [(end, until)] if end < as_utc(until) else []
    return (first, last), edges


def straddling_hours(hours: tuple[int, int], offset: int) -> list[int]:
    """The hours of ``[first, last)`` in which a local midnight falls (an offset that is not
    a whole number of hours): they belong to two local days."""
    first_day = (hours[0] * HOUR + offset) // DAY
    last_day = (hours[1] * HOUR - 1 + offset) // DAY  # the last second of the last hour
    return [
        (day * DAY - offset) // HOUR
        for day in range(first_day + 1, last_day + 1)
        if (day * DAY - offset) // HOUR >= hours[0]
    ]


@functools.lru_cache(maxsize=4096)
def local_day(number: int) -> str:
    """A local day number (days since 1970-01-01 in local time) as ``YYYY-MM-DD``."""
    return (EPOCH + timedelta(days=number)).isoformat()


def local_hour(number: int) -> str:
    """A local hour number (hours since 1970-01-01 00:00 local) as ``YYYY-MM-DD HH``."""
    return (datetime(1970, 1, 1) + timedelta(hours=number)).strftime("%Y-%m-%d %H")
