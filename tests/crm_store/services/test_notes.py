"""NoteService on both backends, and what a viewer limited to their own sees."""

from __future__ import annotations

import pytest

from cti.calllog.service import CallLog
from cti.crm_store.rules.visibility import Viewer
from cti.crm_store.schemas.calls import CallQuery
from cti.crm_store.schemas.contacts import ContactIn
from cti.crm_store.schemas.tasks import NoteIn, NotePatch, NoteQuery
from cti.crm_store.schemas.tickets import TicketIn
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.services.tasks import NoteService
from cti.crm_store.services.tickets import TicketService
from cti.crm_store.store import Store
from cti.errors import ForbiddenError, NotFoundError, ValidationError
from tests.calllog.records import call


async def test_note_crud_and_filters(store: Store) -> None:
    notes = NoteService(store)
    contact = await ContactService(store).create(ContactIn(first_name="Ann"))
    ticket = await TicketService(store).create(TicketIn(subject="Noise"))
    first = await notes.create(NoteIn(body="Prefers mornings", contact_id=contact.id))
    await notes.create(NoteIn(body="Asked for a refund", ticket_id=ticket.id))
    both = await notes.create(
        NoteIn(body="Same person", contact_id=contact.id, ticket_id=ticket.id)
    )
    on_contact = await notes.search(NoteQuery(contact_id=contact.id))
    assert [n.id for n in on_contact.items] == [both.id, first.id]  # newest first
    assert (await notes.search(NoteQuery(ticket_id=ticket.id))).total == 2
    edited = await notes.update(first.id, NotePatch(body="Prefers evenings"))
    assert edited.body == "Prefers evenings"
    assert (await notes.get(first.id)).body == "Prefers evenings"
    await notes.delete(first.id)
    with pytest.raises(NotFoundError):
        await notes.get(first.id)


async def test_note_needs_an_existing_target(store: Store) -> None:
    notes = NoteService(store)
    with pytest.raises(ValidationError) as err:
        await notes.create(NoteIn(body="floating"))
    assert "contact_id" in err.value.details["fields"]
    with pytest.raises(ValidationError) as err:
        await notes.create(NoteIn(body="x", deal_id=12345))
    assert "deal_id" in err.value.details["fields"]
    with pytest.raises(ValidationError) as err:
        await notes.create(NoteIn(body="x", call_id=1), author_id=777)
    assert set(err.value.details["fields"]) & {"call_id", "author_id"}


async def test_deleting_a_contact_deletes_its_notes(store: Store) -> None:
    notes = NoteService(store)
    contact = await ContactService(store).create(ContactIn(first_name="Ann"))
    note = await notes.create(NoteIn(body="x", contact_id=contact.id))
    await ContactService(store).delete(contact.id)
    with pytest.raises(NotFoundError):
        await notes.get(note.id)


async def test_a_viewer_limited_to_their_own_sees_notes_on_their_calls_only(store: Store) -> None:
    log = CallLog(store)
    try:
        for ext in ("101", "102"):
            await log.record(call(f"c-{ext}", agents_rung=(ext,), agent=ext))
        hers, his = [(await log.search(CallQuery(agent=ext))).items[0].id for ext in ("101", "102")]
    finally:
        log.close()
    notes = NoteService(store)
    contact = await ContactService(store).create(ContactIn(first_name="Ann"))
    on_contact = await notes.create(NoteIn(body="contact", contact_id=contact.id))
    on_hers = await notes.create(NoteIn(body="hers", call_id=hers, contact_id=contact.id))
    on_his = await notes.create(NoteIn(body="his", call_id=his, contact_id=contact.id))
    olga = Viewer(1, ("101",))
    seen = await notes.search(NoteQuery(contact_id=contact.id), viewer=olga)
    assert [n.id for n in seen.items] == [on_hers.id, on_contact.id] and seen.total == 2
    assert (await notes.search(viewer=Viewer(1, ()))).total == 1  # no phone: no call notes
    assert (await notes.search(viewer=Viewer(1, ("101",), own=False))).total == 3
    assert (await notes.get(on_hers.id, viewer=olga)).body == "hers"
    with pytest.raises(ForbiddenError):
        await notes.get(on_his.id, viewer=olga)
    with pytest.raises(ForbiddenError):
        await notes.create(NoteIn(body="x", call_id=his), author_id=1, viewer=olga)
    with pytest.raises(ForbiddenError):  # on her call, but written by someone else
        await notes.update(on_hers.id, NotePatch(body="x"), viewer=olga)
    with pytest.raises(ForbiddenError):
        await notes.delete(on_his.id, viewer=olga)
    assert (await notes.get(on_his.id)).body == "his"
