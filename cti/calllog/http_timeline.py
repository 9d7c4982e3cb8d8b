"""``GET /api/contacts/{id}/timeline`` and ``GET /api/companies/{id}/timeline``.

Contacts and companies are everybody's; what their timeline shows of calls (and of notes on
calls) and of tasks follows the reader's own scopes for those (an operator: the calls on
their extensions, their own and unassigned tasks).
"""

from __future__ import annotations

from aiohttp import web

from cti.crm_store.schemas.timeline import TimelinePage, TimelineQuery
from cti.crm_store.services.timeline import TimelineService
from cti.web.access import grant_for, grant_of
from cti.web.keys import STORE
from cti.web.routing import RouteTable, json_model, path_id, read_query

ROUTES = RouteTable("timeline")


async def _page(request: web.Request, *, contact: bool) -> web.Response:
    query = read_query(request, TimelineQuery)
    user = grant_of(request).user
    calls = grant_for(user, ("calls", "read")).viewer.calls
    tasks = grant_for(user, ("tasks", "read")).viewer.tasks
    service = TimelineService(request.app[STORE])
    key = "contact_id" if contact else "company_id"
    page = await service.page(**{key: path_id(request)}, query=query, calls=calls, tasks=tasks)
    return json_model(page)


@ROUTES.get(
    "/api/contacts/{id:\\d+}/timeline",
    summary="A contact's calls, notes, tickets, deals and tasks, newest first (keyset pages)",
    query=TimelineQuery,
    response=TimelinePage,
    errors=(401, 403, 404, 422),
    perm=("contacts", "read"),
)
async def contact_timeline(request: web.Request) -> web.Response:
    return await _page(request, contact=True)


@ROUTES.get(
    "/api/companies/{id:\\d+}/timeline",
    summary="A company's (and its contacts') calls, notes, tickets, deals and tasks",
    query=TimelineQuery,
    response=TimelinePage,
    errors=(401, 403, 404, 422),
    perm=("companies", "read"),
)
async def company_timeline(request: web.Request) -> web.Response:
    return await _page(request, contact=False)
