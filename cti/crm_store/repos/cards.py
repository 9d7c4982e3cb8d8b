"""Everything a screen-pop card shows about a caller, read in one go.

:meth:`CardLoader.load` returns a contact's open deals, open tickets (with SLA due time and
breached flag, :func:`cti.crm_store.rules.sla.current_due`), open tasks (or, for an unknown
caller, the open callbacks to the number) and the last calls with the number: a few indexed
``SELECT … LIMIT`` on ONE connection, no page counts, no ORM objects.

Hot path, kept on the event loop because it was measured faster than a thread hop, as in
:mod:`cti.crm_store.repos.lookup`: on a SQLite file the reads go through a read-only
``sqlite3`` connection on the event-loop thread (``busy_timeout=0``: it never waits on a
lock; on any SQLite error that call falls back to the async engine). There the same Core
statements run precompiled (:class:`_Precompiled`): SQLAlchemy's per-call work (cache key,
execution context, result rows) cost ~0.4 ms of the loop per card, five times the reads
themselves; precompiled, a card takes 0.16 ms at p50 instead of 0.53 ms (``bench_pop.py``,
``docs/benchmarks.md``, screen-pop first pass). The async engine runs them for PostgreSQL
and in-memory SQLite.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Executable, Select, bindparam, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect

from cti.crm_store.models.calls import Call
from cti.crm_store.models.sales import Deal
from cti.crm_store.models.tasks import Task
from cti.crm_store.models.tickets import Ticket
from cti.crm_store.phones import external_number, tail
from cti.crm_store.repos.sqlite_direct import readonly_sqlite, sqlite_file
from cti.crm_store.rules.sla import OPEN_TICKET_STATUSES, Clocks, current_due
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, as_utc_opt, utcnow

#: open deals / tickets / tasks per contact, and calls per number
PER_CONTACT = 5
RECENT_CALLS = 5

_DEALS = (
    select(
        Deal.id,
        Deal.contact_id,
        Deal.title,
        Deal.stage,
        Deal.amount,
        Deal.currency,
        Deal.expected_close,
    )
    .where(Deal.contact_id == bindparam("cid"), Deal.status == "open")
    .order_by(Deal.updated_at.desc(), Deal.id.desc())
    .limit(PER_CONTACT)
)
_TICKETS = (
    select(
        Ticket.id,
        Ticket.contact_id,
        Ticket.subject,
        Ticket.status,
        Ticket.priority,
        Ticket.first_response_due,
        Ticket.first_responded_at,
        Ticket.resolution_due,
        Ticket.resolved_at,
    )
    .where(Ticket.contact_id == bindparam("cid"), Ticket.status.in_(OPEN_TICKET_STATUSES))
    .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    .limit(PER_CONTACT)
)
_TASK_COLUMNS = (Task.id, Task.title, Task.kind, Task.due_at, Task.assignee_id)
_TASK_ORDER = (Task.due_at.is_(None), Task.due_at, Task.id)
_CONTACT_TASKS = (
    select(*_TASK_COLUMNS)
    .where(Task.contact_id == bindparam("cid"), Task.done.is_(False))
    .order_by(*_TASK_ORDER)
    .limit(PER_CONTACT)
)
_PHONE_TASKS = (
    select(*_TASK_COLUMNS)
    .where(
        Task.phone_tail == bindparam("tail"),
        Task.phone == bindparam("number"),
        Task.done.is_(False),
    )
    .order_by(*_TASK_ORDER)
    .limit(PER_CONTACT)
)
_CALLS = (
    select(
        Call.id,
        Call.started_at,
        Call.direction,
        Call.status,
        Call.agent,
        Call.talk_seconds,
        Call.disposition,
    )
    .where(Call.external_tail == bindparam("tail"), Call.external_number == bindparam("number"))
    .order_by(Call.started_at.desc().nulls_last(), Call.id.desc())
    .limit(RECENT_CALLS)
)


@dataclass(frozen=True, slots=True)
class CardDeal:
    id: int
    contact_id: int | None
    title: str
    stage: str
    amount: Decimal | None
    currency: str
    expected_close: date | None


@dataclass(frozen=True, slots=True)
class CardTicket:
    id: int
    contact_id: int | None
    subject: str
    status: str
    priority: str
    #: the SLA time that matters now: first response until responded, then resolution
    sla_due: datetime | None
    sla_breached: bool


@dataclass(frozen=True, slots=True)
class CardTask:
    id: int
    title: str
    kind: str
    due_at: datetime | None
    assignee_id: int | None


@dataclass(frozen=True, slots=True)
class CardCall:
    id: int
    started_at: datetime | None
    direction: str
    status: str
    agent: str | None
    talk_seconds: float | None
    disposition: str | None


@dataclass(frozen=True, slots=True)
class CardData:
    """A caller's card facts; times are aware UTC."""

    deals: list[CardDeal]
    tickets: list[CardTicket]
    tasks: list[CardTask]
    calls: list[CardCall]


def _ticket(row: Any, now: datetime) -> CardTicket:
    clocks = Clocks(
        row.first_response_due, row.first_responded_at, row.resolution_due, row.resolved_at
    )
    due, breached = current_due(clocks, now)
    return CardTicket(
        id=row.id,
        contact_id=row.contact_id,
        subject=row.subject,
        status=row.status,
        priority=row.priority,
        sla_due=due,
        sla_breached=breached,
    )


def _task(row: Any) -> CardTask:
    return CardTask(
        id=row.id,
        title=row.title,
        kind=row.kind,
        due_at=as_utc_opt(row.due_at),
        assignee_id=row.assignee_id,
    )


#: runs one of the statements below with its parameters
Rows = Callable[[Executable, dict[str, Any]], Iterable[Any]]
#: the statements' own parameters (the rest are constants of the statements)
_PARAMS = ("cid", "tail", "number")


class _Precompiled:
    """One statement compiled once for SQLite: its SQL, where each ``?`` gets its value, and
    the columns' result processors (text to ``datetime``, ``Decimal`` …), so a call is one
    ``sqlite3`` execute and a tuple per row, with the values SQLAlchemy would return."""

    def __init__(self, stmt: Select[*tuple[Any, ...]], dialect: Dialect) -> None:
        state = stmt.compile(dialect=dialect).construct_expanded_state(dict.fromkeys(_PARAMS))
        self.sql = state.statement
        self.names = tuple(state.positiontup or ())
        self.constants = dict(state.parameters)
        columns = list(stmt.selected_columns)
        self.row: Any = namedtuple("row", [c.key for c in columns])  # type: ignore[misc]
        self.convert = [
            (i, proc)
            for i, c in enumerate(columns)
            if (proc := c.type.dialect_impl(dialect).result_processor(dialect, None))
        ]

    def rows(self, conn: sqlite3.Connection, params: dict[str, Any]) -> list[Any]:
        values = [params[n] if n in params else self.constants[n] for n in self.names]
        out = []
        for raw in conn.execute(self.sql, values):
            row = list(raw)
            for i, proc in self.convert:
                row[i] = proc(row[i])
            out.append(self.row._make(row))
        return out


_DIALECT = sqlite.dialect()
_PRECOMPILED = {
    id(stmt): _Precompiled(stmt, _DIALECT)
    for stmt in (_DEALS, _TICKETS, _CONTACT_TASKS, _PHONE_TASKS, _CALLS)
}


def _read(
    rows: Rows,
    contact_ids: Sequence[int],
    number: str | None,
    number_tail: str | None,
    now: datetime,
) -> CardData:
    deals: list[CardDeal] = []
    tickets: list[CardTicket] = []
    tasks: dict[int, CardTask] = {}
    for cid in contact_ids:
        for row in rows(_DEALS, {"cid": cid}):
            deals.append(
                CardDeal(
                    id=row.id,
                    contact_id=row.contact_id,
                    title=row.title,
                    stage=row.stage,
                    amount=row.amount,
                    currency=row.currency,
                    expected_close=row.expected_close,
                )
            )
        tickets.extend(_ticket(row, now) for row in rows(_TICKETS, {"cid": cid}))
        for task_row in rows(_CONTACT_TASKS, {"cid": cid}):
            tasks.setdefault(task_row.id, _task(task_row))
    calls: list[CardCall] = []
    if number is not None:
        params = {"tail": number_tail, "number": number}
        if not contact_ids:  # an unknown caller: the open callbacks to this number
            for task_row in rows(_PHONE_TASKS, params):
                tasks.setdefault(task_row.id, _task(task_row))
        calls = [
            CardCall(
                id=row.id,
                started_at=as_utc_opt(row.started_at),
                direction=row.direction,
                status=row.status,
                agent=row.agent,
                talk_seconds=row.talk_seconds,
                disposition=row.disposition,
            )
            for row in rows(_CALLS, params)
        ]
    ordered = sorted(tasks.values(), key=lambda t: (t.due_at is None, t.due_at or now, t.id))
    return CardData(deals=deals, tickets=tickets, tasks=ordered[: PER_CONTACT * 2], calls=calls)


class CardLoader:
    """Loads :class:`CardData`; one per store (it keeps its SQLite read connection open).

    Call :meth:`close` on shutdown.
    """

    def __init__(self, store: Store, *, direct_sqlite: bool = True) -> None:
        """``direct_sqlite=False`` forces the async-engine path on SQLite too."""
        self.store = store
        self._sqlite_path = sqlite_file(store.url) if direct_sqlite else None
        self._conn: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _direct_rows(self, path: str) -> Rows:
        if self._conn is None:
            self._conn = readonly_sqlite(path)
        conn = self._conn
        return lambda stmt, params: _PRECOMPILED[id(stmt)].rows(conn, params)

    def number_key(self, number: str) -> tuple[str, str] | None:
        """(number as the call log and callbacks store it, its indexed tail), or None."""
        stored = external_number(number, self.store.phone.default_region)
        if stored is None:
            return None
        return stored, tail(stored, self.store.phone.tail_digits)

    async def load(
        self, contact_ids: Sequence[int], number: str | None, *, now: datetime | None = None
    ) -> CardData:
        """The card of these contacts (best first) and of the caller's ``number``.

        Per contact: up to :data:`PER_CONTACT` open deals (latest first), open tickets
        (newest first) and open tasks (earliest due first; at most twice that in all).
        Without contacts, the open tasks are the callbacks to ``number``. Calls: the last
        :data:`RECENT_CALLS` with ``number``, newest first.
        """
        key = self.number_key(number) if number else None
        stored, number_tail = key if key is not None else (None, None)
        moment = as_utc(now) if now is not None else utcnow()
        ids = list(dict.fromkeys(contact_ids))
        if self._sqlite_path is not None:
            try:
                return _read(self._direct_rows(self._sqlite_path), ids, stored, number_tail, moment)
            except sqlite3.OperationalError:
                self.close()  # locked or not yet created: the async path decides
        async with self.store.engine.connect() as aconn:
            return await aconn.run_sync(_through, ids, stored, number_tail, moment)


def _through(
    conn: Connection,
    contact_ids: Sequence[int],
    number: str | None,
    number_tail: str | None,
    now: datetime,
) -> CardData:
    """:func:`_read` on a SQLAlchemy connection (the async engine's ``run_sync``)."""
    return _read(conn.execute, contact_ids, number, number_tail, now)
