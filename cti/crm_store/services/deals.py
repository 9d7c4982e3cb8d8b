"""Deals in the configured pipeline: stage and close rules decided, then the repository."""

from __future__ import annotations

from cti.config import CrmConfig
from cti.crm_store.repos.deals import DealRepo
from cti.crm_store.rules import deals as rules
from cti.crm_store.rules.fields import refuse_nulls
from cti.crm_store.schemas.common import Page
from cti.crm_store.schemas.deals import DealIn, DealOut, DealPatch, DealQuery
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow


class DealService:
    def __init__(self, store: Store, crm: CrmConfig | None = None) -> None:
        self.store = store
        self.pipeline = (crm or CrmConfig()).pipeline
        self.repo = DealRepo(store)

    async def create(self, data: DealIn) -> DealOut:
        stage = data.stage or self.pipeline[0]
        rules.check_stage(stage, self.pipeline)
        values = data.model_dump()
        values["stage"] = stage
        values.update(rules.closing(values, None, utcnow()))
        return await self.repo.create(values)

    async def get(self, deal_id: int) -> DealOut:
        return await self.repo.get(deal_id)

    async def update(self, deal_id: int, patch: DealPatch) -> DealOut:
        values = patch.model_dump(exclude_unset=True)
        refuse_nulls(values, ("title", "stage", "currency", "status"))
        if "stage" in values:
            rules.check_stage(values["stage"], self.pipeline)
        return await self.repo.update(
            deal_id,
            values,
            lambda deal: rules.closing(values, (deal.status, deal.lost_reason), utcnow()),
        )

    async def delete(self, deal_id: int) -> None:
        await self.repo.delete(deal_id)

    async def search(self, query: DealQuery | None = None) -> Page[DealOut]:
        return await self.repo.search(query or DealQuery())
