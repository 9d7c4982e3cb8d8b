"""The reports: read the store's aggregates, compute the figures, label the definitions.

Each report takes a :class:`~cti.reports.calendar.Period` (local days in a time zone) and
returns its JSON shape (:mod:`cti.reports.schemas`); ``now`` is passed in so the figures of
a past period never depend on the clock and open intervals end at ``now``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from cti.config import ReportsConfig, SlaTarget
from cti.crm_store.repos.campaigns import CampaignRepo
from cti.crm_store.repos.dialer import DialerRepo
from cti.crm_store.repos.reports import ReportRepo
from cti.crm_store.repos.sessions import SessionRepo
from cti.crm_store.store import Store
from cti.reports import figures, sla
from cti.reports.calendar import BusinessCalendar, Period, offset_spans
from cti.reports.schemas import (
    AgentsReport,
    CallbackRow,
    CallbacksReport,
    CampaignFiguresOut,
    CampaignsReport,
    DealRow,
    HeatmapReport,
    OverdueRow,
    PeriodOut,
    QueuesReport,
    SlaReport,
)

REPORTS = ("agents", "queues", "callbacks", "heatmap", "campaigns", "sla")
DEFINITIONS = {
    "agents": (
        "per agent (extension): offered = calls that rang them, answered = answered by "
        "them, missed = offered - answered (a per-agent ring measure: a call ringing two "
        "agents is offered to both); talk excludes hold; AHT = (talk + hold + wrap-up) / "
        "handled; occupancy = handle / (logged in - paused); utilisation = handle / logged "
        "in; logged-in, pause and wrap-up time: the union of the agent's session intervals"
    ),
    "queues": (
        "inbound calls per queue: offered = answered + abandoned + timed out; short abandons "
        "(within {short:g} s) apart and out of the abandon rate; service level {variant} "
        "(answered within {threshold:g} s); ASA = wait of answered / answered"
    ),
    "callbacks": (
        "inbound calls missed or abandoned in the period with no later answered call with "
        "the number and an open callback task; age = now - the first such miss"
    ),
    "heatmap": "inbound calls by local weekday and hour of their start",
    "campaigns": (
        "dial attempts ended in the period: contact rate = live / attempts; abandon rate = "
        "abandoned / live (Ofcom 24 h and FCC 30-day windows ending at the period's end)"
    ),
    "sla": (
        "ticket clocks judged in the period (met when stopped by the due time, breached "
        "when the due time passed first); compliance = met / (met + breached); {hours}"
    ),
}


def period_out(period: Period) -> PeriodOut:
    return PeriodOut.model_validate(
        {
            "from": period.first,
            "to": period.last,
            "tz": period.tz.key,
            "since": period.since,
            "until": period.until,
        }
    )


class ReportService:
    def __init__(
        self,
        store: Store,
        settings: ReportsConfig,
        sla_policy: Mapping[str, SlaTarget] | None = None,
    ) -> None:
        self.repo = ReportRepo(store)
        self.sessions = SessionRepo(store)
        self.dialer = DialerRepo(store)
        self.campaign_repo = CampaignRepo(store)
        self.settings = settings
        self.policy = dict(sla_policy or {})
        self.calendar = BusinessCalendar.of(
            settings.business_hours, settings.holidays, settings.business_timezone
        )

    async def agents(
        self,
        period: Period,
        now: datetime,
        extensions: Sequence[str] | None = None,
        *,
        by_day: bool = True,
    ) -> AgentsReport:
        """``extensions``: only these agents (an operator's own); None: all. ``by_day``:
        also each agent's figures per local day."""
        since, until = period.since, period.until
        spans = offset_spans(period.tz, since, until)
        sums = await self.repo.agent_sums(spans, extensions, by_day)
        sessions = await self.sessions.overlapping(since, until, extensions)
        _, users = await self.repo.people()
        per_agent, per_day = figures.agents(
            sums, sessions, period, now=now, users=users, by_day=by_day
        )
        return AgentsReport(
            report="agents",
            period=period_out(period),
            definition=DEFINITIONS["agents"],
            agents=per_agent,
            days=per_day,
        )

    async def queues(self, period: Period) -> QueuesReport:
        cfg = self.settings
        rows = await self.repo.queues(
            period.since,
            period.until,
            short=cfg.short_abandon_seconds,
            threshold=cfg.service_level_seconds,
        )
        totals: dict[str, dict[str, int]] = defaultdict(dict)
        for direction, status, calls in await self.repo.call_totals(period.since, period.until):
            totals[direction][status] = calls
        variant = cfg.service_level_variant
        return QueuesReport(
            report="queues",
            period=period_out(period),
            definition=DEFINITIONS["queues"].format(
                short=cfg.short_abandon_seconds,
                variant=variant,
                threshold=cfg.service_level_seconds,
            ),
            service_level_seconds=cfg.service_level_seconds,
            service_level_variant=variant,
            short_abandon_seconds=cfg.short_abandon_seconds,
            queues=[figures.queue_figures(r, variant) for r in rows],
            total=figures.queue_figures(figures.queue_total(rows), variant),
            calls=dict(totals),
        )

    async def callbacks(self, period: Period, now: datetime, limit: int = 1000) -> CallbacksReport:
        users, _ = await self.repo.people()
        rows = await self.repo.missed_not_called_back(period.since, period.until, limit)
        return CallbacksReport(
            report="callbacks",
            period=period_out(period),
            definition=DEFINITIONS["callbacks"],
            at=now,
            items=[
                CallbackRow(
                    number=r.number,
                    misses=r.misses,
                    first_missed_at=r.first_missed_at,
                    last_missed_at=r.last_missed_at,
                    age_seconds=round(max(0.0, (now - r.first_missed_at).total_seconds()), 3),
                    queue=r.queue,
                    task_id=r.task_id,
                    assignee=users.get(r.assignee_id) if r.assignee_id is not None else None,
                )
                for r in rows
            ],
        )

    async def heatmap(self, period: Period) -> HeatmapReport:
        spans = offset_spans(period.tz, period.since, period.until)
        cells = figures.heatmap(await self.repo.inbound_hours(spans))
        return HeatmapReport(
            report="heatmap",
            period=period_out(period),
            definition=DEFINITIONS["heatmap"],
            weekdays=list(figures.WEEKDAY_NAMES),
            cells=cells,
            total=sum(map(sum, cells)),
        )

    async def campaigns(self, period: Period, now: datetime) -> CampaignsReport:
        rows = await self.repo.campaign_outcomes(period.since, period.until)
        by_id: dict[int, list[tuple[int, str, str, bool, str | None, int]]] = defaultdict(list)
        for row in rows:
            by_id[row[0]].append(row)
        at = min(now, period.until)
        out: list[CampaignFiguresOut] = []
        for cid, items in sorted(by_id.items()):
            window = await self.dialer.figures(await self.campaign_repo.get(cid), at)
            out.append(
                _campaign(cid, items, window.abandon_percent_24h, window.abandon_percent_30d)
            )
        return CampaignsReport(
            report="campaigns",
            period=period_out(period),
            definition=DEFINITIONS["campaigns"],
            campaigns=out,
        )

    async def sla(self, period: Period, now: datetime) -> SlaReport:
        users, _ = await self.repo.people()
        tickets = await self.repo.tickets(period.since, period.until)

        def owner(user_id: int | None) -> str:
            return users.get(user_id, f"user {user_id}") if user_id is not None else "unassigned"

        judged = {
            "since": period.since,
            "until": period.until,
            "now": now,
        }
        hours = "business hours and holidays" if not self.calendar.always else "wall-clock time"
        return SlaReport(
            report="sla",
            period=period_out(period),
            definition=DEFINITIONS["sla"].format(hours=f"the clock runs in {hours}"),
            business_hours=not self.calendar.always,
            by_agent=sla.compliance(
                tickets, self.policy, self.calendar, key=lambda t: owner(t.assignee_id), **judged
            ),
            by_priority=sla.compliance(
                tickets, self.policy, self.calendar, key=lambda t: t.priority, **judged
            ),
            deals=[
                DealRow(
                    status=s,
                    stage=g,
                    owner=owner(o) if o is not None else None,
                    deals=n,
                    amount=a,
                )
                for s, g, o, n, a in sorted(
                    await self.repo.deals(period.since, period.until),
                    key=lambda r: (r[0], r[1], r[2] or 0),
                )
            ],
            overdue_tasks=[
                OverdueRow(owner=owner(a) if a is not None else None, overdue=n, oldest_due=d)
                for a, n, d in await self.repo.overdue_tasks(min(now, period.until))
            ],
        )


def _campaign(
    cid: int,
    rows: Sequence[tuple[int, str, str, bool, str | None, int]],
    abandon_24h: float | None,
    abandon_30d: float | None,
) -> CampaignFiguresOut:
    outcomes: dict[str, int] = defaultdict(int)
    dispositions: dict[str, int] = defaultdict(int)
    live = abandoned_live = 0
    for _, _, outcome, is_live, disposition, n in rows:
        outcomes[outcome] += n
        if is_live:
            live += n
            abandoned_live += n if outcome == "abandoned" else 0
        if disposition:
            dispositions[disposition] += n
    skipped = outcomes.get("skipped", 0)
    attempts = sum(outcomes.values()) - skipped
    return CampaignFiguresOut(
        campaign=rows[0][1],
        id=cid,
        attempts=attempts,
        skipped=skipped,
        contacts=live,
        contact_rate=figures.ratio(live, attempts),
        abandoned=outcomes.get("abandoned", 0),
        abandon_rate=figures.ratio(abandoned_live, live),
        abandon_rate_24h=None if abandon_24h is None else round(abandon_24h / 100, 4),
        abandon_rate_30d=None if abandon_30d is None else round(abandon_30d / 100, 4),
        outcomes=dict(sorted(outcomes.items())),
        dispositions=dict(sorted(dispositions.items())),
        conversion={k: figures.ratio(v, live) or 0.0 for k, v in sorted(dispositions.items())},
    )
