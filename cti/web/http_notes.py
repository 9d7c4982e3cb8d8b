"""``/api/notes``: free text on contacts, deals, tickets and calls.

A note follows what it is attached to: an operator neither reads nor writes a note on a call
that did not ring on their extensions, and changes only the notes they wrote
(:class:`~cti.crm_store.services.tasks.NoteService` applies both).
"""

from __future__ import annotations

from aiohttp import web

from cti.crm_store.schemas.common import Page
from cti.crm_store.schemas.tasks import NoteIn, NoteOut, NotePatch, NoteQuery
from cti.crm_store.services.tasks import NoteService
from cti.web.access import viewer_of
from cti.web.keys import STORE
from cti.web.routing import RouteTable, json_model, no_content, path_id, read_body, read_query

ROUTES = RouteTable("notes")
_ID = r"{id:\d+}"


def _notes(request: web.Request) -> NoteService:
    return NoteService(request.app[STORE])


@ROUTES.get(
    "/api/notes",
    summary="Notes of a record (operators: not those on other operators' calls)",
    query=NoteQuery,
    response=Page[NoteOut],
    perm=("notes", "read"),
)
async def list_notes(request: web.Request) -> web.Response:
    query = read_query(request, NoteQuery)
    return json_model(await _notes(request).search(query, viewer=viewer_of(request)))


@ROUTES.post(
    "/api/notes",
    summary="Write a note on a contact, deal, ticket or call",
    body=NoteIn,
    response=NoteOut,
    status=201,
    errors=(403,),
    perm=("notes", "create"),
)
async def create_note(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    data = await read_body(request, NoteIn)
    note = await _notes(request).create(data, author_id=viewer.user_id, viewer=viewer)
    return json_model(note, status=201)


@ROUTES.get(
    f"/api/notes/{_ID}", summary="One note", response=NoteOut, errors=(403,), perm=("notes", "read")
)
async def get_note(request: web.Request) -> web.Response:
    return json_model(await _notes(request).get(path_id(request), viewer=viewer_of(request)))


@ROUTES.patch(
    f"/api/notes/{_ID}",
    summary="Edit a note",
    body=NotePatch,
    response=NoteOut,
    errors=(403,),
    perm=("notes", "edit"),
)
async def update_note(request: web.Request) -> web.Response:
    data = await read_body(request, NotePatch)
    note = await _notes(request).update(path_id(request), data, viewer=viewer_of(request))
    return json_model(note)


@ROUTES.delete(
    f"/api/notes/{_ID}", summary="Delete a note", errors=(403,), perm=("notes", "delete")
)
async def delete_note(request: web.Request) -> web.Response:
    await _notes(request).delete(path_id(request), viewer=viewer_of(request))
    return no_content()
