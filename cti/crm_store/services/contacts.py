"""Contact and company services: validate and normalize on the way in, then the repository.

Phones are normalized to E.164 before anything is read (a bad number is a 422 naming its
field, ``phones[0].number``); a contact's time zone comes from its first phone when not
given; a contact keeps a first or a last name.
"""

from __future__ import annotations

from typing import Any

from cti.crm_store.repos.contacts import Changes, CompanyRepo, ContactRepo
from cti.crm_store.rules import contacts as rules
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.contacts import (
    CompanyIn,
    CompanyOut,
    CompanyPatch,
    ContactIn,
    ContactOut,
    ContactPatch,
)
from cti.crm_store.store import Store


class ContactService:
    """CRUD and search of contacts (with their e-mails, phones and company)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.repo = ContactRepo(store)

    async def create(self, data: ContactIn) -> ContactOut:
        phones = rules.phones(data.phones, self.store.phone, "phones")
        values = {
            "first_name": data.first_name,
            "last_name": data.last_name,
            "company_id": data.company_id,
            "notes": data.notes,
            "owner_id": data.owner_id,
            "time_zone": rules.time_zone(data.time_zone, phones),
            "do_not_call": data.do_not_call,
            "tags": list(data.tags),
        }
        contact_id = await self.repo.create(values, data.emails, phones)
        return await self.get(contact_id)

    async def get(self, contact_id: int) -> ContactOut:
        return await self.repo.get(contact_id)

    async def update(self, contact_id: int, patch: ContactPatch) -> ContactOut:
        given = patch.model_fields_set
        phones = (
            rules.phones(patch.phones, self.store.phone, "phones")
            if "phones" in given and patch.phones is not None
            else None
        )

        def decide(current: ContactOut) -> Changes:
            changes: dict[str, Any] = {}
            for field in ("first_name", "last_name", "do_not_call"):
                value = getattr(patch, field)
                if field in given and value is not None:
                    changes[field] = value
            for field in ("company_id", "notes", "owner_id", "time_zone"):
                if field in given:
                    changes[field] = getattr(patch, field)
            rules.check_name(
                changes.get("first_name", current.first_name),
                changes.get("last_name", current.last_name),
            )
            if "tags" in given:
                changes["tags"] = list(patch.tags or [])
            if "emails" in given:
                changes["emails"] = list(patch.emails or [])
            if "phones" in given:
                changes["phones"] = phones or []
            return changes

        refs = (
            patch.company_id if "company_id" in given else None,
            patch.owner_id if "owner_id" in given else None,
        )
        await self.repo.update(contact_id, refs, decide)
        return await self.get(contact_id)

    async def delete(self, contact_id: int) -> None:
        await self.repo.delete(contact_id)

    async def search(
        self,
        *,
        q: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        params: PageParams | None = None,
    ) -> Page[ContactOut]:
        """Contacts whose name (first or last) starts with ``q``, with ``phone``, ``email``."""
        return await self.repo.search(
            self.store.phone, q=q, phone=phone, email=email, params=params or PageParams()
        )

    async def numbers_sample(self, limit: int) -> list[str]:
        """Up to ``limit`` E.164 numbers of contacts (demo traffic for the PBX simulator)."""
        return await self.repo.numbers_sample(limit)


class CompanyService:
    """CRUD and search of companies (with their phones)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.repo = CompanyRepo(store)

    async def create(self, data: CompanyIn) -> CompanyOut:
        phones = rules.phones(data.phones, self.store.phone, "phones")
        values = {"name": data.name, "website": data.website, "notes": data.notes}
        return await self.get(await self.repo.create(values, phones))

    async def get(self, company_id: int) -> CompanyOut:
        return await self.repo.get(company_id)

    async def update(self, company_id: int, patch: CompanyPatch) -> CompanyOut:
        given = patch.model_fields_set
        changes: Changes = {}
        if "phones" in given:
            given_phones = patch.phones
            changes["phones"] = (
                rules.phones(given_phones, self.store.phone, "phones") if given_phones else []
            )
        if "name" in given and patch.name is not None:
            changes["name"] = patch.name
        for field in ("website", "notes"):
            if field in given:
                changes[field] = getattr(patch, field)
        await self.repo.update(company_id, changes)
        return await self.get(company_id)

    async def delete(self, company_id: int) -> None:
        """Delete a company; its contacts stay (``company_id`` becomes NULL)."""
        await self.repo.delete(company_id)

    async def search(
        self,
        *,
        q: str | None = None,
        phone: str | None = None,
        params: PageParams | None = None,
    ) -> Page[CompanyOut]:
        """Companies whose name starts with ``q`` and/or that have ``phone``."""
        return await self.repo.search(
            self.store.phone, q=q, phone=phone, params=params or PageParams()
        )
