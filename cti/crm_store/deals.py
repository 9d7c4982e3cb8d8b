"""Deals in the configured pipeline: stage checks, won/lost bookkeeping, search.

The pipeline is configuration (``[crm] pipeline``), so a stage is validated here and not in
the schema; ``won``/``lost`` are statuses beside the stage (a deal keeps the stage it was
won or lost in), and ``lost`` needs a reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select

from cti.config import CrmConfig
from cti.crm_store.contacts import phone_filter
from cti.crm_store.crud import apply_patch, ensure_refs, get_or_404, invalid, paginate
from cti.crm_store.models import Company, Contact, Deal, Phone, User
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.deals import DealIn, DealOut, DealPatch, DealQuery
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.errors import NotFoundError


def words_in(column: Any, q: str) -> list[ColumnElement[bool]]:
    """Case-insensitive "contains every word" conditions (short lists, never caller-ID)."""
    out: list[ColumnElement[bool]] = []
    for word in q.lower().split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        out.append(func.lower(column).like(f"%{escaped}%", escape="\\"))
    return out


def party_phone_filter(
    store: Store, phone: str, contact_col: Any, company_col: Any
) -> ColumnElement[bool]:
    """Rows whose contact or company has ``phone`` (indexed E.164/tail lookup)."""
    cond = phone_filter(phone, store.phone)
    return or_(
        contact_col.in_(select(Phone.contact_id).where(cond, Phone.contact_id.is_not(None))),
        company_col.in_(select(Phone.company_id).where(cond, Phone.company_id.is_not(None))),
    )


class DealService:
    def __init__(self, store: Store, crm: CrmConfig | None = None) -> None:
        self.store = store
        self.pipeline = (crm or CrmConfig()).pipeline

    def _check_stage(self, stage: str) -> None:
        if stage not in self.pipeline:
            raise invalid("stage", f"unknown stage {stage!r}; pipeline: {', '.join(self.pipeline)}")

    async def create(self, data: DealIn) -> DealOut:
        stage = data.stage or self.pipeline[0]
        self._check_stage(stage)
        values = data.model_dump()
        values["stage"] = stage
        _close_rules(values, None)
        async with self.store.sessions() as session:
            await ensure_refs(session, _refs(values))
            deal = Deal(**values)
            session.add(deal)
            await session.commit()
            return DealOut.model_validate(deal)

    async def get(self, deal_id: int) -> DealOut:
        async with self.store.sessions() as session:
            return DealOut.model_validate(await get_or_404(session, Deal, deal_id, "deal"))

    async def update(self, deal_id: int, patch: DealPatch) -> DealOut:
        values = patch.model_dump(exclude_unset=True)
        for field in ("title", "stage", "currency", "status"):
            if field in values and values[field] is None:
                raise invalid(field, "may not be null")
        if "stage" in values:
            self._check_stage(values["stage"])
        async with self.store.sessions() as session:
            deal = await get_or_404(session, Deal, deal_id, "deal")
            await ensure_refs(session, _refs(values))
            _close_rules(values, deal)
            apply_patch(deal, values)
            await session.commit()
            await session.refresh(deal)
            return DealOut.model_validate(deal)

    async def delete(self, deal_id: int) -> None:
        async with self.store.sessions() as session:
            result = await session.execute(delete(Deal).where(Deal.id == deal_id))
            await session.commit()
            if not getattr(result, "rowcount", 0):
                raise NotFoundError(f"deal {deal_id} not found", details={"id": deal_id})

    async def search(self, query: DealQuery | None = None) -> Page[DealOut]:
        query = query or DealQuery()
        stmt: Select[Any] = select(Deal)
        if query.q:
            stmt = stmt.where(*words_in(Deal.title, query.q))
        for field in ("stage", "status", "contact_id", "company_id", "owner_id"):
            value = getattr(query, field)
            if value is not None:
                stmt = stmt.where(getattr(Deal, field) == value)
        if query.phone:
            stmt = stmt.where(
                party_phone_filter(self.store, query.phone, Deal.contact_id, Deal.company_id)
            )
        params = PageParams(page=query.page, per_page=query.per_page)
        async with self.store.sessions() as session:
            return await paginate(
                session, stmt, params, DealOut, [Deal.updated_at.desc(), Deal.id.desc()]
            )


def _refs(values: dict[str, Any]) -> dict[str, tuple[Any, int | None]]:
    models = {"contact_id": Contact, "company_id": Company, "owner_id": User}
    return {f: (m, values[f]) for f, m in models.items() if values.get(f) is not None}


def _close_rules(values: dict[str, Any], deal: Deal | None) -> None:
    """Won/lost stamp ``closed_at``; lost needs a reason; reopening clears both."""
    status = values.get("status", deal.status if deal else "open")
    reason = values.get("lost_reason", deal.lost_reason if deal else None)
    if status == "lost" and not (reason and reason.strip()):
        raise invalid("lost_reason", "required when the deal is lost")
    was = deal.status if deal else None
    if status != was:
        if status == "open":
            values["closed_at"] = None
            values["lost_reason"] = None
        else:
            values["closed_at"] = utcnow()
    if status == "won":
        values["lost_reason"] = None
