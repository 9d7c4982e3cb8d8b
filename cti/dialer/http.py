"""``/api/campaigns`` and ``/api/dnc``: what ``cti campaign`` and ``cti dnc`` do, over REST
(supervisors and managers; operators read campaigns and may put a number on do-not-call)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from cti.crm_store.schemas.campaigns import (
    CampaignListOut,
    CampaignOut,
    CampaignProgress,
    DncOut,
    ListImportReport,
    LoadResult,
)
from cti.crm_store.schemas.common import InModel, OutModel
from cti.crm_store.schemas.refs import MAX_ID
from cti.dialer.list_service import DncService, ListService, Recyclable
from cti.dialer.lists import parse_map
from cti.dialer.service import CampaignService
from cti.errors import BadRequestError, NotFoundError
from cti.web.access import grant_of
from cti.web.keys import SETTINGS, STORE
from cti.web.routing import RouteTable, json_model, no_content, path_id, read_body, read_query

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
    map: list[str] = Field(default_factory=list, max_length=20, description="COLUMN=FIELD")
    dry_run: bool = False


class RecycleIn(InModel):
    outcomes: list[Recyclable] = Field(default_factory=list, max_length=10)
    dispositions: list[str] = Field(default_factory=list, max_length=50)


class Recycled(OutModel):
    leads: int


class DncIn(InModel):
    numbers: list[str] = Field(min_length=1, max_length=10_000)
    campaign_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    reason: str | None = Field(default=None, max_length=200)


class DncAdded(OutModel):
    added: int
    leads_closed: int


class DncQuery(InModel):
    campaign_id: int | None = Field(default=None, ge=1, le=MAX_ID)
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
    errors=(404,),
    perm=("dnc", "delete"),
)
async def remove_dnc(request: web.Request) -> web.Response:
    query = read_query(request, DncQuery)
    svc = _dnc(request)
    numbers = svc.numbers([("number", request.match_info["number"])])
    if not await svc.remove(numbers, campaign_id=query.campaign_id):
        raise NotFoundError(f"{numbers[0]} is not on that list", details={"number": numbers[0]})
    return no_content()


def setup(app: web.Application) -> None:
    """Add the campaign and do-not-call routes to ``app``."""
    ROUTES.install(app)
