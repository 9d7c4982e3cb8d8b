"""``/api/campaigns`` and ``/api/dnc``: what ``cti campaign`` and ``cti dnc`` do, over REST
(supervisors and managers; operators read campaigns and may put a number on do-not-call)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from cti.ami.actions import ActionSender
from cti.crm_store.repos.dialer import DialerRepo
from cti.crm_store.schemas.campaigns import (
    CampaignFigures,
    CampaignListOut,
    CampaignOut,
    CampaignProgress,
    DncOut,
    ListImportReport,
    LoadResult,
    PreviewOut,
)
from cti.crm_store.schemas.common import Flag, Id, InModel, OutModel
from cti.crm_store.timeutil import UtcDateTime, utcnow
from cti.dialer.agent_service import AgentService
from cti.dialer.engine import DialerEngine, EngineSettings
from cti.dialer.list_service import DncService, ListService, Recyclable
from cti.dialer.lists import parse_map
from cti.dialer.service import CampaignService
from cti.errors import BadRequestError, CtiError, NotFoundError
from cti.web.access import grant_of, guard
from cti.web.auth import allow_public
from cti.web.keys import AMI, BUS, SETTINGS, STORE
from cti.web.routing import RouteTable, json_model, no_content, path_id, read_body, read_query

log = logging.getLogger(__name__)
ROUTES = RouteTable("campaigns")
_ID = r"{id:\d+}"
_COMMAND = r"{command:start|pause|resume|stop}"


class CampaignList(OutModel):
    items: list[CampaignOut]


class CampaignDetail(OutModel):
    campaign: CampaignOut
    progress: CampaignProgress
    lists: list[CampaignListOut]


class CampaignIn(InModel):
    """A campaign definition as JSON: the campaign file's fields (docs/campaigns.md)."""

    definition: dict[str, Any] = Field(description="the campaign file's content, as JSON")


class ListIn(InModel):
    name: str = Field(min_length=1, max_length=200, description="the list's name")
    priority: int = Field(default=0, ge=-1000, le=1000, description="higher: dialled first")
    csv: str = Field(
        min_length=1, max_length=900_000, description="the CSV text (larger lists: the CLI)"
    )
    map: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=20, description="COLUMN=FIELD"
    )
    dry_run: Flag = False


class RecycleIn(InModel):
    outcomes: list[Recyclable] = Field(default_factory=list, max_length=10)
    dispositions: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=50
    )


class Recycled(OutModel):
    leads: int


class DncIn(InModel):
    numbers: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=1000, description="numbers (a larger list: cti dnc import)"
    )
    campaign_id: Id | None = None
    reason: str | None = Field(default=None, max_length=200)


class DncAdded(OutModel):
    added: int
    leads_closed: int


class DncQuery(InModel):
    campaign_id: Id | None = None
    number: str | None = Field(default=None, max_length=64)


class DncEntries(OutModel):
    items: list[DncOut]


def _campaigns(request: web.Request) -> CampaignService:
    return CampaignService(request.app[STORE])


@ROUTES.get(
    "/api/campaigns", summary="Every campaign", response=CampaignList, perm=("campaigns", "read")
)
async def list_campaigns(request: web.Request) -> web.Response:
    return json_model(CampaignList(items=await _campaigns(request).repo.all()))


@ROUTES.get(
    f"/api/campaigns/{_ID}",
    summary="A campaign with its progress and lists",
    response=CampaignDetail,
    errors=(404,),
    perm=("campaigns", "read"),
)
async def get_campaign(request: web.Request) -> web.Response:
    svc = _campaigns(request)
    campaign = await svc.repo.get(path_id(request))
    lists = ListService(request.app[STORE], request.app[SETTINGS].phone).leads
    return json_model(
        CampaignDetail(
            campaign=campaign,
            progress=await svc.repo.progress(campaign.id),
            lists=await lists.lists(campaign.id),
        )
    )


@ROUTES.post(
    "/api/campaigns",
    summary="Load a campaign definition: a new campaign or its next version",
    body=CampaignIn,
    response=LoadResult,
    errors=(422,),
    perm=("campaigns", "create"),
)
async def load_campaign(request: web.Request) -> web.Response:
    data = await read_body(request, CampaignIn)
    user = grant_of(request).user
    result = await _campaigns(request).load_data(
        data.definition, source=f"api:{user.username}", loaded_by=user.username
    )
    return json_model(result)  # ``action``: created, updated or unchanged


@ROUTES.post(
    f"/api/campaigns/{_ID}/{_COMMAND}",
    summary="Start, pause, resume or stop a campaign",
    response=CampaignOut,
    errors=(404, 409),
    perm=("campaigns", "edit"),
)
async def change_campaign(request: web.Request) -> web.Response:
    command = request.match_info["command"]
    if command not in ("start", "pause", "resume", "stop"):
        raise BadRequestError(f"unknown command {command!r}", details={"command": command})
    campaign = await _campaigns(request).change(path_id(request), command)  # type: ignore[arg-type]
    return json_model(campaign)


@ROUTES.post(
    f"/api/campaigns/{_ID}/lists",
    summary="Import a dial list (CSV text) into a campaign",
    body=ListIn,
    response=ListImportReport,
    errors=(404, 422),
    perm=("campaigns", "edit"),
)
async def import_list(request: web.Request) -> web.Response:
    data = await read_body(request, ListIn)
    campaign = await _campaigns(request).repo.get(path_id(request))
    svc = ListService(request.app[STORE], request.app[SETTINGS].phone)
    result = await svc.import_text(
        campaign,
        data.csv.encode(),
        list_name=data.name,
        priority=data.priority,
        mapping=parse_map(data.map),
        dry_run=data.dry_run,
    )
    return json_model(result)


@ROUTES.post(
    f"/api/campaigns/{_ID}/recycle",
    summary="Give closed leads another pass",
    body=RecycleIn,
    response=Recycled,
    errors=(404, 422),
    perm=("campaigns", "edit"),
)
async def recycle(request: web.Request) -> web.Response:
    data = await read_body(request, RecycleIn)
    campaign = await _campaigns(request).repo.get(path_id(request))
    svc = ListService(request.app[STORE], request.app[SETTINGS].phone)
    count = await svc.recycle(
        campaign, outcomes=list(data.outcomes), dispositions=data.dispositions
    )
    return json_model(Recycled(leads=count))


def _dnc(request: web.Request) -> DncService:
    return DncService(request.app[STORE], request.app[SETTINGS].phone)


@ROUTES.get(
    "/api/dnc",
    summary="Do-not-call numbers (global, or a campaign's)",
    query=DncQuery,
    response=DncEntries,
    perm=("dnc", "read"),
)
async def list_dnc(request: web.Request) -> web.Response:
    query = read_query(request, DncQuery)
    svc = _dnc(request)
    number = svc.numbers([("number", query.number)])[0] if query.number else None
    return json_model(
        DncEntries(items=await svc.entries(campaign_id=query.campaign_id, number=number))
    )


@ROUTES.post(
    "/api/dnc",
    summary="Put numbers on a do-not-call list (closes their leads still to dial)",
    body=DncIn,
    response=DncAdded,
    status=201,
    errors=(404, 422),
    perm=("dnc", "create"),
)
async def add_dnc(request: web.Request) -> web.Response:
    data = await read_body(request, DncIn)
    svc = _dnc(request)
    if data.campaign_id is not None:
        await _campaigns(request).repo.get(data.campaign_id)
    numbers = svc.numbers((f"numbers[{i}]", n) for i, n in enumerate(data.numbers))
    added, closed = await svc.add(
        numbers,
        campaign_id=data.campaign_id,
        reason=data.reason,
        source="api",
        by=grant_of(request).user.id,
    )
    return json_model(DncAdded(added=added, leads_closed=closed), status=201)


@ROUTES.delete(
    r"/api/dnc/{number:\+?\d{3,20}}",
    summary="Take a number off a do-not-call list",
    query=DncQuery,
    errors=(404, 422),
    perm=("dnc", "delete"),
)
async def remove_dnc(request: web.Request) -> web.Response:
    query = read_query(request, DncQuery)
    svc = _dnc(request)
    numbers = svc.numbers([("number", request.match_info["number"])])
    if not await svc.remove(numbers, campaign_id=query.campaign_id):
        raise NotFoundError(f"{numbers[0]} is not on that list", details={"number": numbers[0]})
    return no_content()


# -- agents: operators join, pause and leave; dispositions end their wrap-up ------------------


class JoinIn(InModel):
    campaign_id: Id
    extension: str | None = Field(
        default=None, max_length=32, description="default: your first extension"
    )


class PauseIn(InModel):
    reason: str = Field(default="break", min_length=1, max_length=64)


class DispositionIn(InModel):
    attempt_id: Id
    disposition: str = Field(min_length=1, max_length=64)


class AgentOut(OutModel):
    campaign_id: int
    user_id: int
    extension: str
    state: str
    pause_reason: str | None
    state_since: UtcDateTime
    wrap_until: UtcDateTime | None
    attempt_id: int | None


class AgentList(OutModel):
    items: list[AgentOut]


def _agents(request: web.Request) -> AgentService:
    from cti.screenpop.service import DIALER

    app, settings = request.app, request.app[SETTINGS]
    dialer = app.get(DIALER)  # click-to-dial's view of the PBXes, when the page is installed
    return AgentService(
        app[STORE],
        pbxes=dialer.pbxes if dialer is not None else lambda: connected_pbxes(app),
        dial_settings={name: pbx.dial for name, pbx in settings.pbx.items()},
        region=settings.phone.default_region,
    )


class FiguresQuery(InModel):
    at: UtcDateTime | None = Field(
        default=None, description="the end of the 24 h and 30-day windows (default: now)"
    )


@ROUTES.get(
    f"/api/campaigns/{_ID}/figures",
    summary="The campaign's figures: live, or for the 24 h and 30 days before a moment",
    query=FiguresQuery,
    response=CampaignFigures,
    errors=(404,),
    perm=("campaigns", "read"),
)
async def campaign_figures(request: web.Request) -> web.Response:
    query = read_query(request, FiguresQuery)
    campaign = await _campaigns(request).repo.get(path_id(request))
    at = query.at or utcnow()
    return json_model(await DialerRepo(request.app[STORE]).figures(campaign, at))


@ROUTES.get(
    f"/api/campaigns/{_ID}/agents",
    summary="The campaign's agents and their states",
    response=AgentList,
    perm=("campaigns", "read"),
)
async def campaign_agents(request: web.Request) -> web.Response:
    rows = await _agents(request).repo.agents(path_id(request))
    return json_model(AgentList(items=[AgentOut.model_validate(r) for r in rows]))


@ROUTES.get(
    "/api/agent",
    summary="My campaign and state (404: not in a campaign)",
    response=AgentOut,
    errors=(404,),
    perm=("agent", "read"),
)
async def my_agent(request: web.Request) -> web.Response:
    row = await _agents(request).mine(grant_of(request).user.id)
    return json_model(AgentOut.model_validate(row))


@ROUTES.post(
    "/api/agent/join",
    summary="Work a campaign (its queue rings my phone)",
    body=JoinIn,
    response=AgentOut,
    errors=(403, 404, 409, 503),
    perm=("agent", "edit"),
)
async def join(request: web.Request) -> web.Response:
    data = await read_body(request, JoinIn)
    user = grant_of(request).user
    campaign = await _campaigns(request).repo.get(data.campaign_id)
    row = await _agents(request).join(campaign, user, data.extension)
    return json_model(AgentOut.model_validate(row))


@ROUTES.post(
    "/api/agent/leave",
    summary="Stop working my campaign",
    status=204,
    errors=(404,),
    perm=("agent", "edit"),
)
async def leave(request: web.Request) -> web.Response:
    await _agents(request).leave(grant_of(request).user.id)
    return no_content()


@ROUTES.post(
    "/api/agent/pause",
    summary="Pause (no campaign calls) with a reason",
    body=PauseIn,
    response=AgentOut,
    errors=(404, 503),
    perm=("agent", "edit"),
)
async def pause(request: web.Request) -> web.Response:
    data = await read_body(request, PauseIn)
    row = await _agents(request).pause(grant_of(request).user.id, data.reason)
    return json_model(AgentOut.model_validate(row))


@ROUTES.post(
    "/api/agent/unpause",
    summary="Take campaign calls again",
    response=AgentOut,
    errors=(404, 503),
    perm=("agent", "edit"),
)
async def unpause(request: web.Request) -> web.Response:
    row = await _agents(request).unpause(grant_of(request).user.id)
    return json_model(AgentOut.model_validate(row))


@ROUTES.post(
    "/api/agent/disposition",
    summary="Set the outcome of my campaign call (ends my wrap-up)",
    body=DispositionIn,
    response=AgentOut,
    errors=(403, 404, 422),
    perm=("agent", "edit"),
)
async def disposition(request: web.Request) -> web.Response:
    data = await read_body(request, DispositionIn)
    row = await _agents(request).dispose(
        grant_of(request).user.id, data.attempt_id, data.disposition
    )
    return json_model(AgentOut.model_validate(row))


class PreviewDialled(OutModel):
    attempt_id: int
    action_id: str


@ROUTES.post(
    "/api/agent/preview",
    summary="Preview mode: the next contact to call, held for me",
    response=PreviewOut,
    errors=(404, 409, 503),
    perm=("agent", "edit"),
)
async def preview(request: web.Request) -> web.Response:
    return json_model(await _agents(request).preview(grant_of(request).user.id))


@ROUTES.post(
    r"/api/agent/preview/{id:\d+}/dial",
    summary="Dial the previewed contact: my phone rings first, then the number",
    response=PreviewDialled,
    errors=(404, 409, 503),
    perm=("agent", "edit"),
)
async def preview_dial(request: web.Request) -> web.Response:
    attempt = await _agents(request).preview_dial(grant_of(request).user.id, path_id(request))
    return json_model(PreviewDialled(attempt_id=attempt.id, action_id=attempt.action_id))


@ROUTES.post(
    r"/api/agent/preview/{id:\d+}/skip",
    summary="Skip the previewed contact (back to the list)",
    response=AgentOut,
    errors=(404, 409),
    perm=("agent", "edit"),
)
async def preview_skip(request: web.Request) -> web.Response:
    row = await _agents(request).preview_skip(grant_of(request).user.id, path_id(request))
    return json_model(AgentOut.model_validate(row))


STATIC_DIR = Path(__file__).parent / "static"


@guard(("pages", "read"))
async def supervisor_page(request: web.Request) -> web.FileResponse:
    """The supervisors' campaign board (static; figures come over ``/ws``)."""
    return web.FileResponse(STATIC_DIR / "supervisor.html", headers={"Cache-Control": "no-cache"})


def connected_pbxes(app: web.Application) -> dict[str, ActionSender]:
    connections = app.get(AMI)
    if connections is None:
        return {}
    return {name: conn for name, conn in connections.items() if conn.connected}


def setup(app: web.Application) -> None:
    """Add the campaign, do-not-call and agent routes to ``app``; in the daemon (with AMI
    connections) also run the dialer engine on its bus."""
    ROUTES.install(app)
    app.router.add_get("/supervisor", supervisor_page)
    app.router.add_static("/static/dialer/", STATIC_DIR, name="dialer-static")
    allow_public(app, "/supervisor")  # a page shell: its data needs a token

    async def engine_ctx(app: web.Application) -> AsyncIterator[None]:
        if AMI not in app:
            yield
            return
        settings = app[SETTINGS]
        dialer = settings.dialer
        engine = DialerEngine(
            app[STORE],
            lambda: connected_pbxes(app),
            EngineSettings(
                tick_seconds=dialer.tick_seconds,
                claim_timeout=dialer.claim_timeout_seconds,
                dial_margin=dialer.dial_margin_seconds,
                max_call_seconds=dialer.max_call_seconds,
                preview_timeout=dialer.preview_timeout_seconds,
                region=settings.phone.default_region,
            ),
        )
        unsubscribe = app[BUS].subscribe(engine.on_event)
        task = asyncio.create_task(engine.run(), name="dialer")
        try:
            yield
        finally:
            unsubscribe()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(engine_ctx)
    app.cleanup_ctx.append(figures_ctx)


#: seconds between two ``campaigns`` frames to supervisors watching
FIGURES_EVERY = 2.0


async def push_figures(app: web.Application, every: float = FIGURES_EVERY) -> None:
    """While supervisors watch (a socket subscribed to all calls), send them every
    campaign's figures (``{"type": "campaigns", "campaigns": [...]}``) every ``every`` s."""
    from cti.screenpop.http import HUB

    repo = DialerRepo(app[STORE])
    campaigns = CampaignService(app[STORE]).repo
    while True:
        await asyncio.sleep(every)
        hub = app.get(HUB)
        if hub is None:
            continue
        watchers = [c for c in hub.clients if c.sub_all]
        if not watchers:
            continue
        try:
            now = utcnow()
            shown = [c for c in await campaigns.all() if c.status != "draft"]
            figures = [(await repo.figures(c, now)).model_dump(mode="json") for c in shown]
        except CtiError as exc:
            log.warning("campaign figures: %s", exc)
            continue
        hub.send(watchers, {"type": "campaigns", "campaigns": figures})


async def figures_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(push_figures(app, FIGURES_EVERY), name="campaign-figures")
    scripts = asyncio.create_task(keep_scripts(app), name="campaign-scripts")
    try:
        yield
    finally:
        task.cancel()
        scripts.cancel()
        await asyncio.gather(task, scripts, return_exceptions=True)


#: seconds between two reads of the campaigns' stored scripts
SCRIPTS_EVERY = 10.0


async def keep_scripts(app: web.Application) -> None:
    """Give the screen-pop each live campaign's stored script (loading a new version
    changes what operators see within :data:`SCRIPTS_EVERY` seconds, on every node)."""
    from cti.screenpop.http import SCRIPTS

    repo = CampaignService(app[STORE]).repo
    while True:
        book = app.get(SCRIPTS)
        if book is not None:
            try:
                for campaign in await repo.all():
                    live = campaign.status in ("running", "paused")
                    book.remember(campaign.name, campaign.script if live else None)
            except CtiError as exc:
                log.warning("campaign scripts: %s", exc)
        await asyncio.sleep(SCRIPTS_EVERY)
