"""Timelines: everything that happened with a contact or a company, newest first, in keyset
pages (the cursor as for calls: :mod:`cti.crm_store.rules.keyset`)."""

from __future__ import annotations

from collections.abc import Sequence

from cti.crm_store.repos.base import get_or_404
from cti.crm_store.repos.timeline import Owner, TimelineRepo
from cti.crm_store.rules import keyset
from cti.crm_store.rules.fields import invalid
from cti.crm_store.schemas.timeline import TimelinePage, TimelineQuery
from cti.crm_store.store import Store


class TimelineService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.repo = TimelineRepo(store)

    async def page(
        self,
        *,
        contact_id: int | None = None,
        company_id: int | None = None,
        query: TimelineQuery,
        calls: Sequence[str] | None,
        tasks: int | None,
    ) -> TimelinePage:
        """One page of the contact's (or company's) timeline; ``calls`` and ``tasks``: the
        reader's scopes (an operator's extensions and user id; None: all), see
        :class:`~cti.crm_store.repos.timeline.Owner`. 404 for a missing contact/company."""
        await self._exists(contact_id, company_id)
        owner = Owner(contact_id, company_id, calls, tasks)
        scope = keyset.scope_of(["timeline", contact_id, company_id])
        after = None
        if query.cursor is not None:
            try:
                after = keyset.decode(query.cursor, scope)
            except ValueError as exc:
                raise invalid("cursor", str(exc)) from None
            if after.value is None:
                raise invalid("cursor", "is not a cursor of this listing")
        items, last = await self.repo.page(owner, after, query.limit)
        cursor = keyset.encode(last, scope) if last is not None else None
        return TimelinePage(items=items, next_cursor=cursor)

    async def _exists(self, contact_id: int | None, company_id: int | None) -> None:
        from cti.crm_store.models.contacts import Company, Contact

        async with self.store.sessions() as session:
            if contact_id is not None:
                await get_or_404(session, Contact, contact_id, "contact")
            if company_id is not None:
                await get_or_404(session, Company, company_id, "company")
