"""Do-not-call numbers in SQL: a global list (``campaign_id`` NULL) and one per campaign.

Adding a number also closes the campaign leads with that number that are still to be
dialled (every campaign's for a global entry), in the same transaction, so no dialer that
claims a lead afterwards can reach the number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm_store.models.campaigns import DncNumber, Lead
from cti.crm_store.schemas.campaigns import DncOut
from cti.crm_store.store import Store

#: numbers per ``IN (…)`` (well under SQLite's bound-parameter limit)
CHUNK = 500


def _scope(campaign_id: int | None) -> ColumnElement[bool]:
    if campaign_id is None:
        return DncNumber.campaign_id.is_(None)
    return DncNumber.campaign_id == campaign_id


async def hits(
    session: AsyncSession, numbers: Iterable[str], campaign_id: int | None
) -> dict[str, str]:
    """Which of ``numbers`` may not be dialled for ``campaign_id``: number → ``global`` or
    ``campaign`` (the global list wins when both hold it)."""
    found: dict[str, str] = {}
    wanted = sorted(set(numbers))
    for i in range(0, len(wanted), CHUNK):
        lists: list[ColumnElement[bool]] = [DncNumber.campaign_id.is_(None)]
        if campaign_id is not None:
            lists.append(DncNumber.campaign_id == campaign_id)
        rows = await session.execute(
            select(DncNumber.number, DncNumber.campaign_id).where(
                DncNumber.number.in_(wanted[i : i + CHUNK]), or_(*lists)
            )
        )
        for number, owner in rows:
            if owner is None or number not in found:
                found[number] = "global" if owner is None else "campaign"
    return found


class DncRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(
        self,
        numbers: Sequence[str],
        *,
        campaign_id: int | None,
        reason: str | None,
        source: str | None,
        by: int | None,
        now: datetime,
    ) -> tuple[int, int]:
        """Add E.164 ``numbers``; returns (numbers added, leads closed). A number already
        on the list stays as it was (its first reason is kept)."""
        added = closed = 0
        async with self.store.sessions() as session, session.begin():
            for i in range(0, len(numbers), CHUNK):
                chunk = sorted(set(numbers[i : i + CHUNK]))
                have = set(
                    await session.scalars(
                        select(DncNumber.number).where(
                            _scope(campaign_id), DncNumber.number.in_(chunk)
                        )
                    )
                )
                new = [n for n in chunk if n not in have]
                session.add_all(
                    DncNumber(
                        campaign_id=campaign_id,
                        number=n,
                        reason=reason,
                        source=source,
                        created_by=by,
                        created_at=now,
                    )
                    for n in new
                )
                added += len(new)
                closed += await _close_leads(session, new, campaign_id, now)
        return added, closed

    async def remove(self, numbers: Sequence[str], *, campaign_id: int | None) -> int:
        """Take ``numbers`` off the list; leads it closed stay closed (recycle them)."""
        removed = 0
        async with self.store.sessions() as session, session.begin():
            for i in range(0, len(numbers), CHUNK):
                result = await session.execute(
                    delete(DncNumber).where(
                        _scope(campaign_id), DncNumber.number.in_(numbers[i : i + CHUNK])
                    )
                )
                removed += int(getattr(result, "rowcount", 0) or 0)
        return removed

    async def entries(
        self, *, campaign_id: int | None, number: str | None = None, limit: int = 1000
    ) -> list[DncOut]:
        stmt = select(DncNumber).where(_scope(campaign_id)).order_by(DncNumber.number)
        if number is not None:
            stmt = stmt.where(DncNumber.number == number)
        async with self.store.sessions() as session:
            rows = await session.scalars(stmt.limit(limit))
            return [DncOut.model_validate(r) for r in rows]

    async def check(self, number: str, campaign_id: int | None) -> str | None:
        """``global``, ``campaign`` or None: may ``number`` be dialled for the campaign?"""
        async with self.store.sessions() as session:
            return (await hits(session, [number], campaign_id)).get(number)


async def _close_leads(
    session: AsyncSession, numbers: Sequence[str], campaign_id: int | None, now: datetime
) -> int:
    if not numbers:
        return 0
    stmt = update(Lead).where(Lead.phone.in_(numbers), Lead.state == "ready")
    if campaign_id is not None:
        stmt = stmt.where(Lead.campaign_id == campaign_id)
    result = await session.execute(stmt.values(state="done", closed_reason="dnc", updated_at=now))
    return int(getattr(result, "rowcount", 0) or 0)
