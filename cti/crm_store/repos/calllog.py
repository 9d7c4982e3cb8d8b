"""The call log's batch writes in SQL: one read of what a batch touches, then its writes.

A batch of finished calls is one transaction (:meth:`CallLogRepo.batch`): :meth:`BatchTx.read`
fetches, with at most three SELECTs, the stored calls of the batch, the open callbacks of
its numbers and the later answers of its missed numbers, as plain values; the call log
decides in memory what the records change (:mod:`cti.calllog.batch`, with the rules of
:mod:`cti.crm_store.rules.callbacks`); :meth:`BatchTx.write` writes it with one executemany
per table and kind (the ORM would insert one row per statement on SQLite). Each written
call's extensions (rung or answering) go to ``call_agents`` too, the index "my calls" and
per-agent reports select by.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm_store.models.calls import Call, CallAgent, CallRing, CallTalk
from cti.crm_store.models.tasks import Task
from cti.crm_store.phones import tail
from cti.crm_store.repos import rollups
from cti.crm_store.rules.rollups import Deltas
from cti.crm_store.store import Store

#: a call's unique key: (pbx, linkedid)
Key = tuple[str, str]
#: a call's rows of ``call_rings`` and ``call_talks``, without their ``call_id``
CallParts = tuple[list[dict[str, Any]], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class StoredCall:
    """A call of the batch that is stored already (what the batch needs of it)."""

    id: int
    partial: bool
    status: str
    external_number: str | None
    started_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredCallback:
    """An open callback task of one of the batch's numbers."""

    id: int
    phone: str
    queue: str | None
    description: str
    call_id: int | None
    #: the start of the call that opened it, as stored
    call_started_at: datetime | None


@dataclass(frozen=True, slots=True)
class BatchRead:
    calls: dict[Key, StoredCall]
    #: oldest first
    callbacks: list[StoredCallback]
    #: answered calls of the missed numbers after the first miss: (key, number, start)
    answers: list[tuple[Key, str | None, datetime | None]]


@dataclass
class BatchWrite:
    """What a batch changes, as column values."""

    #: calls to insert, in order (every column the call log fills)
    new_calls: list[dict[str, Any]] = field(default_factory=list)
    #: stored (partial) calls rewritten by a complete record: id → every column
    rewritten: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: callback tasks to insert, each with its call's key (``call_id`` None: a new call)
    new_callbacks: list[tuple[dict[str, Any], Key]] = field(default_factory=list)
    #: stored callback tasks changed (closed, or a miss noted): id → changed columns
    changed_callbacks: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: rings and talk parts of every new or rewritten call
    parts: dict[Key, CallParts] = field(default_factory=dict)


def text_limits() -> dict[str, int]:
    """The length of each text column of ``calls`` (``extension``: that of ``call_agents``,
    ``call_rings`` and ``call_talks``), for the call log to fit PBX values to."""
    limits = {
        column.name: column.type.length
        for column in Call.__table__.columns
        if isinstance(column.type, String) and column.type.length
    }
    agents = (
        CallAgent.__table__.c.extension,
        CallRing.__table__.c.agent,
        CallTalk.__table__.c.agent,
    )
    limits["extension"] = min(
        column.type.length or 32 for column in agents if isinstance(column.type, String)
    )
    return limits


def keys_in(keys: Iterable[Key]) -> ColumnElement[bool]:
    """Calls with one of these (pbx, linkedid) (through the unique index)."""
    by_pbx: dict[str, set[str]] = {}
    for pbx, linkedid in keys:
        by_pbx.setdefault(pbx, set()).add(linkedid)
    return or_(
        *(and_(Call.pbx == pbx, Call.linkedid.in_(sorted(ids))) for pbx, ids in by_pbx.items())
    )


def _extensions(values: dict[str, Any], parts: CallParts) -> list[str]:
    """The extensions a call rang, was answered on, placed it or had a part of it (a
    transfer target), as ``call_agents`` keeps them."""
    talked = [talk["agent"] for talk in parts[1]]
    found = {ext[:32] for ext in (values["agent"], *values["agents_rung"], *talked) if ext}
    return sorted(found)


class BatchTx:
    """One batch's transaction (see :meth:`CallLogRepo.batch`)."""

    def __init__(self, session: AsyncSession, tail_digits: int) -> None:
        self.session = session
        self.tail_digits = tail_digits

    def _tails(self, numbers: Collection[str]) -> list[str]:
        return sorted({tail(n, self.tail_digits) for n in numbers})

    async def read(
        self,
        keys: Sequence[Key],
        numbers: Collection[str],
        missed: Collection[str],
        since: datetime | None,
    ) -> BatchRead:
        """The stored calls of ``keys``, the open callbacks of ``numbers`` and the answered
        calls of the ``missed`` numbers started after ``since`` (each query only when the
        batch needs it)."""
        session = self.session
        stored = await session.execute(
            select(
                Call.id,
                Call.pbx,
                Call.linkedid,
                Call.partial,
                Call.status,
                Call.external_number,
                Call.started_at,
            ).where(keys_in(keys))
        )
        calls = {
            (pbx, linkedid): StoredCall(call_id, partial, status, number, started_at)
            for call_id, pbx, linkedid, partial, status, number, started_at in stored
        }
        if not numbers:
            return BatchRead(calls, [], [])
        rows = await session.execute(
            select(Task.id, Task.phone, Task.queue, Task.description, Task.call_id, Call.started_at)
            .outerjoin(Call, Call.id == Task.call_id)
            .where(Task.kind == "callback", Task.done.is_(False))
            .where(Task.phone_tail.in_(self._tails(numbers)), Task.phone.in_(sorted(numbers)))
            .order_by(Task.id)
        )
        callbacks = [
            StoredCallback(task_id, phone or "", queue, description, call_id, started_at)
            for task_id, phone, queue, description, call_id, started_at in rows
        ]
        if not missed or since is None:
            return BatchRead(calls, callbacks, [])
        later = await session.execute(
            select(Call.pbx, Call.linkedid, Call.external_number, Call.started_at)
            .where(
                Call.external_tail.in_(self._tails(missed)),
                Call.external_number.in_(sorted(missed)),
            )
            .where(Call.status == "answered", Call.started_at > since)
        )
        answers = [((pbx, linkedid), number, start) for pbx, linkedid, number, start in later]
        return BatchRead(calls, callbacks, answers)

    async def write(self, batch: BatchWrite, now: datetime) -> None:
        """Write ``batch``: UPDATEs by primary key for stored rows, one executemany INSERT
        per table for new ones (the new calls' ids come back with it: RETURNING)."""
        session = self.session
        deltas = Deltas()
        if batch.rewritten:
            await self._count_out(sorted(batch.rewritten), deltas)
            await session.execute(
                update(Call),
                [{"id": i, **values, "updated_at": now} for i, values in batch.rewritten.items()],
            )
        ids: dict[Key, int] = {}
        if batch.new_calls:
            inserted = await session.execute(
                insert(Call)
                .returning(Call.pbx, Call.linkedid, Call.id)
                .execution_options(render_nulls=True),
                batch.new_calls,
            )
            ids = {(pbx, linkedid): call_id for pbx, linkedid, call_id in inserted}
        ids.update({(v["pbx"], v["linkedid"]): call_id for call_id, v in batch.rewritten.items()})
        await self._write_agents(batch, ids)
        await self._write_parts(batch, ids)
        for values in (*batch.rewritten.values(), *batch.new_calls):
            rings, talks = batch.parts.get((values["pbx"], values["linkedid"]), ([], []))
            deltas.add(values, rings, talks)
        await rollups.apply(session, deltas)
        # stored callbacks first: one the batch closed must be closed before the batch's
        # new open callback for the same number and queue goes in (a unique index)
        if batch.changed_callbacks:
            await session.execute(
                update(Task),
                [
                    {"id": i, **values, "updated_at": now}
                    for i, values in batch.changed_callbacks.items()
                ],
            )
        if batch.new_callbacks:
            tasks = [
                {**values, "call_id": values["call_id"] or ids[key]}
                for values, key in batch.new_callbacks
            ]
            await session.execute(insert(Task).execution_options(render_nulls=True), tasks)

    async def _count_out(self, call_ids: list[int], deltas: Deltas) -> None:
        """Take the stored version of calls about to be rewritten out of the rollups."""
        session = self.session
        stored = await session.execute(
            select(Call.id, Call.direction, Call.status, Call.queue, Call.started_at)
            .add_columns(Call.queue_wait_seconds, Call.ivr_seconds)
            .where(Call.id.in_(call_ids))
        )
        rings: dict[int, list[dict[str, Any]]] = {}
        talks: dict[int, list[dict[str, Any]]] = {}
        for row in await session.execute(
            select(CallRing.call_id, CallRing.agent, CallRing.started_at)
            .add_columns(CallRing.seconds, CallRing.answered)
            .where(CallRing.call_id.in_(call_ids))
        ):
            rings.setdefault(row.call_id, []).append(row._asdict())
        for row in await session.execute(
            select(CallTalk.call_id, CallTalk.agent, CallTalk.started_at)
            .add_columns(CallTalk.seconds, CallTalk.hold_seconds)
            .where(CallTalk.call_id.in_(call_ids))
        ):
            talks.setdefault(row.call_id, []).append(row._asdict())
        for row in stored:
            values = row._asdict()
            deltas.add(values, rings.get(row.id, []), talks.get(row.id, []), sign=-1)

    async def _write_agents(self, batch: BatchWrite, ids: dict[Key, int]) -> None:
        if batch.rewritten:
            stale = sorted(batch.rewritten)
            await self.session.execute(delete(CallAgent).where(CallAgent.call_id.in_(stale)))
        rows = [
            {"call_id": ids[key], "extension": ext, "started_at": values.get("started_at")}
            for values in (*batch.rewritten.values(), *batch.new_calls)
            for key in [(values["pbx"], values["linkedid"])]
            for ext in _extensions(values, batch.parts.get(key, ([], [])))
        ]
        if rows:
            await self.session.execute(insert(CallAgent), rows)

    async def _write_parts(self, batch: BatchWrite, ids: dict[Key, int]) -> None:
        """Each new or rewritten call's rings and talk parts (a rewrite replaces them)."""
        if batch.rewritten:
            stale = sorted(batch.rewritten)
            await self.session.execute(delete(CallRing).where(CallRing.call_id.in_(stale)))
            await self.session.execute(delete(CallTalk).where(CallTalk.call_id.in_(stale)))
        rings = [
            {**ring, "call_id": ids[key]}
            for key, (key_rings, _) in batch.parts.items()
            for ring in key_rings
        ]
        talks = [
            {**talk, "call_id": ids[key]}
            for key, (_, key_talks) in batch.parts.items()
            for talk in key_talks
        ]
        if rings:
            await self.session.execute(insert(CallRing), rings)
        if talks:
            await self.session.execute(insert(CallTalk), talks)


class CallLogRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[BatchTx]:
        """One session and one COMMIT (on leaving without an error) for a batch."""
        async with self.store.sessions() as session:
            yield BatchTx(session, self.store.phone.tail_digits)
            await session.commit()

    async def stored_keys(self, keys: Sequence[Key]) -> set[Key]:
        """Which of ``keys`` are stored now (to tell a concurrent writer's race)."""
        async with self.store.sessions() as session:
            rows = await session.execute(select(Call.pbx, Call.linkedid).where(keys_in(keys)))
            return {(pbx, linkedid) for pbx, linkedid in rows}
