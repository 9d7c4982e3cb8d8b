"""Campaigns and their versions in SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from cti.crm_store.models.campaigns import (
    Campaign,
    CampaignAgent,
    CampaignVersion,
    DialAttempt,
    Lead,
)
from cti.crm_store.schemas.campaigns import (
    CampaignOut,
    CampaignProgress,
    CampaignVersionOut,
    LoadResult,
)
from cti.crm_store.store import Store
from cti.crm_store.timeutil import as_utc
from cti.errors import ConflictError, NotFoundError


class CampaignRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def by_name(self, name: str) -> CampaignOut | None:
        async with self.store.sessions() as session:
            row = await session.scalar(select(Campaign).where(Campaign.name == name))
            return CampaignOut.model_validate(row) if row is not None else None

    async def get(self, campaign_id: int) -> CampaignOut:
        async with self.store.sessions() as session:
            row = await session.get(Campaign, campaign_id)
            if row is None:
                raise NotFoundError(
                    f"campaign {campaign_id} not found", details={"id": campaign_id}
                )
            return CampaignOut.model_validate(row)

    async def all(self) -> list[CampaignOut]:
        async with self.store.sessions() as session:
            rows = await session.scalars(select(Campaign).order_by(Campaign.name))
            return [CampaignOut.model_validate(r) for r in rows]

    async def running(self) -> list[CampaignOut]:
        """Campaigns the dialer works on now."""
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(Campaign).where(Campaign.status == "running").order_by(Campaign.id)
            )
            return [CampaignOut.model_validate(r) for r in rows]

    async def save_version(
        self,
        *,
        name: str,
        title: str,
        spec: dict[str, Any],
        script: dict[str, Any] | None,
        source_text: str,
        source: str | None,
        sha256: str,
        loaded_by: str | None,
        now: datetime,
    ) -> LoadResult:
        """Create the campaign, or give it a new version when the file changed; one
        transaction, so a failure leaves the previous version in place."""
        async with self.store.sessions() as session, session.begin():
            row = await session.scalar(
                select(Campaign).where(Campaign.name == name).with_for_update()
            )
            if row is not None:
                current = await session.scalar(
                    select(CampaignVersion.sha256).where(
                        CampaignVersion.campaign_id == row.id,
                        CampaignVersion.version == row.version,
                    )
                )
                if current == sha256:
                    return LoadResult(campaign=CampaignOut.model_validate(row), action="unchanged")
                row.version += 1
                row.title, row.spec, row.script = title, spec, script
                action = "updated"
            else:
                # predictive dialling starts from the file's ratio; later loads keep the
                # one the controller reached
                ratio = float((spec.get("pacing") or {}).get("initial_ratio", 1.0))
                row = Campaign(
                    name=name, title=title, spec=spec, script=script, version=1, pacing_ratio=ratio
                )
                session.add(row)
                await session.flush()
                action = "created"
            session.add(
                CampaignVersion(
                    campaign_id=row.id,
                    version=row.version,
                    spec=spec,
                    script=script,
                    source_text=source_text,
                    source=source,
                    sha256=sha256,
                    loaded_by=loaded_by,
                    loaded_at=now,
                )
            )
            await session.flush()
            await session.refresh(row)
            return LoadResult(campaign=CampaignOut.model_validate(row), action=action)

    async def versions(self, campaign_id: int) -> list[CampaignVersionOut]:
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(CampaignVersion)
                .where(CampaignVersion.campaign_id == campaign_id)
                .order_by(CampaignVersion.version)
            )
            return [CampaignVersionOut.model_validate(r) for r in rows]

    async def set_status(
        self,
        campaign_id: int,
        *,
        allowed_from: tuple[str, ...],
        status: str,
        now: datetime,
        command: str = "change",
    ) -> CampaignOut:
        """Move the campaign to ``status`` if it is in one of ``allowed_from`` (checked in
        the same statement, so two supervisors cannot both start and stop it)."""
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == "running":
            values["stopped_at"] = None
        if status == "stopped":
            values["stopped_at"] = now
        stmt = (
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.status.in_(allowed_from))
            .values(**values)
            .returning(Campaign.id)
        )
        async with self.store.sessions() as session, session.begin():
            changed = await session.scalar(stmt)
            row = await session.get(Campaign, campaign_id)
            if row is None:
                raise NotFoundError(
                    f"campaign {campaign_id} not found", details={"id": campaign_id}
                )
            if changed is None:
                raise ConflictError(
                    f"campaign {row.name} is {row.status}: cannot {command} it"
                    f" (only a campaign that is {' or '.join(allowed_from)})",
                    details={"id": campaign_id, "status": row.status},
                )
            if status == "running" and row.started_at is None:
                row.started_at = now
            await session.flush()
            await session.refresh(row)
            return CampaignOut.model_validate(row)

    async def step_ratio(
        self,
        campaign_id: int,
        now: datetime,
        every: timedelta,
        step: Callable[[float], float],
    ) -> tuple[float, float] | None:
        """Step the pacing ratio (``step(old) → new``) if no dialer has within ``every``,
        under the campaign's row lock: one step per period for the campaign, however many
        dialers run. The first call only starts the clock. Returns ``(old, new)`` when it
        stepped."""
        async with self.store.sessions() as session, session.begin():
            row = (
                await session.execute(
                    update(Campaign)
                    .where(Campaign.id == campaign_id)
                    .values(pacing_ratio=Campaign.pacing_ratio)
                    .returning(Campaign.pacing_ratio, Campaign.pacing_ratio_at)
                )
            ).first()
            if row is None:
                return None
            old, at = float(row[0]), row[1]
            if at is not None and now - as_utc(at) < every:
                return None
            new = old if at is None else step(old)
            await session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(pacing_ratio=new, pacing_ratio_at=now)
            )
            return None if at is None else (old, new)

    async def progress(self, campaign_id: int) -> CampaignProgress:
        """Leads by state, attempts by outcome (``dialing`` for those still up), agents by
        state: three grouped counts on indexed columns."""
        async with self.store.sessions() as session:
            leads = await session.execute(
                select(Lead.state, func.count())
                .where(Lead.campaign_id == campaign_id)
                .group_by(Lead.state)
            )
            outcome = func.coalesce(DialAttempt.outcome, "dialing")
            attempts = await session.execute(
                select(outcome, func.count())
                .where(DialAttempt.campaign_id == campaign_id)
                .group_by(outcome)
            )
            agents = await session.execute(
                select(CampaignAgent.state, func.count())
                .where(CampaignAgent.campaign_id == campaign_id)
                .group_by(CampaignAgent.state)
            )
            return CampaignProgress(
                leads={str(k): int(v) for k, v in leads.all()},
                attempts={str(k): int(v) for k, v in attempts.all()},
                agents={str(k): int(v) for k, v in agents.all()},
            )
