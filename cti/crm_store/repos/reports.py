"""The reports' SQL: grouped counts and sums over the call log, dialer, tickets, deals and
tasks for one period (UTC instants), on indexed columns. Times are grouped into UTC hour
(or minute) buckets that the reports place on local days and hours in Python: the same SQL
serves every time zone, including a DST day, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, or_, select
from sqlalchemy.orm import aliased

from cti.crm_store.models.calls import Call, CallRing, CallTalk
from cti.crm_store.models.campaigns import Campaign, DialAttempt
from cti.crm_store.models.sales import Deal
from cti.crm_store.models.tasks import Task
from cti.crm_store.models.tickets import Ticket
from cti.crm_store.models.users import User, UserExtension
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, as_utc_opt

#: (since, until, UTC offset in seconds): a period cut where the zone's offset changes
Spans = Sequence[tuple[datetime, datetime, int]]


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


@dataclass(frozen=True, slots=True)
class AgentBucket:
    """One agent's rings or talk in one UTC bucket."""

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

    def local(self, column: Any, offset: int, hour: bool) -> ColumnElement[str]:
        """``column`` (a UTC time) shifted by ``offset`` seconds, as ``YYYY-MM-DD`` (or
        ``YYYY-MM-DD HH`` with ``hour``): a local day or hour within one offset span."""
        if self.store.is_sqlite:  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
            return func.substr(
                func.datetime(column, f"{int(offset):+d} seconds"), 1, 13 if hour else 10
            )
        shifted = func.timezone("UTC", column) + literal_column(f"interval '{int(offset)} seconds'")
        return func.to_char(shifted, "YYYY-MM-DD HH24" if hour else "YYYY-MM-DD")

    async def _all(self, stmt: Any) -> list[Any]:
        async with self.store.sessions() as session:
            return list((await session.execute(stmt)).all())

    # -- calls ----------------------------------------------------------------------------

    async def call_totals(self, since: datetime, until: datetime) -> list[tuple[str, str, int]]:
        """(direction, status, calls) of the calls started in the period."""
        stmt = (
            select(Call.direction, Call.status, func.count())
            .where(Call.started_at >= since, Call.started_at < until)
            .group_by(Call.direction, Call.status)
        )
        return [(str(d), str(s), int(n)) for d, s, n in await self._all(stmt)]

    async def queues(
        self, since: datetime, until: datetime, *, short: float, threshold: float
    ) -> list[QueueRow]:
        """Per queue, the inbound calls that entered it in the period."""
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
            )
            for r in await self._all(stmt)
        ]

    async def inbound_hours(self, spans: Spans) -> list[tuple[str, int]]:
        """Inbound calls started per local hour (``YYYY-MM-DD HH``)."""
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
            out += [(str(b), int(n)) for b, n in await self._all(stmt)]
        return out

    def _day(self, column: Any, offset: int, by_day: bool) -> ColumnElement[str]:
        """The local day of ``column``, or one constant group for the whole period."""
        return self.local(column, offset, hour=False) if by_day else literal_column("''")

    async def rings(
        self, spans: Spans, agents: Sequence[str] | None, by_day: bool = True
    ) -> list[AgentBucket]:
        """Per agent and local day (``by_day`` False: the period, bucket ``""``): calls that
        rang them, of those answered by them, ring seconds, and ring seconds of the rings
        they did not answer."""
        out: list[AgentBucket] = []
        ring = func.coalesce(CallRing.seconds, 0.0)
        if not by_day:
            spans = [(spans[0][0], spans[-1][1], 0)]
        for since, until, offset in spans:
            day = self._day(CallRing.started_at, offset, by_day)
            stmt = select(
                CallRing.agent,
                day,
                func.count(CallRing.call_id.distinct()),
                func.count(CallRing.call_id.distinct()).filter(CallRing.answered.is_(True)),
                func.coalesce(func.sum(ring), 0.0),
                func.coalesce(func.sum(ring).filter(CallRing.answered.is_(False)), 0.0),
            ).where(CallRing.started_at >= since, CallRing.started_at < until)
            if agents is not None:
                stmt = stmt.where(CallRing.agent.in_(sorted(set(agents))))
            out += [
                AgentBucket(str(a), str(b), int(c), int(n), float(s), float(o))
                for a, b, c, n, s, o in await self._all(
                    stmt.group_by(CallRing.agent, day) if by_day else stmt.group_by(CallRing.agent)
                )
            ]
        return out

    async def talks(
        self, spans: Spans, agents: Sequence[str] | None, by_day: bool = True
    ) -> list[AgentBucket]:
        """Per agent and local day (``by_day`` False: the period, bucket ``""``): calls they
        talked on (their own part of a transferred call), talk seconds (hold included) and
        hold seconds."""
        out: list[AgentBucket] = []
        if not by_day:
            spans = [(spans[0][0], spans[-1][1], 0)]
        for since, until, offset in spans:
            day = self._day(CallTalk.started_at, offset, by_day)
            stmt = select(
                CallTalk.agent,
                day,
                func.count(CallTalk.call_id.distinct()),
                func.coalesce(func.sum(CallTalk.seconds), 0.0),
                func.coalesce(func.sum(CallTalk.hold_seconds), 0.0),
            ).where(CallTalk.started_at >= since, CallTalk.started_at < until)
            if agents is not None:
                stmt = stmt.where(CallTalk.agent.in_(sorted(set(agents))))
            out += [
                AgentBucket(str(a), str(b), int(c), int(c), float(s), float(h))
                for a, b, c, s, h in await self._all(
                    stmt.group_by(CallTalk.agent, day) if by_day else stmt.group_by(CallTalk.agent)
                )
            ]
        return out

    async def missed_not_called_back(
        self, since: datetime, until: datetime, limit: int
    ) -> list[MissedRow]:
        """Numbers with inbound calls missed or abandoned in the period, no answered call
        with the number after the miss, and an open callback task: the callback worklist,
        oldest first."""
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
        task_id = select(func.min(Task.id)).where(open_task).correlate(Call).scalar_subquery()
        stmt = (
            select(
                Call.external_number,
                func.count(),
                func.min(Call.started_at),
                func.max(Call.started_at),
                func.max(Call.queue),
                func.min(task_id),
            )
            .where(
                Call.status.in_(("missed", "abandoned")),
                Call.direction == "inbound",
                Call.started_at >= since,
                Call.started_at < until,
                Call.external_number.is_not(None),
                exists().where(open_task),
                ~answered_after,
            )
            .group_by(Call.external_number)
            .order_by(func.min(Call.started_at), Call.external_number)
            .limit(limit)
        )
        rows = await self._all(stmt)
        owners: dict[int, int | None] = {}
        if rows:
            ids = [int(r[5]) for r in rows]
            got = await self._all(select(Task.id, Task.assignee_id).where(Task.id.in_(ids)))
            owners = {int(i): a for i, a in got}
        return [
            MissedRow(str(n), int(c), as_utc(f), as_utc(la), q, int(t), owners.get(int(t)))
            for n, c, f, la, q, t in rows
        ]

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
