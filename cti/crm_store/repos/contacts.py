"""Contacts and companies in SQL: one short session per call, pydantic ``*Out`` objects out.

Name search is a prefix range on the lower-cased indexed keys (never ``LIKE '%…'``); phone
search hits the E.164 or tail index. An update reads the row, lets the caller decide the new
values from it (a plain ``*Out`` snapshot) and writes them, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from cti.config import PhoneConfig
from cti.crm_store.models import Company, Contact, ContactEmail, Phone, User
from cti.crm_store.repos.base import phone_filter, prefix_match
from cti.crm_store.rules.contacts import PhoneValues, company_key, name_keys
from cti.crm_store.rules.fields import invalid_field
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.contacts import CompanyOut, ContactOut, PhoneOut
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.errors import NotFoundError

#: column values to write; ``emails`` (list of str) and ``phones`` (list of
#: :class:`PhoneValues`) replace the contact's own when present
Changes = dict[str, Any]


def _phones_out(phones: Sequence[Phone]) -> list[PhoneOut]:
    return [PhoneOut.model_validate(p) for p in sorted(phones, key=lambda p: p.id)]


def _phone_rows(phones: Sequence[PhoneValues]) -> list[Phone]:
    return [Phone(raw=p.raw, e164=p.e164, tail=p.tail, kind=p.kind) for p in phones]


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.id,
        first_name=contact.first_name,
        last_name=contact.last_name,
        name=contact.name,
        company_id=contact.company_id,
        company_name=contact.company.name if contact.company else None,
        emails=[e.email for e in sorted(contact.emails, key=lambda e: e.id)],
        phones=_phones_out(contact.phones),
        notes=contact.notes,
        owner_id=contact.owner_id,
        time_zone=contact.time_zone,
        do_not_call=contact.do_not_call,
        tags=list(contact.tags or []),
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


def company_out(company: Company) -> CompanyOut:
    return CompanyOut(
        id=company.id,
        name=company.name,
        website=company.website,
        notes=company.notes,
        phones=_phones_out(company.phones),
        created_at=company.created_at,
        updated_at=company.updated_at,
    )


async def _page(
    session: AsyncSession, query: Select[Any], order: Sequence[Any], params: PageParams
) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(*order).offset(params.offset).limit(params.per_page)
    )
    return list(rows.unique()), int(total or 0)


def _loaded() -> Select[Contact]:
    return select(Contact).options(
        selectinload(Contact.emails), selectinload(Contact.phones), joinedload(Contact.company)
    )


async def _check_refs(session: AsyncSession, company_id: int | None, owner_id: int | None) -> None:
    if company_id is not None and await session.get(Company, company_id) is None:
        raise invalid_field("company_id", f"no company {company_id}")
    if owner_id is not None and await session.get(User, owner_id) is None:
        raise invalid_field("owner_id", f"no user {owner_id}")


class ContactRepo:
    """Contacts with their e-mails, phones and company."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def _fetch(self, session: AsyncSession, contact_id: int) -> Contact:
        contact = (await session.scalars(_loaded().where(Contact.id == contact_id))).one_or_none()
        if contact is None:
            raise NotFoundError(f"no contact {contact_id}", details={"id": contact_id})
        return contact

    async def create(
        self, values: Mapping[str, Any], emails: Sequence[str], phones: Sequence[PhoneValues]
    ) -> int:
        """Insert a contact (its company and owner must exist); its id."""
        key, rkey = name_keys(values["first_name"], values["last_name"])
        async with self.store.sessions() as session, session.begin():
            await _check_refs(session, values.get("company_id"), values.get("owner_id"))
            contact = Contact(
                **values,
                name_key=key,
                rname_key=rkey,
                emails=[ContactEmail(email=e) for e in emails],
                phones=_phone_rows(phones),
            )
            session.add(contact)
            await session.flush()
            return contact.id

    async def get(self, contact_id: int) -> ContactOut:
        async with self.store.sessions() as session:
            return contact_out(await self._fetch(session, contact_id))

    async def update(
        self,
        contact_id: int,
        refs: tuple[int | None, int | None],
        decide: Callable[[ContactOut], Changes],
    ) -> None:
        """Check the (company, owner) ``refs``, then write what ``decide`` makes of the
        contact as it is now; name keys follow the names."""
        async with self.store.sessions() as session, session.begin():
            contact = await self._fetch(session, contact_id)
            await _check_refs(session, *refs)
            changes = dict(decide(contact_out(contact)))
            emails: list[str] | None = changes.pop("emails", None)
            phones: list[PhoneValues] | None = changes.pop("phones", None)
            for field, value in changes.items():
                setattr(contact, field, value)
            contact.name_key, contact.rname_key = name_keys(contact.first_name, contact.last_name)
            if emails is not None:
                contact.emails = [ContactEmail(email=e) for e in emails]
            if phones is not None:
                contact.phones = _phone_rows(phones)
            contact.updated_at = utcnow()

    async def delete(self, contact_id: int) -> None:
        async with self.store.sessions() as session, session.begin():
            result = await session.execute(delete(Contact).where(Contact.id == contact_id))
            if getattr(result, "rowcount", 0) == 0:
                raise NotFoundError(f"no contact {contact_id}", details={"id": contact_id})

    async def search(
        self,
        phone_config: PhoneConfig,
        *,
        q: str | None,
        phone: str | None,
        email: str | None,
        params: PageParams,
    ) -> Page[ContactOut]:
        """Contacts whose name (first or last) starts with ``q``, with ``phone``, ``email``."""
        query = _loaded()
        if q and q.strip():
            prefix = " ".join(q.split()).lower()
            query = query.where(
                or_(prefix_match(Contact.name_key, prefix), prefix_match(Contact.rname_key, prefix))
            )
        if phone:
            cond = phone_filter(phone, phone_config)
            query = query.where(Contact.id.in_(select(Phone.contact_id).where(cond)))
        if email and email.strip():
            emails = select(ContactEmail.contact_id).where(
                prefix_match(ContactEmail.email, email.strip().lower())
            )
            query = query.where(Contact.id.in_(emails))
        async with self.store.sessions() as session:
            rows, total = await _page(session, query, (Contact.name_key, Contact.id), params)
        return Page[ContactOut](
            items=[contact_out(c) for c in rows],
            total=total,
            page=params.page,
            per_page=params.per_page,
        )

    async def imported_from(self, file_name: str) -> list[tuple[int, int | None, str, str]]:
        """(id, company id, first name, last name) of the contacts imported from a file of
        this name (their ``source`` is ``import:NAME:LINE``), in id order."""
        escaped = file_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = (
            select(Contact.id, Contact.company_id, Contact.first_name, Contact.last_name)
            .where(Contact.source.like(f"import:{escaped}:%", escape="\\"))
            .order_by(Contact.id)
        )
        async with self.store.sessions() as session:
            return [(i, k, f, la) for i, k, f, la in await session.execute(query)]

    async def numbers_sample(self, limit: int) -> list[str]:
        """Up to ``limit`` E.164 numbers of contacts (demo traffic for the PBX simulator)."""
        query = (
            select(Phone.e164)
            .where(Phone.contact_id.is_not(None), Phone.e164.is_not(None))
            .order_by(Phone.id)
            .limit(max(limit, 0))
        )
        async with self.store.sessions() as session:
            return [n for n in await session.scalars(query) if n]


class CompanyRepo:
    """Companies with their phones."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def _fetch(self, session: AsyncSession, company_id: int) -> Company:
        query = select(Company).options(selectinload(Company.phones))
        company = (await session.scalars(query.where(Company.id == company_id))).one_or_none()
        if company is None:
            raise NotFoundError(f"no company {company_id}", details={"id": company_id})
        return company

    async def create(self, values: Mapping[str, Any], phones: Sequence[PhoneValues]) -> int:
        async with self.store.sessions() as session, session.begin():
            company = Company(
                **values, name_key=company_key(values["name"]), phones=_phone_rows(phones)
            )
            session.add(company)
            await session.flush()
            return company.id

    async def get(self, company_id: int) -> CompanyOut:
        async with self.store.sessions() as session:
            return company_out(await self._fetch(session, company_id))

    async def update(self, company_id: int, changes: Changes) -> None:
        """Write ``changes`` (``phones`` replaces the company's own); the key follows the name."""
        async with self.store.sessions() as session, session.begin():
            company = await self._fetch(session, company_id)
            values = dict(changes)
            phones: list[PhoneValues] | None = values.pop("phones", None)
            for field, value in values.items():
                setattr(company, field, value)
            if "name" in values:
                company.name_key = company_key(company.name)
            if phones is not None:
                company.phones = _phone_rows(phones)
            company.updated_at = utcnow()

    async def delete(self, company_id: int) -> None:
        """Delete a company; its contacts stay (``company_id`` becomes NULL)."""
        async with self.store.sessions() as session, session.begin():
            result = await session.execute(delete(Company).where(Company.id == company_id))
            if getattr(result, "rowcount", 0) == 0:
                raise NotFoundError(f"no company {company_id}", details={"id": company_id})

    async def search(
        self, phone_config: PhoneConfig, *, q: str | None, phone: str | None, params: PageParams
    ) -> Page[CompanyOut]:
        """Companies whose name starts with ``q`` and/or that have ``phone``."""
        query = select(Company).options(selectinload(Company.phones))
        if q and q.strip():
            query = query.where(prefix_match(Company.name_key, company_key(q)))
        if phone:
            cond = phone_filter(phone, phone_config)
            query = query.where(Company.id.in_(select(Phone.company_id).where(cond)))
        async with self.store.sessions() as session:
            rows, total = await _page(session, query, (Company.name_key, Company.id), params)
        return Page[CompanyOut](
            items=[company_out(c) for c in rows],
            total=total,
            page=params.page,
            per_page=params.per_page,
        )
