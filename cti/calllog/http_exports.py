"""``POST /api/exports`` makes a single-use download link; ``GET /api/downloads/{token}``
streams the export to whoever holds it (the browser: no ``Authorization`` header).

See :mod:`cti.calllog.downloads` for the link's rules and :mod:`cti.calllog.exports` for
how the files are written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from zoneinfo import ZoneInfo

from aiohttp import web

from cti.calllog.downloads import Downloads
from cti.calllog.exports import MEDIA_TYPES, csv_chunks, file_name, xlsx_chunks
from cti.calllog.service import CallLog
from cti.crm_store.schemas.calls import ExportIn, ExportLinkOut
from cti.crm_store.timeutil import utcnow
from cti.errors import AuthError
from cti.web.access import grant_of
from cti.web.auth import USERS, token_from
from cti.web.keys import SETTINGS, STORE
from cti.web.routing import RouteTable, json_model, read_body

ROUTES = RouteTable("exports")
DOWNLOADS = web.AppKey("downloads", Downloads)
#: how many calls are read per keyset query while exporting
BATCH = 2000


def setup(app: web.Application) -> None:
    ROUTES.install(app)

    async def downloads_ctx(app: web.Application) -> AsyncIterator[None]:
        app[DOWNLOADS] = Downloads(app[STORE], app[USERS], app[SETTINGS].exports.link_seconds)
        yield

    app.cleanup_ctx.append(downloads_ctx)


@ROUTES.post(
    "/api/exports",
    summary="A single-use, short-lived download link of an export (calls: CSV or XLSX)",
    body=ExportIn,
    response=ExportLinkOut,
    status=201,
    errors=(400, 401, 403, 413, 422),
    perm=("exports", "create"),
)
async def create_export(request: web.Request) -> web.Response:
    export = await read_body(request, ExportIn)
    session = token_from(request)
    if session is None:  # the guard authenticated this request by its bearer token
        raise AuthError("missing bearer token", details={"header": "Authorization"})
    user = grant_of(request).user
    link = await request.app[DOWNLOADS].create(user.id, session, export)
    return json_model(link, status=201)


@ROUTES.get(
    "/api/downloads/{token}",
    summary="Fetch an export once by its link (no Authorization header: the link is the key)",
    errors=(403, 404),
    perm=("downloads", "read"),
    media_type="text/csv",
)
async def download(request: web.Request) -> web.StreamResponse:
    from cti.calllog.http import calllog_of

    claimed = await request.app[DOWNLOADS].claim(request.match_info["token"])
    export = claimed.export
    zone = ZoneInfo(export.filters.tz)
    log: CallLog = calllog_of(request.app)
    batches = log.batches(export.filters, export.sort, extensions=claimed.extensions, size=BATCH)
    chunks = csv_chunks(batches, zone) if export.format == "csv" else xlsx_chunks(batches, zone)
    name = file_name(export.kind, export.format, utcnow().strftime("%Y%m%d-%H%M%S"))
    response = web.StreamResponse(
        headers={
            "Content-Type": MEDIA_TYPES[export.format],
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
    )
    # a client gone mid-way: both generators closed at once (the temporary file removed)
    async with aclosing(batches), aclosing(chunks):
        first = await anext(chunks, b"")  # a failing first read is still a JSON error
        await response.prepare(request)
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response
