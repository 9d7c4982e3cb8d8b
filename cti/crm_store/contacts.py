"""Contact and company services: CRUD, indexed search, phone normalization on the way in.

Each call opens its own short session on the :class:`Store` and returns pydantic ``*Out``
objects, so no SQLAlchemy object leaves ``cti.crm_store``. Name search is a prefix range
on lower-cased indexed keys (never ``LIKE '%…'``); phone search hits the E.164 or tail index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, joinedload, selectinload

from cti.config import PhoneConfig
from cti.crm_store.base import utcnow
from cti.crm_store.models import Company, Contact, ContactEmail, Phone, User
from cti.crm_store.phones import digits, normalize, tail, time_zone_for
from cti.crm_store.schemas.common import Page, PageParams
from cti.crm_store.schemas.contacts import (
    CompanyIn,
    CompanyOut,
    CompanyPatch,
    ContactIn,
    ContactOut,
    ContactPatch,
    PhoneIn,
    PhoneOut,
)
from cti.crm_store.store import Store
from cti.errors import NotFoundError, ValidationError

_TOP = "\U0010ffff"


def invalid(field: str, reason: str) -> ValidationError:
    """A validation error that names its field (``phones[0].number: not a valid …``)."""
    return ValidationError(f"{field}: {reason}", details={"field": field, "reason": reason})


def name_keys(first: str, last: str) -> tuple[str, str]:
    """Lower-cased ``first last`` and ``last first``: the indexed search keys of a contact."""
    return f"{first} {last}".strip().lower(), f"{last} {first}".strip().lower()


def company_key(name: str) -> str:
    """Lower-cased, whitespace-collapsed company name (search key; import reuses by it)."""
    return " ".join(name.split()).lower()


def prefix_match(column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` as an index range scan on both backends.

    The range drives the B-tree; the ``LIKE`` only re-checks the few rows inside it, which
    keeps results right under non-binary PostgreSQL collations too.
    """
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return and_(column >= prefix, column < prefix + _TOP, column.like(escaped + "%", escape="\\"))


def build_phones(phones: Sequence[PhoneIn], config: PhoneConfig, field: str) -> list[Phone]:
    """Phone rows from input, normalized to E.164; an unusable number names its field."""
    rows = []
    for i, phone in enumerate(phones):
        e164 = normalize(phone.number, config.default_region)
        if e164 is None:
            raise invalid(f"{field}[{i}].number", f"not a valid phone number: {phone.number!r}")
        rows.append(
            Phone(raw=phone.number, e164=e164, tail=tail(e164, config.tail_digits), kind=phone.kind)
        )
    return rows


def phone_filter(number: str, config: PhoneConfig, field: str = "phone") -> ColumnElement[bool]:
    """Indexed condition on :class:`Phone` for a searched number (E.164, else its tail)."""
    e164 = normalize(number, config.default_region)
    if e164 is not None:
        return Phone.e164 == e164
    plain = digits(number)
    if len(plain) < config.tail_digits:
        raise invalid(field, f"give at least {config.tail_digits} digits")
    return Phone.tail == plain[-config.tail_digits :]


def _phones_out(phones: Sequence[Phone]) -> list[PhoneOut]:
    return [PhoneOut.model_validate(p) for p in sorted(phones, key=lambda p: p.id)]


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


class ContactService:
    """CRUD and search of contacts (with their e-mails, phones and company)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _loaded(self) -> Select[Contact]:
        return select(Contact).options(
            selectinload(Contact.emails), selectinload(Contact.phones), joinedload(Contact.company)
        )

    async def _check_refs(
        self, session: AsyncSession, company_id: int | None, owner_id: int | None
    ) -> None:
        if company_id is not None and await session.get(Company, company_id) is None:
            raise invalid("company_id", f"no company {company_id}")
        if owner_id is not None and await session.get(User, owner_id) is None:
            raise invalid("owner_id", f"no user {owner_id}")

    async def _fetch(self, session: AsyncSession, contact_id: int) -> Contact:
        contact = (
            await session.scalars(self._loaded().where(Contact.id == contact_id))
        ).one_or_none()
        if contact is None:
            raise NotFoundError(f"no contact {contact_id}", details={"id": contact_id})
        return contact

    async def create(self, data: ContactIn) -> ContactOut:
        phones = build_phones(data.phones, self.store.phone, "phones")
        time_zone = data.time_zone
        if time_zone is None and phones and phones[0].e164:
            time_zone = time_zone_for(phones[0].e164)
        key, rkey = name_keys(data.first_name, data.last_name)
        async with self.store.sessions() as session, session.begin():
            await self._check_refs(session, data.company_id, data.owner_id)
            contact = Contact(
                first_name=data.first_name,
                last_name=data.last_name,
                name_key=key,
                rname_key=rkey,
                company_id=data.company_id,
                notes=data.notes,
                owner_id=data.owner_id,
                time_zone=time_zone,
                do_not_call=data.do_not_call,
                tags=list(data.tags),
                emails=[ContactEmail(email=e) for e in data.emails],
                phones=phones,
            )
            session.add(contact)
            await session.flush()
            contact_id = contact.id
        return await self.get(contact_id)

    async def get(self, contact_id: int) -> ContactOut:
        async with self.store.sessions() as session:
            return contact_out(await self._fetch(session, contact_id))

    async def update(self, contact_id: int, patch: ContactPatch) -> ContactOut:
        given = patch.model_fields_set
        phones = (
            build_phones(patch.phones, self.store.phone, "phones")
            if "phones" in given and patch.phones is not None
            else None
        )
        async with self.store.sessions() as session, session.begin():
            contact = await self._fetch(session, contact_id)
            await self._check_refs(
                session,
                patch.company_id if "company_id" in given else None,
                patch.owner_id if "owner_id" in given else None,
            )
            for field in ("first_name", "last_name", "do_not_call"):
                value = getattr(patch, field)
                if field in given and value is not None:
                    setattr(contact, field, value)
            for field in ("company_id", "notes", "owner_id", "time_zone"):
                if field in given:
                    setattr(contact, field, getattr(patch, field))
            if not contact.first_name and not contact.last_name:
                raise invalid("last_name", "first_name or last_name is required")
            contact.name_key, contact.rname_key = name_keys(contact.first_name, contact.last_name)
            if "tags" in given:
                contact.tags = list(patch.tags or [])
            if "emails" in given:
                contact.emails = [ContactEmail(email=e) for e in patch.emails or []]
            if phones is not None or ("phones" in given and patch.phones is None):
                contact.phones = phones or []
            contact.updated_at = utcnow()
        return await self.get(contact_id)

    async def delete(self, contact_id: int) -> None:
        async with self.store.sessions() as session, session.begin():
            result = await session.execute(delete(Contact).where(Contact.id == contact_id))
            if getattr(result, "rowcount", 0) == 0:
                raise NotFoundError(f"no contact {contact_id}", details={"id": contact_id})

    async def search(
        self,
        *,
        q: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        params: PageParams | None = None,
    ) -> Page[ContactOut]:
        """Contacts whose name (first or last) starts with ``q``, with ``phone``, ``email``."""
        params = params or PageParams()
        query = self._loaded()
        if q and q.strip():
            prefix = " ".join(q.split()).lower()
            query = query.where(
                or_(prefix_match(Contact.name_key, prefix), prefix_match(Contact.rname_key, prefix))
            )
        if phone:
            cond = phone_filter(phone, self.store.phone)
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


class CompanyService:
    """CRUD and search of companies (with their phones)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def _fetch(self, session: AsyncSession, company_id: int) -> Company:
        query = select(Company).options(selectinload(Company.phones))
        company = (await session.scalars(query.where(Company.id == company_id))).one_or_none()
        if company is None:
            raise NotFoundError(f"no company {company_id}", details={"id": company_id})
        return company

    async def create(self, data: CompanyIn) -> CompanyOut:
        phones = build_phones(data.phones, self.store.phone, "phones")
        async with self.store.sessions() as session, session.begin():
            company = Company(
                name=data.name,
                name_key=company_key(data.name),
                website=data.website,
                notes=data.notes,
                phones=phones,
            )
            session.add(company)
            await session.flush()
            company_id = company.id
        return await self.get(company_id)

    async def get(self, company_id: int) -> CompanyOut:
        async with self.store.sessions() as session:
            return company_out(await self._fetch(session, company_id))

    async def update(self, company_id: int, patch: CompanyPatch) -> CompanyOut:
        given = patch.model_fields_set
        phones = (
            build_phones(patch.phones, self.store.phone, "phones")
            if "phones" in given and patch.phones is not None
            else None
        )
        async with self.store.sessions() as session, session.begin():
            company = await self._fetch(session, company_id)
            if "name" in given and patch.name is not None:
                company.name = patch.name
                company.name_key = company_key(patch.name)
            for field in ("website", "notes"):
                if field in given:
                    setattr(company, field, getattr(patch, field))
            if "phones" in given:
                company.phones = phones or []
            company.updated_at = utcnow()
        return await self.get(company_id)

    async def delete(self, company_id: int) -> None:
        """Delete a company; its contacts stay (``company_id`` becomes NULL)."""
        async with self.store.sessions() as session, session.begin():
            result = await session.execute(delete(Company).where(Company.id == company_id))
            if getattr(result, "rowcount", 0) == 0:
                raise NotFoundError(f"no company {company_id}", details={"id": company_id})

    async def search(
        self,
        *,
        q: str | None = None,
        phone: str | None = None,
        params: PageParams | None = None,
    ) -> Page[CompanyOut]:
        """Companies whose name starts with ``q`` and/or that have ``phone``."""
        params = params or PageParams()
        query = select(Company).options(selectinload(Company.phones))
        if q and q.strip():
            query = query.where(prefix_match(Company.name_key, company_key(q)))
        if phone:
            cond = phone_filter(phone, self.store.phone)
            query = query.where(Company.id.in_(select(Phone.company_id).where(cond)))
        async with self.store.sessions() as session:
            rows, total = await _page(session, query, (Company.name_key, Company.id), params)
        return Page[CompanyOut](
            items=[company_out(c) for c in rows],
            total=total,
            page=params.page,
            per_page=params.per_page,
        )
