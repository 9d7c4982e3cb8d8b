"""``/api/notes``: free text on contacts, deals, tickets and calls; authors own their notes."""

from __future__ import annotations

from aiohttp import web

from cti.crm_store.rules.visibility import may_change_note
from cti.crm_store.schemas.common import Page
from cti.crm_store.schemas.tasks import NoteIn, NoteOut, NotePatch, NoteQuery
from cti.crm_store.services.tasks import NoteService
from cti.errors import ForbiddenError
from cti.web.access import viewer_of
from cti.web.keys import STORE
from cti.web.routing import RouteTable, json_model, no_content, path_id, read_body, read_query

ROUTES = RouteTable("notes")
_ID = r"{id:\d+}"


def _notes(request: web.Request) -> NoteService:
    return NoteService(request.app[STORE])


async def _check_author(request: web.Request, note_id: int) -> None:
    """Limited to their own, a user changes only the notes they wrote."""
    note = await _notes(request).get(note_id)
    if not may_change_note(viewer_of(request), note.author_id):
        raise ForbiddenError(f"note {note_id} was written by someone else", details={"id": note_id})


@ROUTES.get(
    "/api/notes",
    summary="Notes of a record",
    query=NoteQuery,
    response=Page[NoteOut],
    perm=("notes", "read"),
)
async def list_notes(request: web.Request) -> web.Response:
    return json_model(await _notes(request).search(read_query(request, NoteQuery)))


@ROUTES.post(
    "/api/notes",
    summary="Write a note on a contact, deal, ticket or call",
    body=NoteIn,
    response=NoteOut,
    status=201,
    perm=("notes", "create"),
)
async def create_note(request: web.Request) -> web.Response:
    data = await read_body(request, NoteIn)
    note = await _notes(request).create(data, author_id=viewer_of(request).user_id)
    return json_model(note, status=201)


@ROUTES.get(f"/api/notes/{_ID}", summary="One note", response=NoteOut, perm=("notes", "read"))
async def get_note(request: web.Request) -> web.Response:
    return json_model(await _notes(request).get(path_id(request)))


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
    await _check_author(request, path_id(request))
    return json_model(await _notes(request).update(path_id(request), data))


@ROUTES.delete(
    f"/api/notes/{_ID}", summary="Delete a note", errors=(403,), perm=("notes", "delete")
)
async def delete_note(request: web.Request) -> web.Response:
    await _check_author(request, path_id(request))
    await _notes(request).delete(path_id(request))
    return no_content()
