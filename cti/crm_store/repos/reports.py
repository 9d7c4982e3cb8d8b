"""The reports' SQL: the callback worklist, the dialer's outcomes, tickets, deals and tasks
for one period (UTC instants), on indexed columns; the calls' figures come from
:mod:`cti.crm_store.repos.report_rollups` (the rollups, the calls at a period's edges:
:mod:`cti.crm_store.repos.report_calls`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import aliased

from cti.crm_store.models.calls import Call
from cti.crm_store.models.campaigns import Campaign, DialAttempt
from cti.crm_store.models.sales import Deal
from cti.crm_store.models.tasks import Task
from cti.crm_store.models.tickets import Ticket
from cti.crm_store.models.users import User, UserExtension
from cti.crm_store.repos.report_rollups import RollupReads
from cti.crm_store.timeutil import as_utc, as_utc_opt


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


#: the statuses of an inbound call that was not answered (a miss)
UNANSWERED = ("missed", "abandoned")
#: the numbers one read of the worklist takes (their tails and numbers: two parameters each)
NUMBERS_PER_READ = 5000
#: an open callback, as the partial unique indexes of the open ones say it word for word:
#: SQLite uses them for ``NOT done``, not for ``done = 0`` (and only to read in their order)
_OPEN_CALLBACK = text("tasks.kind = 'callback' AND NOT tasks.done")


class ReportRepo(RollupReads):
    """Every report's reads (one repository for the report service)."""

    #: up to this many open callbacks, the worklist reads their numbers' calls; past it, it
    #: walks the period's misses in time order
    few_open_callbacks = 100_000

    async def missed_not_called_back(
        self, since: datetime, until: datetime, limit: int
    ) -> list[MissedRow]:
        """Numbers with inbound calls missed or abandoned in the period, no answered call
        with the number after the miss, and an open callback task: the callback worklist,
        oldest first (by each number's first such miss).

        Few open callbacks (a team that works its list): their numbers' calls since the
        period began, through their tails, sorted out here. Many (a list nobody works): the
        waiting misses are read in time order (the partial index of unanswered inbound
        calls), a window of time at a time, until ``limit`` numbers are found, then those
        numbers' figures in one query. Either way the list costs what is open or what it
        shows, not every miss of the period."""
        open_ = await self._open_callbacks(self.few_open_callbacks)
        if open_ is not None:
            rows = await self._waiting_of(open_, since, until)
        else:
            rows = await self._walk_waiting(since, until, limit)
        rows = sorted(rows, key=lambda r: (r.first_missed_at, r.number))[:limit]
        ids = [r.task_id for r in rows]
        got = await self._all(select(Task.id, Task.assignee_id).where(Task.id.in_(ids)))
        owners = {int(i): a for i, a in got}
        return [replace(r, assignee_id=owners.get(r.task_id)) for r in rows]

    async def _open_callbacks(self, most: int) -> dict[str, tuple[str | None, int]] | None:
        """Number → (tail, lowest task id) of the open callbacks, or None when more than
        ``most`` are open; read in the order of the partial unique indexes of the open ones,
        so it costs at most ``most`` rows."""
        found: dict[str, tuple[str | None, int]] = {}
        left = most
        for has_queue in (Task.queue.is_not(None), Task.queue.is_(None)):
            stmt = select(Task.phone, Task.phone_tail, Task.id).where(_OPEN_CALLBACK, has_queue)
            rows = await self._all(stmt.order_by(Task.phone).limit(left + 1))
            if len(rows) > left:
                return None
            left -= len(rows)
            for phone, phone_tail, task in rows:
                if phone:
                    got = found.get(str(phone))
                    found[str(phone)] = (phone_tail, min(int(task), got[1] if got else int(task)))
        return found

    async def _waiting_of(
        self, open_: dict[str, tuple[str | None, int]], since: datetime, until: datetime
    ) -> list[MissedRow]:
        """The waiting misses of the numbers with an open callback, from their calls since
        ``since`` (an answered call that makes a miss of the period not waiting started
        after it): read through the numbers' tails, :data:`NUMBERS_PER_READ` at a time (a
        driver takes at most 32,767 parameters)."""
        calls: dict[str, list[tuple[str, str, datetime, str | None]]] = defaultdict(list)
        numbers = sorted(open_)
        for at in range(0, len(numbers), NUMBERS_PER_READ):
            chunk = numbers[at : at + NUMBERS_PER_READ]
            tails = sorted({t for t in (open_[n][0] for n in chunk) if t is not None})
            stmt = select(
                Call.external_number, Call.direction, Call.status, Call.started_at, Call.queue
            ).where(
                Call.external_tail.in_(tails),
                Call.external_number.in_(chunk),
                Call.started_at >= since,
            )
            for number, direction, status, started, queue in await self._all(stmt):
                calls[str(number)].append((direction, status, as_utc(started), queue))
        since, until = as_utc(since), as_utc(until)
        out = []
        for number, rows in calls.items():
            answers = [at for _, status, at, _ in rows if status == "answered"]
            last_answer = max(answers, default=None)
            misses = sorted(
                (at, queue)
                for direction, status, at, queue in rows
                if direction == "inbound"
                and status in UNANSWERED
                and since <= at < until
                and (last_answer is None or last_answer <= at)
            )
            if misses:
                queues = [q for _, q in misses if q is not None]
                first, last = misses[0][0], misses[-1][0]
                task = open_[number][1]
                out.append(
                    MissedRow(
                        number, len(misses), first, last, max(queues, default=None), task, None
                    )
                )
        return out

    async def _walk_waiting(self, since: datetime, until: datetime, limit: int) -> list[MissedRow]:
        """The first ``limit`` numbers of the waiting misses in time order, and their
        figures (in SQL: the open callback and the later answer checked per miss)."""
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
            Call.status.in_(UNANSWERED),
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
        return [
            MissedRow(str(n), int(c), as_utc(f), as_utc(la), q, int(t), None)
            for n, c, f, la, q, t in await self._all(stmt)
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
        tie-break is the number). Read a window of time at a time (an hour, then twice as
        long each time), so each query stays small on either backend's plan."""
        found: dict[str, str | None] = {}
        start, span = since, timedelta(hours=1)
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
