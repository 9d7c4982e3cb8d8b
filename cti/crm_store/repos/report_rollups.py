"""The reports' SQL over the call log's rollups (:mod:`cti.crm_store.models.rollups`):
whole buckets from the rollups, the calls only at a period's edges, so a report over a month
reads thousands of rows, not a million calls, and gives what the calls give.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    column,
    func,
    literal_column,
    select,
    union_all,
    values,
)

from cti.crm_store.models.calls import Call
from cti.crm_store.models.rollups import (
    AgentDay,
    AgentHour,
    AgentQuarter,
    CallDay,
    CallHour,
    InboundQuarter,
    QueueWaitDay,
)
from cti.crm_store.repos.report_calls import AgentBucket, CallReads, QueueRow
from cti.crm_store.repos.rollups import AGENT_FIGURES
from cti.crm_store.rules.rollups import (
    DAY,
    HOUR,
    QUARTER,
    Spans,
    bucket_start,
    day_plan,
    local_day,
    local_hour,
    straddling_hours,
    whole_buckets,
)

#: (agent, local day ``YYYY-MM-DD`` or ``""``) → the figures of ``AGENT_FIGURES`` in order
AgentSums = dict[tuple[str, str], list[float]]


class RollupReads(CallReads):
    """Call totals, queues, the heat map's hours and the agents' sums of a period."""

    async def call_totals(self, since: datetime, until: datetime) -> list[tuple[str, str, int]]:
        """(direction, status, calls) of the calls started in the period."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for (direction, status, _), row in (await self._call_rows(since, until)).items():
            totals[(direction, status)] += int(row[0])
        return [(d, st, n) for (d, st), n in sorted(totals.items()) if n]

    async def queues(
        self, since: datetime, until: datetime, *, short: float, threshold: float
    ) -> list[QueueRow]:
        """Per queue, the inbound calls that entered it in the period: counts, waits and
        IVR from the call rollups, the threshold counts from the daily waits (any whole
        second; a fractional threshold reads the calls)."""
        counts: dict[str, list[float]] = {}
        for (direction, status, queue), row in (await self._call_rows(since, until)).items():
            if direction != "inbound" or not queue:
                continue
            # offered, answered, abandoned, wait answered, wait abandoned, longest, IVR, IVR calls
            got = counts.setdefault(queue, [0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0])
            got[0] += row[0]
            if status in ("answered", "abandoned"):
                got[1 if status == "answered" else 2] += row[0]
                got[3 if status == "answered" else 4] += row[1]
            got[5] = max(got[5], row[2])
            got[6] += row[3]
            got[7] += row[4]
        waits = await self._queue_thresholds(since, until, short, threshold)
        out = []
        for queue, c in sorted(counts.items()):
            s_, within, abandoned_within, short_wait = waits.get(queue, (0, 0, 0, 0.0))
            out.append(
                QueueRow(
                    queue,
                    int(c[0]),
                    int(c[1]),
                    int(c[2]),
                    short_abandons=s_,
                    answered_within=within,
                    abandoned_after=int(c[2]) - abandoned_within,
                    wait_answered=c[3],
                    longest_wait=c[5],
                    wait_abandoned=max(0.0, c[4] - short_wait),
                    ivr_seconds=c[6],
                    ivr_calls=int(c[7]),
                    wait_short=short_wait,
                )
            )
        return out

    async def _call_rows(
        self, since: datetime, until: datetime
    ) -> dict[tuple[str, str, str], list[float]]:
        """(direction, status, queue) → [calls, wait, longest wait, IVR, IVR calls] of the
        period: whole UTC days from the daily rollup, whole hours at the ends from the
        hourly one, parts of an hour from the calls."""
        out: dict[tuple[str, str, str], list[float]] = {}

        def add(key: tuple[str, str, str], row: Sequence[Any]) -> None:
            got = out.setdefault(key, [0, 0.0, 0.0, 0.0, 0])
            got[0] += int(row[0])
            got[1] += float(row[1] or 0)
            got[2] = max(got[2], float(row[2] or 0))
            got[3] += float(row[3] or 0)
            got[4] += int(row[4] or 0)

        days, day_edges = whole_buckets(since, until, DAY)
        pieces: list[tuple[Any, Any, tuple[int, int]]] = []
        if days is not None:
            pieces.append((CallDay, CallDay.day, days))
        raw: list[tuple[datetime, datetime]] = []
        for a, b in day_edges:
            hours, hour_edges = whole_buckets(a, b, HOUR)
            if hours is not None:
                pieces.append((CallHour, CallHour.hour, hours))
            raw += hour_edges
        for table, bucket_column, (low, high) in pieces:
            stmt = (
                select(
                    table.direction,
                    table.status,
                    table.queue,
                    func.sum(table.calls),
                    func.sum(table.wait_seconds),
                    func.max(table.wait_max),
                    func.sum(table.ivr_seconds),
                    func.sum(table.ivr_calls),
                )
                .where(bucket_column >= low, bucket_column < high)
                .group_by(table.direction, table.status, table.queue)
            )
            for d, st, q, *row in await self._all(stmt):
                add((str(d), str(st), str(q)), row)
        for a, b in raw:
            for d, st, q, *row in await self._all(self._raw_call_rows(a, b)):
                add((str(d), str(st), str(q or "")), row)
        return out

    def _raw_call_rows(self, since: datetime, until: datetime) -> Any:
        """The call rollups' figures straight from the calls of ``[since, until)``."""
        wait = func.coalesce(Call.queue_wait_seconds, 0.0)
        queue = func.coalesce(Call.queue, "")
        return (
            select(
                Call.direction,
                Call.status,
                queue,
                func.count(),
                func.sum(wait),
                func.max(wait),
                func.sum(Call.ivr_seconds),
                func.count(Call.ivr_seconds),
            )
            .where(Call.started_at >= since, Call.started_at < until)
            .group_by(Call.direction, Call.status, queue)
        )

    async def _queue_thresholds(
        self, since: datetime, until: datetime, short: float, threshold: float
    ) -> dict[str, tuple[int, int, int, float]]:
        """queue → (short abandons, answered within the threshold, abandoned within it,
        wait of the short abandons): only the waits up to the larger threshold are read."""
        whole = float(short).is_integer() and float(threshold).is_integer()
        inner, edges = whole_buckets(since, until, DAY) if whole else (None, [(since, until)])
        out: dict[str, tuple[int, int, int, float]] = {}

        def add(queue: str, row: tuple[int, int, int, float]) -> None:
            got = out.get(queue, (0, 0, 0, 0.0))
            out[queue] = (got[0] + row[0], got[1] + row[1], got[2] + row[2], got[3] + row[3])

        if inner is not None:
            w = QueueWaitDay
            abandoned, answered = w.status == "abandoned", w.status == "answered"
            stmt = (
                select(
                    w.queue,
                    func.coalesce(func.sum(w.calls).filter(abandoned, w.wait <= short), 0),
                    func.coalesce(func.sum(w.calls).filter(answered, w.wait <= threshold), 0),
                    func.coalesce(func.sum(w.calls).filter(abandoned, w.wait <= threshold), 0),
                    func.coalesce(func.sum(w.wait_seconds).filter(abandoned, w.wait <= short), 0.0),
                )
                .where(w.day >= inner[0], w.day < inner[1], w.wait <= max(short, threshold))
                .group_by(w.queue)
            )
            for queue, s_, within, abandoned_within, wait in await self._all(stmt):
                add(str(queue), (int(s_), int(within), int(abandoned_within), float(wait)))
        for a, b in edges:
            for r in await self.raw_queues(a, b, short=short, threshold=threshold):
                abandoned_within = r.abandoned - r.abandoned_after
                row = (r.short_abandons, r.answered_within, abandoned_within, r.wait_short)
                add(r.queue, row)
        return out

    async def inbound_hours(self, spans: Spans) -> list[tuple[str, int]]:
        """Inbound calls started per local hour (``YYYY-MM-DD HH``)."""
        out: list[tuple[str, int]] = []
        for since, until, offset in spans:
            if offset % QUARTER:  # no zone in use; the calls themselves
                out += await self.raw_inbound_hours([(since, until, offset)])
                continue
            inner, edges = whole_buckets(since, until, QUARTER)
            if inner is not None:
                q = InboundQuarter
                hour = (q.quarter * QUARTER + offset) // HOUR
                stmt = (
                    select(hour, func.sum(q.calls))
                    .where(q.quarter >= inner[0], q.quarter < inner[1])
                    .group_by(hour)
                )
                out += [(local_hour(int(b)), int(n)) for b, n in await self._all(stmt)]
            out += await self.raw_inbound_hours([(a, b, offset) for a, b in edges])
        return out

    async def agent_sums(
        self, spans: Spans, agents: Sequence[str] | None, by_day: bool = True
    ) -> AgentSums:
        """Per agent and local day (``by_day`` False: the period, day ``""``): their rings
        (calls offered, answered, ring seconds, unanswered ring seconds) and talk parts
        (calls handled, talk seconds with hold, hold seconds), in :data:`AGENT_FIGURES`
        order.

        Whole UTC days come from the daily rollup, with the hours the zone's offset puts on
        the day before or after moved there from the hourly one; the rest of the period
        (parts of a UTC day at its ends) from the hourly rollup; an hour holding a local
        midnight (a half-hour offset) from the quarter-hourly one; parts of an hour (and that
        hour, for an offset that is not a whole number of quarter-hours) from the calls."""
        if not by_day:
            spans = [(spans[0][0], spans[-1][1], 0)]
        acc = _AgentSums(by_day)
        for since, until, offset in spans:
            days, edges = whole_buckets(since, until, DAY)
            if days is not None:
                await self._agent_days(days, offset if by_day else 0, agents, acc)
            for a, b in edges:
                await self._agent_hours(a, b, offset, agents, acc)
        return acc.result()

    async def _agent_days(
        self, days: tuple[int, int], offset: int, agents: Sequence[str] | None, acc: _AgentSums
    ) -> None:
        """Whole UTC days: each day's row, less the hours the offset puts on another local
        day, plus those hours on that day, and the hour holding a local midnight (a
        half-hour offset) from its quarter-hours, each on its own local day: one query,
        summed in SQL. The hours are read as a list of ranges joined to the hourly rollup
        (an index range each, whatever the number of days)."""
        d, h = AgentDay, AgentHour
        per_day = DAY // HOUR
        by_day = d.day if acc.by_day else literal_column("0")
        parts = [
            select(d.agent.label("agent"), by_day.label("d"), *_figure_columns(d)).where(
                d.day >= days[0], d.day < days[1]
            )
        ]
        moved, shift, straddle = day_plan(offset)
        taken = sorted([*moved, *([straddle] if straddle is not None else [])])
        pieces: list[tuple[int, int, int, int]] = []  # hours [low, high) → day, sign
        for n in range(*days) if taken else ():
            pieces.append((n * per_day + taken[0], n * per_day + taken[-1] + 1, n, -1))
            if moved:
                pieces.append((n * per_day + moved[0], n * per_day + moved[-1] + 1, n + shift, 1))
        if pieces:
            r = _ranges("hour_pieces", pieces, "d", "sign")
            parts.append(
                select(h.agent, r.c.d, *(getattr(h, n) * r.c.sign for n in AGENT_FIGURES))
                .select_from(r)
                .join(h, and_(h.hour >= r.c.low, h.hour < r.c.high))
            )
        split = [n * per_day + straddle for n in range(*days)] if straddle is not None else []
        if split and offset % QUARTER == 0:
            parts.append(_quarter_part(split, offset))
        await self._add_parts(parts, agents, acc)
        if split and offset % QUARTER:  # no zone in use; the calls themselves
            raw = [(bucket_start(n, HOUR), bucket_start(n + 1, HOUR), offset) for n in split]
            acc.add_raw(await self.raw_rings(raw, agents), await self.raw_talks(raw, agents))

    async def _agent_hours(
        self,
        since: datetime,
        until: datetime,
        offset: int,
        agents: Sequence[str] | None,
        acc: _AgentSums,
    ) -> None:
        """Less than a UTC day: whole hours from the hourly rollup (but one holding a local
        midnight: from its quarter-hours), the rest from the calls."""
        inner, edges = whole_buckets(since, until, HOUR)
        split: list[int] = []
        if inner is not None and acc.by_day and offset % HOUR:
            split = straddling_hours(inner, offset)
        if inner is not None:
            a = AgentHour
            day = (a.hour * HOUR + offset) // DAY if acc.by_day else literal_column("0")
            parts = [select(a.agent, day.label("d"), *_figure_columns(a))]
            parts[0] = parts[0].where(a.hour >= inner[0], a.hour < inner[1])
            if split:
                parts[0] = parts[0].where(a.hour.not_in(split))
            if split and offset % QUARTER == 0:
                parts.append(_quarter_part(split, offset))
            elif split:  # no zone in use; the calls themselves
                edges += [(bucket_start(n, HOUR), bucket_start(n + 1, HOUR)) for n in split]
            await self._add_parts(parts, agents, acc)
        for a_, b_ in edges:  # one at a time: without days a list is read as one span
            raw = [(a_, b_, offset)]
            acc.add_raw(
                await self.raw_rings(raw, agents, acc.by_day),
                await self.raw_talks(raw, agents, acc.by_day),
            )

    async def _add_parts(
        self, parts: list[Any], agents: Sequence[str] | None, acc: _AgentSums
    ) -> None:
        """Sum the rows of ``parts`` (agent, local day number, the figures) per agent and
        day, in SQL, into ``acc``."""
        if agents is not None:
            chosen = sorted(set(agents))
            parts = [part.where(part.selected_columns[0].in_(chosen)) for part in parts]
        both = union_all(*parts).subquery()
        stmt = select(both.c.agent, both.c.d, *(func.sum(both.c[n]) for n in AGENT_FIGURES))
        for agent, number, *sums in await self._all(stmt.group_by(both.c.agent, both.c.d)):
            acc.add(str(agent), int(number), sums)


def _ranges(name: str, rows: Sequence[tuple[int, ...]], *more: str) -> Any:
    """``rows`` of bucket ranges ``(low, high, *more)`` as a CTE of VALUES, to join a rollup
    on (``low <= bucket < high``): one statement for any number of ranges."""
    names = ("low", "high", *more)
    return values(*(column(n, BigInteger) for n in names), name=name).data(list(rows)).cte(name)


def _quarter_part(hours: Sequence[int], offset: int) -> Any:
    """The agents' figures of the quarter-hours of ``hours`` on their local days (the
    offset is a whole number of quarter-hours)."""
    q, per_hour = AgentQuarter, HOUR // QUARTER
    r = _ranges("split_hours", [(n * per_hour, (n + 1) * per_hour) for n in hours])
    local = (q.quarter * QUARTER + offset) // DAY
    return (
        select(q.agent, local.label("d"), *_figure_columns(q))
        .select_from(r)
        .join(q, and_(q.quarter >= r.c.low, q.quarter < r.c.high))
    )


def _figure_columns(table: Any, sign: int = 1) -> list[Any]:
    """The agents' figures of a rollup table as labelled columns (negated: ``sign`` -1)."""
    return [(getattr(table, n) * sign).label(n) for n in AGENT_FIGURES]


class _AgentSums:
    """The agents' figures per (agent, local day number) as the pieces of a period add
    them up (some pieces move hours from one day to the next: a minus and a plus)."""

    def __init__(self, by_day: bool) -> None:
        self.by_day = by_day
        self.sums: dict[tuple[str, str], list[float]] = {}

    def add(self, agent: str, day: int, values: Sequence[Any]) -> None:
        key = (agent, local_day(day) if self.by_day else "")
        got = self.sums.get(key)
        if got is None:
            self.sums[key] = [float(v or 0) for v in values]
        else:
            for i, value in enumerate(values):
                got[i] += float(value or 0)

    def add_raw(self, rings: Sequence[AgentBucket], talks: Sequence[AgentBucket]) -> None:
        """The calls' own figures (buckets already labelled)."""
        for r in rings:
            got = self.sums.setdefault((r.agent, r.bucket), [0.0] * len(AGENT_FIGURES))
            for i, value in enumerate((r.calls, r.answered, r.seconds, r.other_seconds)):
                got[i] += value
        for t in talks:
            got = self.sums.setdefault((t.agent, t.bucket), [0.0] * len(AGENT_FIGURES))
            for i, value in enumerate((t.calls, t.seconds, t.other_seconds)):
                got[4 + i] += value

    def result(self) -> AgentSums:
        """The sums, counts as whole numbers; a day a move left empty is dropped."""
        out: AgentSums = {}
        for key, v in self.sums.items():
            offered, answered, handled = int(v[0] + 0.5), int(v[1] + 0.5), int(v[4] + 0.5)
            if offered or handled:
                out[key] = [offered, answered, v[2], v[3], handled, v[5], v[6]]
        return out
