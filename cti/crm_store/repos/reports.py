"""The reports' SQL: grouped counts and sums over the call log's rollups (the calls
themselves at a period's edges), dialer, tickets, deals and tasks for one period (UTC
instants), on indexed columns. Times are grouped into UTC hour
(or minute) buckets that the reports place on local days and hours in Python: the same SQL
serves every time zone, including a DST day, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from cti.crm_store.models.calls import Call, CallRing, CallTalk
from cti.crm_store.models.campaigns import Campaign, DialAttempt
from cti.crm_store.models.rollups import (
    AgentDay,
    AgentHour,
    CallDay,
    CallHour,
    InboundQuarter,
    QueueWaitDay,
)
from cti.crm_store.models.sales import Deal
from cti.crm_store.models.tasks import Task
from cti.crm_store.models.tickets import Ticket
from cti.crm_store.models.users import User, UserExtension
from cti.crm_store.repos.rollups import AGENT_FIGURES
from cti.crm_store.rules.rollups import (
    DAY,
    HOUR,
    QUARTER,
    Spans,
    bucket_start,
    by_offset,
    day_plan,
    local_day,
    local_hour,
    straddling_hours,
    whole_buckets,
)
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, as_utc_opt

#: (agent, local day ``YYYY-MM-DD`` or ``""``) → the figures of ``AGENT_FIGURES`` in order
AgentSums = dict[tuple[str, str], list[float]]


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One queue's inbound calls of the period (``short``: abandoned within the short
    abandon threshold; ``within``: answered within the service level threshold)."""

    queue: str
    offered: int
    answered: int
    abandoned: int
    short_abandons: int
    answered_within: int
    abandoned_after: int
    wait_answered: float
    longest_wait: float
    wait_abandoned: float
    #: the IVR time before the queue, and the calls that had one
    ivr_seconds: float = 0.0
    ivr_calls: int = 0
    #: the waiting time of the short abandons
    wait_short: float = 0.0


@dataclass(slots=True)
class AgentBucket:
    """One agent's rings or talk in one local day (thousands per report: not frozen, which
    would make each one three times slower to build)."""

    agent: str
    bucket: str
    calls: int
    answered: int
    seconds: float
    other_seconds: float


@dataclass(frozen=True, slots=True)
class MissedRow:
    number: str
    misses: int
    first_missed_at: datetime
    last_missed_at: datetime
    queue: str | None
    task_id: int
    assignee_id: int | None


@dataclass(frozen=True, slots=True)
class TicketRow:
    id: int
    priority: str
    assignee_id: int | None
    created_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None


class ReportRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    def local(self, column: Any, offset: int, hour: bool) -> ColumnElement[int]:
        """``column`` (a UTC time) shifted by ``offset`` seconds, as a local day number (or
        hour number with ``hour``: :func:`local_day`, :func:`local_hour` name them), within
        one offset span: integer arithmetic on the Unix time, on both backends."""
        seconds: ColumnElement[int]
        if self.store.is_sqlite:  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
            seconds = cast(func.strftime("%s", column), Integer)
        else:
            seconds = cast(func.floor(func.extract("epoch", column)), BigInteger)
        return (seconds + int(offset)) // (HOUR if hour else DAY)

    async def _all(self, stmt: Any) -> list[Any]:
        """The rows of a Core SELECT (no ORM: thousands of plain tuples per report)."""
        async with self.store.engine.connect() as conn:
            return list((await conn.execute(stmt)).all())

    # -- calls ----------------------------------------------------------------------------

    async def raw_queues(
        self, since: datetime, until: datetime, *, short: float, threshold: float
    ) -> list[QueueRow]:
        """Per queue, the inbound calls that entered it in the period, from the calls."""
        wait = func.coalesce(Call.queue_wait_seconds, 0.0)
        answered = Call.status == "answered"
        abandoned = Call.status == "abandoned"
        long_abandon = and_(abandoned, wait > short)
        stmt = (
            select(
                Call.queue,
                func.count(),
                func.count().filter(answered),
                func.count().filter(abandoned),
                func.count().filter(abandoned, wait <= short),
                func.count().filter(answered, wait <= threshold),
                func.count().filter(abandoned, wait > threshold),
                func.coalesce(func.sum(wait).filter(answered), 0.0),
                func.coalesce(func.max(wait), 0.0),
                func.coalesce(func.sum(wait).filter(long_abandon), 0.0),
                func.coalesce(func.sum(Call.ivr_seconds), 0.0),
                func.count(Call.ivr_seconds),
                func.coalesce(func.sum(wait).filter(abandoned, wait <= short), 0.0),
            )
            .where(
                Call.queue.is_not(None),
                Call.direction == "inbound",
                Call.started_at >= since,
                Call.started_at < until,
            )
            .group_by(Call.queue)
            .order_by(Call.queue)
        )
        return [
            QueueRow(
                queue=str(r[0]),
                offered=int(r[1]),
                answered=int(r[2]),
                abandoned=int(r[3]),
                short_abandons=int(r[4]),
                answered_within=int(r[5]),
                abandoned_after=int(r[6]),
                wait_answered=float(r[7]),
                longest_wait=float(r[8]),
                wait_abandoned=float(r[9]),
                ivr_seconds=float(r[10]),
                ivr_calls=int(r[11]),
                wait_short=float(r[12]),
            )
            for r in await self._all(stmt)
        ]

    async def raw_inbound_hours(self, spans: Spans) -> list[tuple[str, int]]:
        """Inbound calls started per local hour (``YYYY-MM-DD HH``), from the calls."""
        out: list[tuple[str, int]] = []
        for since, until, offset in spans:
            hour = self.local(Call.started_at, offset, hour=True)
            stmt = (
                select(hour, func.count())
                .where(
                    Call.direction == "inbound", Call.started_at >= since, Call.started_at < until
                )
                .group_by(hour)
            )
            out += [(local_hour(int(b)), int(n)) for b, n in await self._all(stmt)]
        return out

    def _day(self, column: Any, offset: int, by_day: bool) -> ColumnElement[int]:
        """The local day number of ``column``, or one constant group for the whole period."""
        return self.local(column, offset, hour=False) if by_day else literal_column("0")

    async def raw_rings(
        self, spans: Spans, agents: Sequence[str] | None, by_day: bool = True
    ) -> list[AgentBucket]:
        """Per agent and local day (``by_day`` False: the period, bucket ``""``): calls that
        rang them, of those answered by them, ring seconds, and ring seconds of the rings
        they did not answer."""
        out: list[AgentBucket] = []
        if not by_day:
            spans = [(spans[0][0], spans[-1][1], 0)]
        columns: tuple[Any, ...] = (CallRing.call_id, CallRing.agent, CallRing.started_at)
        columns += (CallRing.seconds, CallRing.answered)
        for offset, ranges in by_offset(spans):
            r = _in_ranges(columns, CallRing.started_at, CallRing.agent, ranges, agents)
            day = self._day(r.c.started_at, offset, by_day)
            ring = func.coalesce(r.c.seconds, 0.0)
            answered = r.c.answered.is_(True)
            stmt = select(
                r.c.agent,
                day,
                func.count(r.c.call_id.distinct()),
                func.count(r.c.call_id.distinct()).filter(answered),
                func.coalesce(func.sum(ring), 0.0),
                func.coalesce(func.sum(ring).filter(r.c.answered.is_(False)), 0.0),
            )
            stmt = stmt.group_by(r.c.agent, day) if by_day else stmt.group_by(r.c.agent)
            out += [
                AgentBucket(str(a), _day_name(b, by_day), int(c), int(n), float(s), float(o))
                for a, b, c, n, s, o in await self._all(stmt)
            ]
        return out

    async def raw_talks(
        self, spans: Spans, agents: Sequence[str] | None, by_day: bool = True
    ) -> list[AgentBucket]:
        """Per agent and local day (``by_day`` False: the period, bucket ``""``): calls they
        talked on (their own part of a transferred call), talk seconds (hold included) and
        hold seconds."""
        out: list[AgentBucket] = []
        if not by_day:
            spans = [(spans[0][0], spans[-1][1], 0)]
        columns: tuple[Any, ...] = (CallTalk.call_id, CallTalk.agent, CallTalk.started_at)
        columns += (CallTalk.seconds, CallTalk.hold_seconds)
        for offset, ranges in by_offset(spans):
            t = _in_ranges(columns, CallTalk.started_at, CallTalk.agent, ranges, agents)
            day = self._day(t.c.started_at, offset, by_day)
            stmt = select(
                t.c.agent,
                day,
                func.count(t.c.call_id.distinct()),
                func.coalesce(func.sum(t.c.seconds), 0.0),
                func.coalesce(func.sum(t.c.hold_seconds), 0.0),
            )
            stmt = stmt.group_by(t.c.agent, day) if by_day else stmt.group_by(t.c.agent)
            out += [
                AgentBucket(str(a), _day_name(b, by_day), int(c), int(c), float(s), float(h))
                for a, b, c, s, h in await self._all(stmt)
            ]
        return out

    async def missed_not_called_back(
        self, since: datetime, until: datetime, limit: int
    ) -> list[MissedRow]:
        """Numbers with inbound calls missed or abandoned in the period, no answered call
        with the number after the miss, and an open callback task: the callback worklist,
        oldest first (by each number's first such miss).

        The waiting misses are read in time order (the partial index of unanswered inbound
        calls), a window of time at a time, until ``limit`` numbers are found; then those
        numbers' figures in one query: the list costs what it shows, not every miss of the
        period."""
        later = aliased(Call)
        answered_after = exists().where(
            later.external_tail == Call.external_tail,
            later.external_number == Call.external_number,
            later.status == "answered",
            later.started_at > Call.started_at,
        )
        open_task = and_(
            Task.kind == "callback",
            Task.done.is_(False),
            Task.phone_tail == Call.external_tail,
            Task.phone == Call.external_number,
        )
        # the open callback as a scalar subquery, not EXISTS: PostgreSQL would turn EXISTS
        # into a hash join that reads every open callback for each window of misses
        task_id = select(func.min(Task.id)).where(open_task).correlate(Call).scalar_subquery()
        waiting = (
            Call.status.in_(("missed", "abandoned")),
            Call.direction == "inbound",
            Call.started_at >= since,
            Call.started_at < until,
            Call.external_number.is_not(None),
            task_id.is_not(None),
            ~answered_after,
        )
        numbers = await self._first_numbers(waiting, since, until, limit)
        if not numbers:
            return []
        tails = sorted({t for t in numbers.values() if t is not None})
        stmt = (
            select(
                Call.external_number,
                func.count(),
                func.min(Call.started_at),
                func.max(Call.started_at),
                func.max(Call.queue),
                func.min(task_id),
            )
            .where(*waiting)
            .where(Call.external_tail.in_(tails), Call.external_number.in_(sorted(numbers)))
            .group_by(Call.external_number)
        )
        rows = sorted(await self._all(stmt), key=lambda r: (as_utc(r[2]), r[0]))[:limit]
        owners: dict[int, int | None] = {}
        if rows:
            ids = [int(r[5]) for r in rows]
            got = await self._all(select(Task.id, Task.assignee_id).where(Task.id.in_(ids)))
            owners = {int(i): a for i, a in got}
        return [
            MissedRow(str(n), int(c), as_utc(f), as_utc(la), q, int(t), owners.get(int(t)))
            for n, c, f, la, q, t in rows
        ]

    async def _first_numbers(
        self,
        waiting: Sequence[ColumnElement[bool]],
        since: datetime,
        until: datetime,
        limit: int,
    ) -> dict[str, str | None]:
        """Number → tail of the first ``limit`` numbers of the waiting misses in time order,
        and of every number whose first miss ties with the last one's (the order's
        tie-break is the number). Read a window of time at a time (a day, then twice as
        long each time), so each query stays small on either backend's plan."""
        found: dict[str, str | None] = {}
        start, span = since, timedelta(days=1)
        while start < until:
            end = min(until, start + span)
            stmt = select(Call.external_number, Call.external_tail, Call.started_at)
            stmt = stmt.where(*waiting, Call.started_at >= start, Call.started_at < end)
            boundary: datetime | None = None
            for number, number_tail, started in await self._all(
                stmt.order_by(Call.started_at, Call.id)
            ):
                if boundary is not None and as_utc(started) != boundary:
                    return found
                if str(number) not in found:
                    found[str(number)] = number_tail
                    if len(found) == limit:
                        boundary = as_utc(started)
            if boundary is not None:
                return found
            start, span = end, span * 2
        return found

    # -- campaigns ------------------------------------------------------------------------

    async def campaign_outcomes(
        self, since: datetime, until: datetime
    ) -> list[tuple[int, str, str, bool, str | None, int]]:
        """(campaign id, name, outcome, live, disposition, attempts) of the attempts that
        ended in the period."""
        stmt = (
            select(
                DialAttempt.campaign_id,
                Campaign.name,
                DialAttempt.outcome,
                DialAttempt.live,
                DialAttempt.disposition,
                func.count(),
            )
            .join(Campaign, Campaign.id == DialAttempt.campaign_id)
            .where(
                DialAttempt.ended_at >= since,
                DialAttempt.ended_at < until,
                DialAttempt.outcome.is_not(None),
            )
            .group_by(
                DialAttempt.campaign_id,
                Campaign.name,
                DialAttempt.outcome,
                DialAttempt.live,
                DialAttempt.disposition,
            )
        )
        return [
            (int(c), str(n), str(o), bool(lv), d, int(k))
            for c, n, o, lv, d, k in await self._all(stmt)
        ]

    # -- tickets, deals, tasks ------------------------------------------------------------

    async def tickets(self, since: datetime, until: datetime) -> list[TicketRow]:
        """Tickets whose clocks may stop or fall due in the period: opened before its end
        and not resolved before its start."""
        stmt = select(
            Ticket.id,
            Ticket.priority,
            Ticket.assignee_id,
            Ticket.created_at,
            Ticket.first_responded_at,
            Ticket.resolved_at,
            Ticket.first_response_due,
            Ticket.resolution_due,
        ).where(
            Ticket.created_at < until,
            or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= since),
        )
        return [
            TicketRow(
                int(r[0]),
                str(r[1]),
                r[2],
                as_utc(r[3]),
                as_utc_opt(r[4]),
                as_utc_opt(r[5]),
                as_utc_opt(r[6]),
                as_utc_opt(r[7]),
            )
            for r in await self._all(stmt.order_by(Ticket.id))
        ]

    async def deals(
        self, since: datetime, until: datetime
    ) -> list[tuple[str, str, int | None, int, float]]:
        """(status, stage, owner, deals, amount): open deals now, and deals won or lost in
        the period."""
        closed_in = and_(Deal.closed_at >= since, Deal.closed_at < until)
        stmt = (
            select(
                Deal.status,
                Deal.stage,
                Deal.owner_id,
                func.count(),
                func.coalesce(func.sum(Deal.amount), 0),
            )
            .where(or_(Deal.status == "open", closed_in))
            .group_by(Deal.status, Deal.stage, Deal.owner_id)
        )
        return [(str(s), str(g), o, int(n), float(a)) for s, g, o, n, a in await self._all(stmt)]

    async def overdue_tasks(self, at: datetime) -> list[tuple[int | None, int, datetime]]:
        """(assignee, open tasks past their due time at ``at``, the oldest due time)."""
        stmt = (
            select(Task.assignee_id, func.count(), func.min(Task.due_at))
            .where(Task.done.is_(False), Task.due_at < at)
            .group_by(Task.assignee_id)
        )
        return [(a, int(n), as_utc(d)) for a, n, d in await self._all(stmt)]

    async def people(self) -> tuple[dict[int, str], dict[str, str]]:
        """User id → username, and extension → username (for the reports' labels)."""
        async with self.store.sessions() as session:
            users = {
                int(i): str(n) for i, n in await session.execute(select(User.id, User.username))
            }
            exts = await session.execute(select(UserExtension.extension, UserExtension.user_id))
            return users, {str(e): users.get(int(u), "") for e, u in exts}

    # -- from the rollups -----------------------------------------------------------------
    # Each reads the rollups' whole buckets inside the period and the calls themselves for
    # what is left at its edges (parts of a bucket: a zone whose offset is not a whole
    # hour, or the queue waits' UTC days), so the figures are exactly the calls' figures.

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
        midnight (a half-hour offset) and parts of an hour from the calls."""
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
        day, plus those hours on that day (one query, summed in SQL); an hour holding a
        local midnight is taken out and read from the calls."""
        d, h = AgentDay, AgentHour
        per_day = DAY // HOUR
        by_day = d.day if acc.by_day else literal_column("0")
        parts = [
            select(d.agent.label("agent"), by_day.label("d"), *_figure_columns(d)).where(
                d.day >= days[0], d.day < days[1]
            )
        ]
        moved, shift, straddle = day_plan(offset)
        out = sorted([*moved, *([straddle] if straddle is not None else [])])
        for hours, sign, to in ((out, -1, 0), (moved, 1, shift)):
            for n in range(*days) if hours else ():  # a SELECT per day: an index range each
                low, high = n * per_day + hours[0], n * per_day + hours[-1] + 1
                parts.append(
                    select(h.agent, literal(n + to, BigInteger), *_figure_columns(h, sign)).where(
                        h.hour >= low, h.hour < high
                    )
                )
        if agents is not None:
            chosen = sorted(set(agents))
            parts = [part.where(part.selected_columns[0].in_(chosen)) for part in parts]
        both = union_all(*parts).subquery()
        stmt = select(both.c.agent, both.c.d, *(func.sum(both.c[n]) for n in AGENT_FIGURES))
        for agent, number, *values in await self._all(stmt.group_by(both.c.agent, both.c.d)):
            acc.add(str(agent), int(number), values)
        if straddle is not None:  # split at the local midnight: from the calls
            first = days[0] * per_day + straddle
            hours_ = range(first, days[1] * per_day, per_day)
            raw = [(bucket_start(n, HOUR), bucket_start(n + 1, HOUR), offset) for n in hours_]
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
        midnight), the rest from the calls."""
        inner, edges = whole_buckets(since, until, HOUR)
        split: list[int] = []
        if inner is not None and acc.by_day and offset % HOUR:
            split = straddling_hours(inner, offset)
            edges += [(bucket_start(n, HOUR), bucket_start(n + 1, HOUR)) for n in split]
        if inner is not None:
            a = AgentHour
            day = (a.hour * HOUR + offset) // DAY if acc.by_day else literal_column("0")
            stmt = select(a.agent, day, *_figure_sums(a))
            stmt = stmt.where(a.hour >= inner[0], a.hour < inner[1])
            if split:
                stmt = stmt.where(a.hour.not_in(split))
            if agents is not None:
                stmt = stmt.where(a.agent.in_(sorted(set(agents))))
            stmt = stmt.group_by(a.agent, day) if acc.by_day else stmt.group_by(a.agent)
            for agent, number, *values in await self._all(stmt):
                acc.add(str(agent), int(number), values)
        for a_, b_ in edges:  # one at a time: without days a list is read as one span
            raw = [(a_, b_, offset)]
            acc.add_raw(
                await self.raw_rings(raw, agents, acc.by_day),
                await self.raw_talks(raw, agents, acc.by_day),
            )


def _figure_sums(table: Any) -> list[Any]:
    """The sums of the agents' figures of a rollup table."""
    return [func.sum(getattr(table, n)) for n in AGENT_FIGURES]


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


def _in_ranges(
    columns: Sequence[Any],
    start: Any,
    agent: Any,
    ranges: Sequence[tuple[datetime, datetime]],
    agents: Sequence[str] | None,
) -> Any:
    """The rows of ``columns`` whose ``start`` is in one of ``ranges``, as a subquery: one
    SELECT per range (an index range each) put together with UNION ALL; SQLite reads an
    OR of thirty ranges as a scan of the whole table."""
    parts = []
    for low, high in ranges:
        part = select(*columns).where(start >= low, start < high)
        if agents is not None:
            part = part.where(agent.in_(sorted(set(agents))))
        parts.append(part)
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()


def _day_name(number: Any, by_day: bool) -> str:
    return local_day(int(number)) if by_day else ""
