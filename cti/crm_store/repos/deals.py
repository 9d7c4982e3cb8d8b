"""Deals in SQL: references checked in the writing transaction, search by words and phone."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Select, delete, select

from cti.crm_store.models import Company, Contact, Deal, User
from cti.crm_store.repos.base import (
    apply_patch,
    ensure_refs,
    get_or_404,
    paginate,
    party_phone_filter,
    refs_of,
    where_equal,
    words_in,
)
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.deals import DealOut, DealQuery
from cti.crm_store.store import Store
from cti.errors import NotFoundError

_REFS = {"contact_id": Contact, "company_id": Company, "owner_id": User}


class DealRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, values: Mapping[str, Any]) -> DealOut:
        async with self.store.sessions() as session:
            await ensure_refs(session, refs_of(values, _REFS))
            deal = Deal(**values)
            session.add(deal)
            await session.commit()
            return DealOut.model_validate(deal)

    async def get(self, deal_id: int) -> DealOut:
        async with self.store.sessions() as session:
            return DealOut.model_validate(await get_or_404(session, Deal, deal_id, "deal"))

    async def update(
        self,
        deal_id: int,
        values: Mapping[str, Any],
        decide: Callable[[DealOut], Mapping[str, Any]],
    ) -> DealOut:
        """Write ``values`` and what ``decide`` adds from the deal as it is now."""
        async with self.store.sessions() as session:
            deal = await get_or_404(session, Deal, deal_id, "deal")
            await ensure_refs(session, refs_of(values, _REFS))
            apply_patch(deal, {**values, **decide(DealOut.model_validate(deal))})
            await session.commit()
            await session.refresh(deal)
            return DealOut.model_validate(deal)

    async def delete(self, deal_id: int) -> None:
        async with self.store.sessions() as session:
            result = await session.execute(delete(Deal).where(Deal.id == deal_id))
            await session.commit()
            if not getattr(result, "rowcount", 0):
                raise NotFoundError(f"deal {deal_id} not found", details={"id": deal_id})

    async def search(self, query: DealQuery) -> Page[DealOut]:
        stmt: Select[Any] = select(Deal)
        if query.q:
            stmt = stmt.where(*words_in(Deal.title, query.q))
        fields = ("stage", "status", "contact_id", "company_id", "owner_id")
        stmt = where_equal(stmt, Deal, query, fields)
        if query.phone:
            stmt = stmt.where(
                party_phone_filter(self.store.phone, query.phone, Deal.contact_id, Deal.company_id)
            )
        params = PageParams(page=query.page, per_page=query.per_page)
        async with self.store.sessions() as session:
            return await paginate(
                session, stmt, params, DealOut, [Deal.updated_at.desc(), Deal.id.desc()]
            )
