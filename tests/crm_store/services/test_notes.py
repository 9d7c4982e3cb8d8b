"""NoteService on both backends."""

from __future__ import annotations

import pytest

from cti.crm_store.schemas.contacts import ContactIn
from cti.crm_store.schemas.tasks import NoteIn, NotePatch, NoteQuery
from cti.crm_store.schemas.tickets import TicketIn
from cti.crm_store.services.contacts import ContactService
from cti.crm_store.services.tasks import NoteService
from cti.crm_store.services.tickets import TicketService
from cti.crm_store.store import Store
from cti.errors import NotFoundError, ValidationError


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
