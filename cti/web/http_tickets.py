"""``/api/tickets`` with SLA fields, and ``/api/tickets/{id}/comments``."""

from __future__ import annotations

from aiohttp import web

from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.tickets import (
    CommentIn,
    CommentOut,
    TicketIn,
    TicketOut,
    TicketPatch,
    TicketQuery,
)
from cti.crm_store.services.tickets import TicketService
from cti.web.auth import request_user
from cti.web.keys import SETTINGS, STORE
from cti.web.routing import RouteTable, json_model, no_content, path_id, read_body, read_query

ROUTES = RouteTable("tickets")
_ID = r"{id:\d+}"


def _tickets(request: web.Request) -> TicketService:
    return TicketService(request.app[STORE], request.app[SETTINGS].crm)


@ROUTES.get(
    "/api/tickets",
    summary="Search tickets (status, priority, open, SLA breached …)",
    query=TicketQuery,
    response=Page[TicketOut],
    perm=("tickets", "read"),
)
async def list_tickets(request: web.Request) -> web.Response:
    return json_model(await _tickets(request).search(read_query(request, TicketQuery)))


@ROUTES.post(
    "/api/tickets",
    summary="Open a ticket (SLA due times from its priority)",
    body=TicketIn,
    response=TicketOut,
    status=201,
    perm=("tickets", "create"),
)
async def create_ticket(request: web.Request) -> web.Response:
    data = await read_body(request, TicketIn)
    return json_model(await _tickets(request).create(data), status=201)


@ROUTES.get(
    f"/api/tickets/{_ID}", summary="One ticket", response=TicketOut, perm=("tickets", "read")
)
async def get_ticket(request: web.Request) -> web.Response:
    return json_model(await _tickets(request).get(path_id(request)))


@ROUTES.patch(
    f"/api/tickets/{_ID}",
    summary="Change a ticket (status moves, priority recomputes the SLA)",
    body=TicketPatch,
    response=TicketOut,
    perm=("tickets", "edit"),
)
async def update_ticket(request: web.Request) -> web.Response:
    data = await read_body(request, TicketPatch)
    return json_model(await _tickets(request).update(path_id(request), data))


@ROUTES.delete(f"/api/tickets/{_ID}", summary="Delete a ticket", perm=("tickets", "delete"))
async def delete_ticket(request: web.Request) -> web.Response:
    await _tickets(request).delete(path_id(request))
    return no_content()


@ROUTES.get(
    f"/api/tickets/{_ID}/comments",
    summary="A ticket's comments, oldest first",
    query=PageParams,
    response=Page[CommentOut],
    perm=("comments", "read"),
)
async def list_comments(request: web.Request) -> web.Response:
    params = read_query(request, PageParams)
    return json_model(await _tickets(request).comments(path_id(request), params))


@ROUTES.post(
    f"/api/tickets/{_ID}/comments",
    summary="Comment on a ticket (a public comment is the first response)",
    body=CommentIn,
    response=CommentOut,
    status=201,
    perm=("comments", "create"),
)
async def add_comment(request: web.Request) -> web.Response:
    user = await request_user(request)
    data = await read_body(request, CommentIn)
    comment = await _tickets(request).add_comment(path_id(request), data, author_id=user.id)
    return json_model(comment, status=201)
