"""The reports' SQL over the calls themselves: what the rollups hold, read from the calls
(a period's edges, thresholds the rollups cannot answer, and the tests' reference). Times
are grouped on local days and hours by integer arithmetic on the Unix time within one UTC
offset span: the same SQL serves every zone, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    cast,
    func,
    literal_column,
    select,
    union_all,
)

from cti.crm_store.models.calls import Call, CallRing, CallTalk
from cti.crm_store.rules.rollups import (
    DAY,
    HOUR,
    Spans,
    by_offset,
    local_day,
    local_hour,
)
from cti.crm_store.store import Store


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


class CallReads:
    """Grouped counts and sums of the calls, rings and talk parts of a period."""

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
