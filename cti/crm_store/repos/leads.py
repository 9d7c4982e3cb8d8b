"""Dial lists and their leads in SQL: import (match or create contacts, skip do-not-call
and duplicates), recycle, list the lists.

An import is one transaction: it lands whole or not at all, and a dry run is the same
work rolled back, so its counts are exactly what the real run would give.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm_store.models.campaigns import CampaignList, Lead
from cti.crm_store.models.contacts import Contact, ContactEmail, Phone
from cti.crm_store.phones import tail
from cti.crm_store.repos.dnc import CHUNK, hits
from cti.crm_store.rules.contacts import name_keys
from cti.crm_store.rules.leads import LeadRow, RowProblem
from cti.crm_store.schemas.campaigns import CampaignListOut
from cti.crm_store.store import Store

#: (phone, the contact's own zone) → (zones its window must be open in, the rule used)
ZonesOf = Callable[[str, str | None], tuple[list[str], str]]


@dataclass
class ImportTally:
    added: int = 0
    duplicates: int = 0
    dnc: int = 0
    contacts_matched: int = 0
    contacts_created: int = 0
    zone_rules: Counter[str] = field(default_factory=Counter)
    problems: list[RowProblem] = field(default_factory=list)


class _Rollback(Exception):
    """Ends a dry run's transaction."""


class LeadRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def import_rows(
        self,
        *,
        campaign_id: int,
        list_name: str,
        priority: int,
        source: str,
        rows: Sequence[LeadRow],
        zones_of: ZonesOf,
        report: dict[str, object],
        dry_run: bool,
        now: datetime,
    ) -> ImportTally:
        """Add ``rows`` as leads of the list ``list_name`` (created, or its priority
        updated); the list keeps ``report`` plus the counts as its import report."""
        tally = ImportTally()
        try:
            async with self.store.sessions() as session, session.begin():
                the_list = await _list(session, campaign_id, list_name, priority, source, now)
                for i in range(0, len(rows), CHUNK):
                    await self._chunk(
                        session, campaign_id, the_list.id, rows[i : i + CHUNK], zones_of, tally, now
                    )
                the_list.report = {
                    **report,
                    "added": tally.added,
                    "duplicates": tally.duplicates,
                    "dnc": tally.dnc,
                    "contacts_matched": tally.contacts_matched,
                    "contacts_created": tally.contacts_created,
                    "zone_rules": dict(tally.zone_rules),
                    "imported_at": now.isoformat(),
                }
                await session.flush()
                if dry_run:
                    raise _Rollback
        except _Rollback:
            pass
        return tally

    async def _chunk(
        self,
        session: AsyncSession,
        campaign_id: int,
        list_id: int,
        rows: Sequence[LeadRow],
        zones_of: ZonesOf,
        tally: ImportTally,
        now: datetime,
    ) -> None:
        numbers = [r.phone for r in rows]
        leads = set(
            await session.scalars(
                select(Lead.phone).where(Lead.campaign_id == campaign_id, Lead.phone.in_(numbers))
            )
        )
        blocked = await hits(session, numbers, campaign_id)
        contacts = await _contacts_by_phone(session, numbers)
        for row in rows:
            if row.phone in leads:
                tally.duplicates += 1
                tally.problems.append(
                    RowProblem(row.line, "phone", f"{row.phone} is already in the campaign")
                )
                continue
            leads.add(row.phone)
            contact = contacts.get(row.phone)
            if row.phone in blocked or (contact is not None and contact[1]):
                which = blocked.get(row.phone, "contact")
                tally.dnc += 1
                tally.problems.append(
                    RowProblem(row.line, "phone", f"{row.phone} is on the {which} do-not-call list")
                )
                continue
            if contact is None:
                contact = (await self._create_contact(session, row, now), False, row.time_zone)
                contacts[row.phone] = contact
                tally.contacts_created += 1
            else:
                tally.contacts_matched += 1
            zones, rule = zones_of(row.phone, row.time_zone or contact[2])
            tally.zone_rules[rule] += 1
            session.add(
                Lead(
                    campaign_id=campaign_id,
                    list_id=list_id,
                    contact_id=contact[0],
                    phone=row.phone,
                    zones=zones,
                    zone_rule=rule,
                    created_at=now,
                    updated_at=now,
                )
            )
            tally.added += 1
        await session.flush()

    async def _create_contact(self, session: AsyncSession, row: LeadRow, now: datetime) -> int:
        first, last = row.first_name, row.last_name
        if not (first or last):
            last = row.phone  # a bare number: the card shows it until someone names them
        name_key, rname_key = name_keys(first, last)
        contact = Contact(
            first_name=first,
            last_name=last,
            name_key=name_key,
            rname_key=rname_key,
            time_zone=row.time_zone,
            source="dial-list",
            created_at=now,
            updated_at=now,
        )
        contact.phones.append(
            Phone(
                raw=row.phone,
                e164=row.phone,
                tail=tail(row.phone, self.store.phone.tail_digits),
                kind="mobile",
                created_at=now,
                updated_at=now,
            )
        )
        if row.email:
            contact.emails.append(ContactEmail(email=row.email))
        session.add(contact)
        await session.flush()
        return contact.id

    async def lists(self, campaign_id: int) -> list[CampaignListOut]:
        async with self.store.sessions() as session:
            rows = await session.scalars(
                select(CampaignList)
                .where(CampaignList.campaign_id == campaign_id)
                .order_by(CampaignList.priority.desc(), CampaignList.id)
            )
            return [CampaignListOut.model_validate(r) for r in rows]

    async def recycle(
        self,
        campaign_id: int,
        *,
        outcomes: Iterable[str],
        closed_reasons: Iterable[str],
        list_id: int | None,
        now: datetime,
    ) -> int:
        """Give closed leads another pass: those whose last outcome is one of ``outcomes``
        (closed by running out of attempts) or closed for one of ``closed_reasons`` (a
        disposition). Do-not-call and invalid numbers are never recycled."""
        outcomes, reasons = list(outcomes), list(closed_reasons)
        chosen: list[ColumnElement[bool]] = []
        if outcomes:
            chosen.append((Lead.closed_reason == "max-attempts") & Lead.last_outcome.in_(outcomes))
        if reasons:
            chosen.append(
                Lead.closed_reason.in_([r for r in reasons if r not in ("dnc", "invalid")])
            )
        if not chosen:
            return 0
        stmt = update(Lead).where(
            Lead.campaign_id == campaign_id, Lead.state == "done", or_(*chosen)
        )
        if list_id is not None:
            stmt = stmt.where(Lead.list_id == list_id)
        async with self.store.sessions() as session, session.begin():
            result = await session.execute(
                stmt.values(
                    state="ready", attempts=0, next_at=None, closed_reason=None, updated_at=now
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def count(self, campaign_id: int) -> int:
        async with self.store.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(Lead).where(Lead.campaign_id == campaign_id)
                )
                or 0
            )


async def _list(
    session: AsyncSession, campaign_id: int, name: str, priority: int, source: str, now: datetime
) -> CampaignList:
    row = await session.scalar(
        select(CampaignList).where(
            CampaignList.campaign_id == campaign_id, CampaignList.name == name
        )
    )
    if row is None:
        row = CampaignList(
            campaign_id=campaign_id,
            name=name,
            priority=priority,
            source=source,
            report={},
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
    else:
        row.priority, row.source, row.updated_at = priority, source, now
    return row


async def _contacts_by_phone(
    session: AsyncSession, numbers: Sequence[str]
) -> dict[str, tuple[int, bool, str | None]]:
    """E.164 → (contact id, do-not-call flag, time zone) of the first contact with it."""
    rows = await session.execute(
        select(Phone.e164, Contact.id, Contact.do_not_call, Contact.time_zone)
        .join(Contact, Contact.id == Phone.contact_id)
        .where(Phone.e164.in_(numbers))
        .order_by(Contact.id)
    )
    found: dict[str, tuple[int, bool, str | None]] = {}
    for e164, contact_id, dnc, zone in rows:
        if e164 is not None:
            found.setdefault(e164, (contact_id, bool(dnc), zone))
    return found
