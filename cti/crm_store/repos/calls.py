"""The call log's reads in SQL: one call, search pages, a number's history, the disposition.

An operator's calls are selected through ``call_agents`` (an index of the extensions each
call rang or was answered on), never a ``LIKE`` over the JSON list of rung agents; a number
is matched on its indexed tail and then exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import InstrumentedAttribute

from cti.crm_store.models.calls import Call, CallAgent, CallRing, CallTalk
from cti.crm_store.phones import tail
from cti.crm_store.repos.base import RowRepo, paginate
from cti.crm_store.schemas.calls import CallDetailOut, CallFilter, CallOut, RingOut, TalkOut
from cti.crm_store.schemas.common import Page
from cti.crm_store.store import Store

_NEWEST_FIRST = (Call.started_at.desc().nulls_last(), Call.id.desc())


def touches(
    extensions: Sequence[str], call_id: InstrumentedAttribute[Any] = Call.id
) -> ColumnElement[bool]:
    """Calls answered on, or ringing, one of ``extensions`` (through ``call_agents``):
    the SQL form of :func:`cti.crm_store.rules.visibility.may_see_call`. ``call_id``: the
    column holding the call (another table's reference to it, a note's ``call_id``)."""
    if not extensions:
        return false()
    rung = select(CallAgent.call_id).where(CallAgent.extension.in_(sorted(set(extensions))))
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

    async def search(
        self, filters: CallFilter, *, number: str | None, extensions: Sequence[str] | None
    ) -> Page[CallOut]:
        """A page of calls, newest first: ``number`` is the filter's number as stored;
        ``extensions`` limits to calls that rang or were answered on them (None: all)."""
        stmt = select(Call)
        if extensions is not None:
            stmt = stmt.where(touches(extensions))
        if number is not None:
            stmt = stmt.where(self._same_number(number))
        if filters.agent:
            stmt = stmt.where(touches([filters.agent]))
        for field in ("status", "direction", "campaign", "pbx"):
            value = getattr(filters, field)
            if value:
                stmt = stmt.where(getattr(Call, field) == value)
        if filters.since:
            stmt = stmt.where(Call.started_at >= filters.since)
        if filters.until:
            stmt = stmt.where(Call.started_at < filters.until)
        async with self.store.sessions() as session:
            return await paginate(session, stmt, filters, CallOut, _NEWEST_FIRST)
