"""``/api/deals``: CRUD and search of deals in the configured pipeline."""

from __future__ import annotations

from aiohttp import web

from cti.crm_store.schemas.common import Page
from cti.crm_store.schemas.deals import DealIn, DealOut, DealPatch, DealQuery
from cti.crm_store.services.deals import DealService
from cti.web.keys import SETTINGS, STORE
from cti.web.routing import RouteTable, json_model, no_content, path_id, read_body, read_query

ROUTES = RouteTable("deals")
_ID = r"{id:\d+}"


def _deals(request: web.Request) -> DealService:
    return DealService(request.app[STORE], request.app[SETTINGS].crm)


@ROUTES.get(
    "/api/deals",
    summary="Search deals",
    query=DealQuery,
    response=Page[DealOut],
    perm=("deals", "read"),
)
async def list_deals(request: web.Request) -> web.Response:
    return json_model(await _deals(request).search(read_query(request, DealQuery)))


@ROUTES.post(
    "/api/deals",
    summary="Create a deal",
    body=DealIn,
    response=DealOut,
    status=201,
    perm=("deals", "create"),
)
async def create_deal(request: web.Request) -> web.Response:
    data = await read_body(request, DealIn)
    return json_model(await _deals(request).create(data), status=201)


@ROUTES.get(f"/api/deals/{_ID}", summary="One deal", response=DealOut, perm=("deals", "read"))
async def get_deal(request: web.Request) -> web.Response:
    return json_model(await _deals(request).get(path_id(request)))


@ROUTES.patch(
    f"/api/deals/{_ID}",
    summary="Change a deal (stage, amount, won/lost …)",
    body=DealPatch,
    response=DealOut,
    perm=("deals", "edit"),
)
async def update_deal(request: web.Request) -> web.Response:
    data = await read_body(request, DealPatch)
    return json_model(await _deals(request).update(path_id(request), data))


@ROUTES.delete(f"/api/deals/{_ID}", summary="Delete a deal", perm=("deals", "delete"))
async def delete_deal(request: web.Request) -> web.Response:
    await _deals(request).delete(path_id(request))
    return no_content()


@ROUTES.get("/api/pipeline", summary="The deal pipeline's stages, in order", perm=("deals", "read"))
async def pipeline(request: web.Request) -> web.Response:
    return web.json_response({"stages": list(request.app[SETTINGS].crm.pipeline)})
