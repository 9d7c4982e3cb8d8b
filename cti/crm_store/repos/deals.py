"""Deals in SQL: references checked in the writing transaction, search by words and phone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from cti.crm_store.models import Company, Contact, Deal, User
from cti.crm_store.repos.base import (
    RowRepo,
    paginate,
    party_phone_filter,
    where_equal,
    words_in,
)
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.deals import DealOut, DealQuery
from cti.crm_store.store import Store

_REFS = {"contact_id": Contact, "company_id": Company, "owner_id": User}


class DealRepo(RowRepo[Deal, DealOut]):
    def __init__(self, store: Store) -> None:
        super().__init__(store, Deal, DealOut, "deal", _REFS)

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
