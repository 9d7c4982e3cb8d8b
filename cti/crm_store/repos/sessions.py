"""Agent session intervals in SQL: the open ones of an agent, the ops a rule decided,
and the intervals that overlap a period (for the reports)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm_store.models.sessions import AgentSession
from cti.crm_store.rules.sessions import End, Op, OpenSession, Start
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc, as_utc_opt

Decide = Callable[[Sequence[OpenSession]], Sequence[Op]]


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One interval as the reports read it (``ended_at`` None: still open)."""

    source: str
    extension: str
    queue: str
    kind: str
    reason: str | None
    started_at: datetime
    ended_at: datetime | None


async def open_sessions(
    session: AsyncSession, source: str, pbx: str, extension: str, at: datetime
) -> list[OpenSession]:
    """The agent's intervals open at ``at`` (NULL end, or a planned end still ahead)."""
    rows = await session.scalars(
        select(AgentSession)
        .where(
            AgentSession.source == source,
            AgentSession.pbx == pbx,
            AgentSession.extension == extension,
            or_(AgentSession.ended_at.is_(None), AgentSession.ended_at > at),
        )
        .order_by(AgentSession.id)
    )
    return [
        OpenSession(r.id, r.queue, r.kind, r.reason, as_utc(r.started_at), as_utc_opt(r.ended_at))
        for r in rows
    ]


async def apply_ops(
    session: AsyncSession,
    ops: Sequence[Op],
    *,
    source: str,
    pbx: str,
    extension: str,
    user_id: int | None = None,
) -> None:
    """Write what a rule decided (in the caller's transaction)."""
    for op in ops:
        if isinstance(op, End):
            await session.execute(
                update(AgentSession).where(AgentSession.id == op.id).values(ended_at=op.at)
            )
        elif isinstance(op, Start):
            session.add(
                AgentSession(
                    source=source,
                    pbx=pbx,
                    extension=extension,
                    user_id=user_id,
                    queue=op.queue,
                    kind=op.kind,
                    reason=op.reason,
                    started_at=op.at,
                    ended_at=op.until,
                )
            )


class SessionRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def apply(
        self, source: str, pbx: str, extension: str, at: datetime, decide: Decide
    ) -> list[Op]:
        """Read the agent's open intervals, decide, write: one transaction."""
        async with self.store.sessions() as session, session.begin():
            ops = list(decide(await open_sessions(session, source, pbx, extension, at)))
            await apply_ops(session, ops, source=source, pbx=pbx, extension=extension)
            return ops

    async def overlapping(
        self, since: datetime, until: datetime, extensions: Sequence[str] | None = None
    ) -> list[SessionRow]:
        """The intervals that overlap [since, until) (open ones included), by extension."""
        stmt = select(AgentSession).where(
            AgentSession.started_at < until,
            or_(AgentSession.ended_at.is_(None), AgentSession.ended_at > since),
        )
        if extensions is not None:
            stmt = stmt.where(AgentSession.extension.in_(sorted(set(extensions))))
        async with self.store.sessions() as session:
            return [
                SessionRow(
                    r.source,
                    r.extension,
                    r.queue,
                    r.kind,
                    r.reason,
                    as_utc(r.started_at),
                    as_utc_opt(r.ended_at),
                )
                for r in await session.scalars(stmt.order_by(AgentSession.started_at))
            ]
