"""One batch of call records applied in memory against one read of the rows it touches.

:meth:`cti.calllog.service.CallLog.record_many` prepares a :class:`Row` per record (caller
match, owners: reads outside the write transaction), then a :class:`Batch` reads the stored
calls, open callbacks and later answers the batch touches with a few queries, applies the
records in order (each seeing the ones before it, exactly as one by one) and writes the new
rows with one executemany per table. Each written call's extensions (rung or answering) go to
``call_agents`` too, the index "my calls" and per-agent reports select by.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cti.ami.events import CallRecord
from cti.crm_store.models.calls import Call, CallAgent
from cti.crm_store.models.tasks import Task
from cti.crm_store.phones import tail
from cti.crm_store.timeutil import as_utc, as_utc_opt, utcnow

UNANSWERED_INBOUND = frozenset({"missed", "abandoned"})

Key = tuple[str, str]
#: what a new callback task is inserted with (the rest: column defaults)
_TASK_COLUMNS = (
    "title",
    "description",
    "kind",
    "done",
    "done_at",
    "done_reason",
    "due_at",
    "assignee_id",
    "queue",
    "phone",
    "phone_tail",
    "contact_id",
    "call_id",
)


@dataclass(slots=True)
class Row:
    """A record ready to write: its column values and callback owner, read beforehand."""

    record: CallRecord
    number: str | None
    fields: dict[str, Any]
    owner: tuple[int | None, str | None] = (None, None)

    @property
    def answered(self) -> bool:
        """Closes the open callbacks of its number."""
        return bool(self.number) and self.record.status == "answered"

    @property
    def missed(self) -> bool:
        """Opens (or notes itself on) a callback for its number."""
        r = self.record
        return bool(self.number) and r.direction == "inbound" and r.status in UNANSWERED_INBOUND


@dataclass(slots=True)
class OpenCallback:
    task: Task
    #: the missed call when the batch holds it (its start may change within the batch) …
    call: Call | None
    #: … else its start as read
    started_at: datetime | None

    def missed_at(self) -> datetime | None:
        return as_utc_opt(self.call.started_at if self.call is not None else self.started_at)


class Batch:
    """What one batch touches, read with a few queries in one session; the records are then
    applied in order in memory, with exactly the outcome of ``CallLog.record`` applying them
    one by one (each seeing the ones before it)."""

    def __init__(self, tail_digits: int) -> None:
        self.tail_digits = tail_digits
        self.rows: Sequence[Row] = ()
        #: the batch's calls: as stored, then as written (in order)
        self.calls: dict[Key, Call] = {}
        #: starts of answered calls not in the batch, per number (only after the first miss)
        self.answered: dict[str, list[datetime]] = {}
        #: open callback tasks per number, oldest first (stored ones, then the batch's)
        self.callbacks: dict[str, list[OpenCallback]] = {}
        #: calls to insert, in order (not in the session: one executemany writes them)
        self.new_calls: list[Call] = []
        #: stored (partial) calls the batch rewrote, by id: their extensions are written anew
        self.rewritten: dict[int, Call] = {}
        #: callback tasks to insert, with their calls (new calls get their ids on insert)
        self.new_tasks: list[tuple[Task, Call]] = []

    async def load(self, session: AsyncSession, rows: Sequence[Row]) -> None:
        self.rows = rows
        keys = [(r.record.pbx, r.record.linkedid) for r in rows]
        for call in await session.scalars(select(Call).where(keys_in(keys))):
            self.calls[(call.pbx, call.linkedid)] = call
        numbers = {r.number for r in rows if r.number and (r.answered or r.missed)}
        if not numbers:
            return
        by_id = {call.id: call for call in self.calls.values()}
        tasks = await session.execute(
            select(Task, Call.started_at)
            .outerjoin(Call, Call.id == Task.call_id)
            .where(Task.kind == "callback", Task.done.is_(False))
            .where(Task.phone_tail.in_(self._tails(numbers)), Task.phone.in_(sorted(numbers)))
            .order_by(Task.id)
        )
        for task, started_at in tasks:
            held = by_id.get(task.call_id) if task.call_id is not None else None
            entry = OpenCallback(task, held, started_at)
            self.callbacks.setdefault(task.phone or "", []).append(entry)
        missed = {r.number for r in rows if r.number and r.missed}
        whens = [as_utc(w) for r in rows if r.missed and (w := _when(r.record)) is not None]
        if not whens:
            return
        later = await session.execute(
            select(Call.pbx, Call.linkedid, Call.external_number, Call.started_at)
            .where(
                Call.external_tail.in_(self._tails(missed)),
                Call.external_number.in_(sorted(missed)),
            )
            .where(Call.status == "answered", Call.started_at > min(whens))
        )
        for pbx, linkedid, number, started_at in later:
            if (pbx, linkedid) not in self.calls and number and started_at is not None:
                self.answered.setdefault(number, []).append(as_utc(started_at))

    def apply(self, row: Row) -> bool:
        """Apply ``row`` in memory; False when its call is already stored."""
        record = row.record
        key = (record.pbx, record.linkedid)
        call = self.calls.get(key)
        if call is not None:
            if not call.partial or record.partial:
                return False
            for name, value in row.fields.items():
                setattr(call, name, value)
            if call.id is not None:  # stored before this batch (else it is a new call still)
                self.rewritten[call.id] = call
        else:
            call = Call(**row.fields)
            self.new_calls.append(call)
            self.calls[key] = call
        if row.number and row.answered:
            self._close_callbacks(call, row.number)
        elif row.number and row.missed:
            self._open_callback(call, row, row.number)
        return True

    async def save(self, session: AsyncSession) -> None:
        """Write what :meth:`apply` did: stored rows changed through the session (UPDATEs),
        new rows with one executemany INSERT per table (the ORM would insert one row per
        statement on SQLite); the new calls' ids come back with their INSERT (RETURNING)."""
        ids: dict[Key, int] = {}
        if self.new_calls:
            columns = list(self.rows[0].fields)  # what CallLog fills (all the call's columns)
            inserted = await session.execute(
                insert(Call)
                .returning(Call.pbx, Call.linkedid, Call.id)
                .execution_options(render_nulls=True),
                [_values(call, columns) for call in self.new_calls],
            )
            ids = {(pbx, linkedid): call_id for pbx, linkedid, call_id in inserted}
        await self._save_agents(session, ids)
        if not self.new_tasks:
            return
        tasks = []
        for task, call in self.new_tasks:
            task.call_id = call.id if call.id is not None else ids[(call.pbx, call.linkedid)]
            tasks.append(_values(task, _TASK_COLUMNS))
        await session.execute(insert(Task).execution_options(render_nulls=True), tasks)

    async def _save_agents(self, session: AsyncSession, ids: dict[Key, int]) -> None:
        if self.rewritten:
            stale = sorted(self.rewritten)
            await session.execute(delete(CallAgent).where(CallAgent.call_id.in_(stale)))
        rows = [
            {"call_id": call_id, "extension": ext}
            for call_id, call in self.rewritten.items()
            for ext in _extensions(call)
        ]
        rows += [
            {"call_id": ids[(call.pbx, call.linkedid)], "extension": ext}
            for call in self.new_calls
            for ext in _extensions(call)
        ]
        if rows:
            await session.execute(insert(CallAgent), rows)

    def _tails(self, numbers: set[str]) -> list[str]:
        return sorted({tail(n, self.tail_digits) for n in numbers})

    def _answered_after(self, number: str, when: datetime, call: Call) -> bool:
        if any(started > when for started in self.answered.get(number, ())):
            return True
        for other in self.calls.values():
            if other is call or other.status != "answered" or other.external_number != number:
                continue
            started = as_utc_opt(other.started_at)
            if started is not None and started > when:
                return True
        return False

    def _open_callback(self, call: Call, row: Row, number: str) -> None:
        record = row.record
        when = _when(record)
        if when is not None and self._answered_after(number, as_utc(when), call):
            return  # replayed out of order: the number was answered later already
        seen = f"{record.status} call {record.pbx}/{record.linkedid}"
        for entry in self.callbacks.get(number, ()):
            if not entry.task.done:  # one open callback per number
                entry.task.description = f"{entry.task.description}\nagain: {seen}".strip()
                return
        label = f"{record.from_name} ({number})" if record.from_name else number
        assignee, queue = row.owner
        rung = ", ".join(record.agents_rung) or "nobody"
        task = Task(
            title=f"Call back {label}",
            description=f"{seen}; queue {record.queue or '-'}; rung: {rung}",
            kind="callback",
            done=False,
            due_at=record.ended_at or utcnow(),
            assignee_id=assignee,
            queue=queue,
            phone=number,
            phone_tail=tail(number, self.tail_digits),
            contact_id=call.contact_id,
        )
        self.callbacks.setdefault(number, []).append(OpenCallback(task, call, None))
        self.new_tasks.append((task, call))

    def _close_callbacks(self, call: Call, number: str) -> None:
        answered = as_utc_opt(call.started_at)
        for entry in self.callbacks.get(number, ()):
            if entry.task.done:
                continue
            missed = entry.missed_at()
            if answered is not None and missed is not None and missed > answered:
                continue  # the miss came after this answer (out-of-order replay)
            entry.task.done = True
            entry.task.done_at = utcnow()
            entry.task.done_reason = f"answered {call.direction} call {call.pbx}/{call.linkedid}"


def _when(record: CallRecord) -> datetime | None:
    return record.started_at or record.ended_at


def _extensions(call: Call) -> list[str]:
    """The extensions a call rang or was answered on, as ``call_agents`` keeps them."""
    found = {ext[:32] for ext in (call.agent, *call.agents_rung) if ext}
    return sorted(found)


def _values(row: Call | Task, columns: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in columns}


def keys_in(keys: Iterable[Key]) -> ColumnElement[bool]:
    """Calls with one of these (pbx, linkedid) (through the unique index)."""
    by_pbx: dict[str, set[str]] = {}
    for pbx, linkedid in keys:
        by_pbx.setdefault(pbx, set()).add(linkedid)
    return or_(
        *(and_(Call.pbx == pbx, Call.linkedid.in_(sorted(ids))) for pbx, ids in by_pbx.items())
    )
