"""Results and the raw-answer CSV from the store: read through the repository, then the
pure aggregation of :mod:`cti.surveys.results`, per script version."""

from __future__ import annotations

from cti.crm_store.repos.surveys import ResponseFilter, ResponseRow, SurveyRepo
from cti.crm_store.store import Store
from cti.surveys.results import Results, aggregate, csv_text
from cti.surveys.script import Script


class SurveyReports:
    def __init__(self, store: Store) -> None:
        self.repo = SurveyRepo(store)

    async def _read(self, where: ResponseFilter) -> tuple[dict[str, Script], list[ResponseRow]]:
        await self.repo.link_calls()  # call records stored since: their dispositions show
        rows = await self.repo.rows(where)
        stored = await self.repo.scripts(sorted({r.response.script_version for r in rows}))
        return {v: Script.model_validate(d) for v, d in stored.items()}, rows

    async def results(self, where: ResponseFilter) -> Results:
        scripts, rows = await self._read(where)
        by_version: dict[str, list[ResponseRow]] = {}
        for row in rows:
            by_version.setdefault(row.response.script_version, []).append(row)
        return Results(
            versions=[
                aggregate(scripts[v], group) for v, group in by_version.items() if v in scripts
            ]
        )

    async def csv(self, where: ResponseFilter) -> str:
        scripts, rows = await self._read(where)
        return csv_text(scripts, rows)
