"""``/api/calls``: the call history (filters + pagination) and the operator's disposition.

Operators see only calls that rang or were answered on their own extensions; supervisors
and managers see all of them (:mod:`cti.crm_store.rules.visibility`). The handlers stay
thin: the rest lives in :mod:`.service`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cti.calllog.service import CallLog
from cti.crm_store.rules.visibility import call_scope, may_see_call
from cti.crm_store.schemas.calls import CallDetailOut, CallFilter, CallOut, DispositionIn
from cti.crm_store.schemas.common import Page
from cti.errors import ForbiddenError
from cti.web.auth import AuthUser, request_user
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


def _scope(user: AuthUser) -> tuple[str, ...] | None:
    return call_scope(user.role, user.extensions)


def _check_visible(user: AuthUser, call: CallOut) -> None:
    talked = [talk.agent for talk in call.talks] if isinstance(call, CallDetailOut) else []
    if may_see_call(_scope(user), call.agent, [*call.agents_rung, *talked]):
        return
    raise ForbiddenError(f"call {call.id} did not ring on your extensions", details={"id": call.id})


@ROUTES.get(
    "/api/calls",
    summary="Search the call log (operators: calls on their own extensions only)",
    query=CallFilter,
    response=Page[CallOut],
    errors=(401, 422),
)
async def list_calls(request: web.Request) -> web.Response:
    user = await request_user(request)
    filters = read_query(request, CallFilter)
    page = await calllog_of(request.app).search(filters, extensions=_scope(user))
    return json_model(page)


@ROUTES.get(
    "/api/calls/{id:\\d+}",
    summary="One call, with its rings and each agent's part",
    response=CallDetailOut,
    errors=(401, 403, 404),
)
async def get_call(request: web.Request) -> web.Response:
    user = await request_user(request)
    call = await calllog_of(request.app).detail(path_id(request))
    _check_visible(user, call)
    return json_model(call)


@ROUTES.patch(
    "/api/calls/{id:\\d+}",
    summary="Set the disposition of a call (null clears it)",
    body=DispositionIn,
    response=CallOut,
    errors=(401, 403, 404, 422),
)
async def patch_call(request: web.Request) -> web.Response:
    user = await request_user(request)
    log = calllog_of(request.app)
    call_id = path_id(request)
    data = await read_body(request, DispositionIn)
    _check_visible(user, await log.detail(call_id))
    return json_model(await log.set_disposition(call_id, data.disposition))
