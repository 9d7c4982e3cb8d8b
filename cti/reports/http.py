"""``/api/reports/…`` and the manager page (``/manager``): thin handlers over
:class:`~cti.reports.service.ReportService`. Supervisors and managers see every report;
operators only their own figures in the agents report (their extensions)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from aiohttp import web
from pydantic import BeforeValidator, Field, field_validator, model_validator

from cti.crm_store.schemas.common import Flag, InModel
from cti.crm_store.timeutil import utcnow
from cti.reports.calendar import Period, period, zone
from cti.reports.consumer import SessionConsumer
from cti.reports.schemas import (
    AgentsReport,
    CallbacksReport,
    CampaignsReport,
    HeatmapReport,
    QueuesReport,
    SlaReport,
)
from cti.reports.service import ReportService
from cti.web.access import grant_of, guard
from cti.web.auth import allow_public
from cti.web.keys import BUS, SETTINGS, STORE
from cti.web.routing import RouteTable, json_model, read_query

ROUTES = RouteTable("reports")
REPORTS = web.AppKey("reports", ReportService)
SESSIONS = web.AppKey("agent_sessions", SessionConsumer)
STATIC_DIR = Path(__file__).parent / "static"
#: the longest period a report covers
MAX_DAYS = 400
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _date_text(value: Any) -> Any:
    if isinstance(value, str) and not _DATE.match(value):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_date_text)]


class ReportQuery(InModel):
    """A report's period: local days ``from`` … ``to`` (inclusive) in ``tz``."""

    first: Day = Field(alias="from", description="first local day, YYYY-MM-DD")
    last: Day = Field(alias="to", description="last local day, YYYY-MM-DD (inclusive)")
    tz: str = Field(
        default="", max_length=64, description="IANA time zone (default: [reports] timezone)"
    )

    model_config = InModel.model_config | {"populate_by_name": True}

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        if value:
            zone(value)
        return value

    @model_validator(mode="after")
    def _range(self) -> ReportQuery:
        if self.last < self.first:
            raise ValueError("'to' is before 'from'")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ValueError(f"a period of at most {MAX_DAYS} days")
        return self


class AgentsQuery(ReportQuery):
    """The agents report's period, and whether to add each agent's figures per day."""

    days: Flag = Field(default=False, description="also per agent and local day")


def period_of(request: web.Request, query: ReportQuery | None = None) -> Period:
    """The period the query string asks for (``query``: already read)."""
    query = query or read_query(request, ReportQuery)
    name = query.tz or request.app[SETTINGS].reports.timezone
    return period(query.first, query.last, zone(name), MAX_DAYS)


def _service(request: web.Request) -> ReportService:
    return request.app[REPORTS]


_ERRORS = (401, 403, 422)


@ROUTES.get(
    "/api/reports/agents",
    summary="Agents: rung, answered, missed, times, sessions, occupancy (operators: their own)",
    query=AgentsQuery,
    response=AgentsReport,
    errors=_ERRORS,
    perm=("agentreports", "read"),
)
async def agents_report(request: web.Request) -> web.Response:
    viewer = grant_of(request).viewer
    extensions = list(viewer.extensions) if viewer.own else None
    query = read_query(request, AgentsQuery)
    report = await _service(request).agents(
        period_of(request, query), utcnow(), extensions, by_day=query.days
    )
    return json_model(report)


@ROUTES.get(
    "/api/reports/queues",
    summary="Queues: offered, answered, abandoned, timed out, service level, ASA",
    query=ReportQuery,
    response=QueuesReport,
    errors=_ERRORS,
    perm=("reports", "read"),
)
async def queues_report(request: web.Request) -> web.Response:
    return json_model(await _service(request).queues(period_of(request)))


@ROUTES.get(
    "/api/reports/callbacks",
    summary="Missed calls not yet called back, with their age",
    query=ReportQuery,
    response=CallbacksReport,
    errors=_ERRORS,
    perm=("reports", "read"),
)
async def callbacks_report(request: web.Request) -> web.Response:
    return json_model(await _service(request).callbacks(period_of(request), utcnow()))


@ROUTES.get(
    "/api/reports/heatmap",
    summary="Inbound calls by weekday and hour (local time)",
    query=ReportQuery,
    response=HeatmapReport,
    errors=_ERRORS,
    perm=("reports", "read"),
)
async def heatmap_report(request: web.Request) -> web.Response:
    return json_model(await _service(request).heatmap(period_of(request)))


@ROUTES.get(
    "/api/reports/campaigns",
    summary="Campaigns: attempts, contact rate, outcomes, abandon rates, conversion",
    query=ReportQuery,
    response=CampaignsReport,
    errors=_ERRORS,
    perm=("reports", "read"),
)
async def campaigns_report(request: web.Request) -> web.Response:
    return json_model(await _service(request).campaigns(period_of(request), utcnow()))


@ROUTES.get(
    "/api/reports/sla",
    summary="Ticket SLA compliance per agent and priority; deals; overdue tasks",
    query=ReportQuery,
    response=SlaReport,
    errors=_ERRORS,
    perm=("reports", "read"),
)
async def sla_report(request: web.Request) -> web.Response:
    return json_model(await _service(request).sla(period_of(request), utcnow()))


@guard(("pages", "read"))
async def manager_page(request: web.Request) -> web.FileResponse:
    """The managers' page (static; its data comes from the API)."""
    return web.FileResponse(STATIC_DIR / "manager.html", headers={"Cache-Control": "no-cache"})


def setup(app: web.Application) -> None:
    """The report routes, the manager page, and the agent session consumer on the bus."""
    ROUTES.install(app)
    app.router.add_get("/manager", manager_page)
    app.router.add_static("/static/reports/", STATIC_DIR, name="reports-static")
    allow_public(app, "/manager")

    async def reports_ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        app[REPORTS] = ReportService(app[STORE], settings.reports, settings.crm.sla)
        consumer = SessionConsumer(app[STORE], wrap_up_seconds=settings.reports.wrap_up_seconds)
        app[SESSIONS] = consumer
        unsubscribe = app[BUS].subscribe(consumer.on_event)
        task = asyncio.create_task(consumer.run(), name="agent-sessions")
        try:
            yield
        finally:
            unsubscribe()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(reports_ctx)
