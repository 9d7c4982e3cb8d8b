"""``/api/calls``: the call history (filters, keyset pages, a separate count), one call in
full, its recording, and the operator's disposition; exports are :mod:`.http_exports`.

Operators see only calls that rang or were answered on their own extensions; supervisors
and managers see all of them (the permission table's scopes, applied by :mod:`.service`
through :mod:`cti.crm_store.rules.visibility`). The handlers stay thin.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from aiohttp import web

from cti.calllog.recordings import Recordings
from cti.calllog.service import CallLog
from cti.crm_store.schemas.calls import (
    CallFilter,
    CallFull,
    CallOut,
    CallPage,
    CallQuery,
    CountOut,
    DispositionIn,
)
from cti.web.access import viewer_of
from cti.web.keys import SETTINGS, STORE
from cti.web.routing import RouteTable, json_model, path_id, read_body, read_query

ROUTES = RouteTable("calls")
CALLLOG = web.AppKey("calllog", CallLog)
RECORDINGS = web.AppKey("recordings", Recordings)


def setup(app: web.Application) -> None:
    """Install the routes (calls, exports, timelines) and the app's :class:`CallLog`
    (created once the store is open)."""
    from cti.calllog import http_exports, http_timeline

    ROUTES.install(app)
    http_exports.setup(app)
    http_timeline.ROUTES.install(app)
    recordings = app[SETTINGS].recordings
    app[RECORDINGS] = Recordings(recordings.dir or None, recordings.pbx_dir)

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
    summary="Search the call log, one keyset page at a time (operators: their own calls)",
    query=CallQuery,
    response=CallPage,
    errors=(401, 422),
    perm=("calls", "read"),
)
async def list_calls(request: web.Request) -> web.Response:
    query = read_query(request, CallQuery)
    page = await calllog_of(request.app).search(query, extensions=viewer_of(request).calls)
    return json_model(page)


@ROUTES.get(
    "/api/calls/count",
    summary="How many calls the filters select (operators: their own calls)",
    query=CallFilter,
    response=CountOut,
    errors=(401, 422),
    perm=("calls", "read"),
)
async def count_calls(request: web.Request) -> web.Response:
    filters = read_query(request, CallFilter)
    count = await calllog_of(request.app).count(filters, extensions=viewer_of(request).calls)
    return json_model(CountOut(count=count))


@ROUTES.get(
    "/api/calls/{id:\\d+}",
    summary="One call in full: rings, each agent's part, notes, contact, recording link",
    response=CallFull,
    errors=(401, 403, 404),
    perm=("calls", "read"),
)
async def get_call(request: web.Request) -> web.Response:
    extensions = viewer_of(request).calls
    log, recordings = calllog_of(request.app), request.app[RECORDINGS]
    return json_model(await log.full(path_id(request), recordings, extensions=extensions))


@ROUTES.get(
    "/api/calls/{id:\\d+}/recording",
    summary="The call's recording file (where a recordings folder is configured)",
    errors=(401, 403, 404),
    perm=("calls", "read"),
    media_type="application/octet-stream",
)
async def get_recording(request: web.Request) -> web.StreamResponse:
    log, recordings = calllog_of(request.app), request.app[RECORDINGS]
    path = await log.recording(path_id(request), recordings, extensions=viewer_of(request).calls)
    suffix = path.suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", path.suffix) else ""
    headers = {
        "Content-Disposition": f'attachment; filename="call-{path_id(request)}{suffix}"',
        "Cache-Control": "private, no-store",
    }
    return web.FileResponse(path, headers=headers)


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
