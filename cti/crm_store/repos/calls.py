"""The call log's reads in SQL: one call, keyset pages, counts, export batches, a number's
history, the disposition.

An operator's calls are selected through ``call_agents`` (an index of the extensions each
call rang or was answered on), never a ``LIKE`` over the JSON list of rung agents; a number
is matched on its indexed tail and then exactly.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, false, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from cti.crm_store.models.calls import Call, CallAgent, CallRing, CallTalk
from cti.crm_store.models.contacts import Contact
from cti.crm_store.phones import tail
from cti.crm_store.repos.base import RowRepo
from cti.crm_store.rules.keyset import Position, encode
from cti.crm_store.schemas.calls import (
    CallDetailOut,
    CallFilter,
    CallOut,
    CallPage,
    RingOut,
    TalkOut,
)
from cti.crm_store.store import Store

_NEWEST_FIRST = (Call.started_at.desc().nulls_last(), Call.id.desc())


def touches(
    extensions: Sequence[str],
    call_id: InstrumentedAttribute[Any] = Call.id,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ColumnElement[bool]:
    """Calls answered on, or ringing, one of ``extensions`` (through ``call_agents``):
    the SQL form of :func:`cti.crm_store.rules.visibility.may_see_call`. ``call_id``: the
    column holding the call (another table's reference to it, a note's ``call_id``).
    ``since``/``until``: only calls started then (a range of the extensions' index, so a
    month of an agent's history reads that month's calls, not all of theirs)."""
    if not extensions:
        return false()
    rung = select(CallAgent.call_id).where(CallAgent.extension.in_(sorted(set(extensions))))
    if since is not None:
        rung = rung.where(CallAgent.started_at >= since)
    if until is not None:
        rung = rung.where(CallAgent.started_at < until)
    return call_id.in_(rung)


class CallRepo(RowRepo[Call, CallOut]):
    def __init__(self, store: Store) -> None:
        super().__init__(store, Call, CallOut, "call", {})

    def _same_number(self, number: str) -> Any:
        """Rows of ``calls`` with this external number (through the indexed tail)."""
        return (Call.external_tail == tail(number, self.store.phone.tail_digits)) & (
            Call.external_number == number
        )

    async def detail(self, call_id: int) -> CallDetailOut:
        """One call with its rings and talk parts (two indexed reads by ``call_id``)."""
        call = await self.get(call_id)
        async with self.store.sessions() as session:
            rings = await session.scalars(
                select(CallRing).where(CallRing.call_id == call_id).order_by(CallRing.seq)
            )
            ring_out = [RingOut.model_validate(ring) for ring in rings]
            talks = await session.scalars(
                select(CallTalk).where(CallTalk.call_id == call_id).order_by(CallTalk.seq)
            )
            talk_out = [TalkOut.model_validate(talk) for talk in talks]
        return CallDetailOut(**call.model_dump(), rings=ring_out, talks=talk_out)

    async def parties(self, call_id: int) -> list[str] | None:
        """The extensions ``call_id`` rang or was answered on (``call_agents``); None when
        there is no such call."""
        async with self.store.sessions() as session:
            if await session.get(Call, call_id) is None:
                return None
            stmt = select(CallAgent.extension).where(CallAgent.call_id == call_id)
            return list(await session.scalars(stmt))

    async def set_disposition(self, call_id: int, disposition: str | None) -> CallOut:
        return await self.update(call_id, {"disposition": disposition})

    async def recent(self, number: str, limit: int) -> list[CallOut]:
        """The latest ``limit`` calls with this external number (as stored), newest first."""
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(Call).where(self._same_number(number)).order_by(*_NEWEST_FIRST).limit(limit)
            )
            return [CallOut.model_validate(row) for row in rows]

    async def page(self, listing: Listing, after: Position | None, limit: int) -> CallPage:
        """Up to ``limit`` calls of ``listing`` after ``after`` (None: from the start), and
        the cursor of the next page when there are more."""
        rows = await self._rows(listing, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = encode(listing.position(rows[-1]), listing.scope) if more and rows else None
        return CallPage(items=rows, next_cursor=cursor)

    async def count(self, listing: Listing) -> int:
        """How many calls ``listing`` selects (a request of its own, never per page)."""
        stmt = select(func.count()).select_from(Call).where(*listing.where)
        async with self.store.sessions() as session:
            return int(await session.scalar(stmt) or 0)

    async def batches(self, listing: Listing, size: int) -> AsyncGenerator[list[CallOut], None]:
        """Every call of ``listing`` in its order, ``size`` at a time: one keyset query per
        batch, so an export of millions of rows holds one batch in memory."""
        after: Position | None = None
        while True:
            rows = await self._rows(listing, after, size)
            if rows:
                yield rows
            if len(rows) < size:
                return
            after = listing.position(rows[-1])

    async def _rows(self, listing: Listing, after: Position | None, limit: int) -> list[CallOut]:
        """The rows after ``after``: those with a sort value first (through the index on
        it), then, once they run out, those without one (by id)."""
        out: list[CallOut] = []
        async with self.store.sessions() as session:
            if after is None or after.value is not None:
                stmt = listing.valued(after).limit(limit)
                out = [CallOut.model_validate(row) for row in await _plain_rows(session, stmt)]
                after = None
            if len(out) < limit:
                stmt = listing.unvalued(after).limit(limit - len(out))
                out += [CallOut.model_validate(row) for row in await _plain_rows(session, stmt)]
        return out


async def _plain_rows(session: AsyncSession, stmt: Select[Any]) -> list[dict[str, Any]]:
    """The rows as plain mappings: no ORM objects and identity map for thousands of rows
    (an export reads millions, a page at a time)."""
    result = await session.execute(stmt)
    return [dict(row) for row in result.mappings()]


#: the columns a page reads (those of :class:`CallOut`)
_COLUMNS = [Call.__table__.c[name] for name in CallOut.model_fields]

#: sort name → (column, newest/largest first)
SORTS: dict[str, tuple[InstrumentedAttribute[Any], bool]] = {
    "-started_at": (Call.started_at, True),
    "started_at": (Call.started_at, False),
    "-duration": (Call.talk_seconds, True),
    "duration": (Call.talk_seconds, False),
}


@dataclass(frozen=True)
class Listing:
    """One listing of calls: its conditions (filters and the caller's visibility), its
    order, and the scope its cursors are bound to (see :mod:`cti.crm_store.rules.keyset`).

    The order is the sort column then the id, both the same way round; rows without a sort
    value (no start, no talk time) come after all the others, by id.
    """

    where: tuple[ColumnElement[bool], ...]
    sort: str
    scope: str

    @property
    def column(self) -> InstrumentedAttribute[Any]:
        return SORTS[self.sort][0]

    @property
    def descending(self) -> bool:
        return SORTS[self.sort][1]

    def position(self, row: CallOut) -> Position:
        value = row.started_at if self.column is Call.started_at else row.talk_seconds
        return Position(value, row.id)

    def valued(self, after: Position | None) -> Select[Any]:
        col, desc = self.column, self.descending
        stmt = select(*_COLUMNS).where(*self.where, col.is_not(None))
        if after is not None:
            key = tuple_(col, Call.id)
            bound = tuple_(literal(after.value, col.type), literal(after.id, Integer()))
            stmt = stmt.where(key < bound if desc else key > bound)
        order = (col.desc(), Call.id.desc()) if desc else (col.asc(), Call.id.asc())
        return stmt.order_by(*order)

    def unvalued(self, after: Position | None) -> Select[Any]:
        stmt = select(*_COLUMNS).where(*self.where, self.column.is_(None))
        if after is not None:
            stmt = stmt.where(Call.id < after.id if self.descending else Call.id > after.id)
        return stmt.order_by(Call.id.desc() if self.descending else Call.id.asc())


def conditions(
    filters: CallFilter,
    *,
    number: str | None,
    extensions: Sequence[str] | None,
    tail_digits: int,
) -> list[ColumnElement[bool]]:
    """The WHERE of ``filters`` (``number``: its number as stored) within ``extensions``
    (an operator's phones; None: every call)."""
    where: list[ColumnElement[bool]] = []
    since, until = filters.period()
    if extensions is not None:
        where.append(touches(extensions, since=since, until=until))
    if number is not None:
        where += [Call.external_tail == tail(number, tail_digits), Call.external_number == number]
    if filters.agent:
        where.append(touches([filters.agent], since=since, until=until))
    for field in ("status", "direction", "campaign", "pbx", "queue", "disposition"):
        value = getattr(filters, field)
        if value:
            where.append(getattr(Call, field) == value)
    if filters.contact is not None:
        where.append(Call.contact_id == filters.contact)
    if filters.company is not None:
        staff = select(Contact.id).where(Contact.company_id == filters.company)
        where.append(Call.contact_id.in_(staff))
    if since is not None:
        where.append(Call.started_at >= since)
    if until is not None:
        where.append(Call.started_at < until)
    return where
