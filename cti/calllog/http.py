"""``/api/calls``: the call history (filters + pagination) and the operator's disposition.

Operators see only calls that rang or were answered on their own extensions; supervisors
and managers see all of them (the permission table's scopes, applied by :mod:`.service`
through :mod:`cti.crm_store.rules.visibility`). The handlers stay thin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cti.calllog.service import CallLog
from cti.crm_store.schemas.calls import CallDetailOut, CallFilter, CallOut, DispositionIn
from cti.crm_store.schemas.common import Page
from cti.web.access import viewer_of
from cti.web.keys import STORE
from cti.web.routing import RouteTable, json_model, path_id, read_body, read_query

ROUTES = RouteTable("calls")
CALLLOG = web.AppKey("calllog", CallLog)


def setup(app: web.Application) -> None:
    """Install the routes and the app's :class:`CallLog` (created once the store is open)."""
    ROUTES.install(app)

    async def calllog_ctx(app: web.Application) -> AsyncIterator[None]:
        calllog = CallLog(app[STORE])
        app[CALLLOG] = calllog
        try:
            yield
        finally:
            calllog.close()

    app.cleanup_ctx.append(calllog_ctx)


def calllog_of(app: web.Application) -> CallLog:
    return app[CALLLOG]


@ROUTES.get(
    "/api/calls",
    summary="Search the call log (operators: calls on their own extensions only)",
    query=CallFilter,
    response=Page[CallOut],
    errors=(401, 422),
    perm=("calls", "read"),
)
async def list_calls(request: web.Request) -> web.Response:
    filters = read_query(request, CallFilter)
    page = await calllog_of(request.app).search(filters, extensions=viewer_of(request).calls)
    return json_model(page)


@ROUTES.get(
    "/api/calls/{id:\\d+}",
    summary="One call, with its rings and each agent's part",
    response=CallDetailOut,
    errors=(401, 403, 404),
    perm=("calls", "read"),
)
async def get_call(request: web.Request) -> web.Response:
    extensions = viewer_of(request).calls
    return json_model(await calllog_of(request.app).detail(path_id(request), extensions=extensions))


@ROUTES.patch(
    "/api/calls/{id:\\d+}",
    summary="Set the disposition of a call (null clears it)",
    body=DispositionIn,
    response=CallOut,
    errors=(401, 403, 404, 422),
    perm=("calls", "edit"),
)
async def patch_call(request: web.Request) -> web.Response:
    log = calllog_of(request.app)
    data = await read_body(request, DispositionIn)
    call = await log.set_disposition(
        path_id(request), data.disposition, extensions=viewer_of(request).calls
    )
    return json_model(call)
