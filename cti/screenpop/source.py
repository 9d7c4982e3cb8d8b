"""The pop card's facts from the CRM store, through its services (no SQL here).

Each part is trimmed to what a pop needs (the card travels to every rung operator), and
times are ISO strings so the card is JSON as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from cti.calllog.service import CallLog
from cti.config import CrmConfig
from cti.crm_store.deals import DealService
from cti.crm_store.lookup import CallerLookup, Match
from cti.crm_store.schemas.deals import DealQuery
from cti.crm_store.schemas.tasks import TaskOut, TaskQuery
from cti.crm_store.schemas.tickets import TicketQuery
from cti.crm_store.store import Store
from cti.crm_store.tasks import TaskService
from cti.crm_store.tickets import TicketService
from cti.crm_store.timeutil import utcnow
from cti.errors import ValidationError

T = TypeVar("T")
#: open items per contact shown on a card
PER_CONTACT = 5


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def match_json(match: Match) -> dict[str, Any]:
    """The lookup's answer in the pop's shape: ranked ``contacts`` with ``id``/``name``/…"""
    return {
        "status": match.status,
        "number": match.number,
        "contacts": [
            {
                "id": c.contact_id,
                "name": c.name,
                "company": c.company_name,
                "company_id": c.company_id,
                "phones": c.phones,
                "matched_phone": c.matched_phone,
                "score": c.score,
            }
            for c in match.candidates
        ],
    }


async def _each(ids: Sequence[int], load: Callable[[int], Awaitable[list[T]]]) -> list[T]:
    found: list[T] = []
    for part in await asyncio.gather(*(load(i) for i in ids)):
        found.extend(part)
    return found


class StoreCardSource:
    """:class:`~cti.screenpop.cards.CardSource` over a :class:`Store`."""

    def __init__(self, store: Store, crm: CrmConfig | None = None) -> None:
        self.lookup = CallerLookup(store)
        self.calllog = CallLog(store)
        self.deal_service = DealService(store, crm)
        self.ticket_service = TicketService(store, crm)
        self.task_service = TaskService(store)

    def close(self) -> None:
        self.lookup.close()

    async def match(self, number: str) -> dict[str, Any]:
        return match_json(await self.lookup.lookup(number))

    async def deals(self, contact_ids: list[int]) -> list[dict[str, Any]]:
        async def load(cid: int) -> list[dict[str, Any]]:
            page = await self.deal_service.search(
                DealQuery(contact_id=cid, status="open", per_page=PER_CONTACT)
            )
            return [
                {
                    "id": d.id,
                    "contact_id": d.contact_id,
                    "title": d.title,
                    "stage": d.stage,
                    "amount": str(d.amount) if d.amount is not None else None,
                    "currency": d.currency,
                    "expected_close": d.expected_close.isoformat() if d.expected_close else None,
                }
                for d in page.items
            ]

        return await _each(contact_ids, load)

    async def tickets(self, contact_ids: list[int]) -> list[dict[str, Any]]:
        now = utcnow()

        async def load(cid: int) -> list[dict[str, Any]]:
            page = await self.ticket_service.search(
                TicketQuery(contact_id=cid, open=True, per_page=PER_CONTACT)
            )
            items = []
            for t in page.items:
                responded = t.first_responded_at is not None
                due = t.resolution_due if responded else t.first_response_due
                breached = (
                    t.first_response_breached
                    or t.resolution_breached
                    or (due is not None and due < now)
                )
                items.append(
                    {
                        "id": t.id,
                        "contact_id": t.contact_id,
                        "subject": t.subject,
                        "status": t.status,
                        "priority": t.priority,
                        "sla_due": _iso(due),
                        "sla_breached": breached,
                    }
                )
            return items

        return await _each(contact_ids, load)

    async def calls(self, number: str) -> list[dict[str, Any]]:
        return [
            {
                "id": c.id,
                "when": _iso(c.started_at),
                "direction": c.direction,
                "status": c.status,
                "agent": c.agent,
                "talk_seconds": c.talk_seconds,
                "disposition": c.disposition,
            }
            for c in await self.calllog.recent_calls(number, limit=5)
        ]

    async def _task_page(self, query: TaskQuery) -> list[TaskOut]:
        try:
            return (await self.task_service.search(query)).items
        except ValidationError:  # a number the task service cannot read: no callbacks for it
            return []

    async def tasks(self, contact_ids: list[int], number: str) -> list[dict[str, Any]]:
        # a known caller: their tasks (callbacks the call log opened carry the contact too);
        # an unknown one: the callbacks to this number
        queries = [
            TaskQuery(contact_id=cid, done=False, per_page=PER_CONTACT) for cid in contact_ids
        ] or [TaskQuery(phone=number, done=False, per_page=PER_CONTACT)]
        found: dict[int, TaskOut] = {}
        for page in await asyncio.gather(*(self._task_page(q) for q in queries)):
            for task in page:
                found.setdefault(task.id, task)
        tasks = sorted(found.values(), key=lambda t: (t.due_at is None, t.due_at or utcnow(), t.id))
        return [
            {
                "id": t.id,
                "title": t.title,
                "kind": t.kind,
                "due_at": _iso(t.due_at),
                "assignee_id": t.assignee_id,
            }
            for t in tasks[: PER_CONTACT * 2]
        ]
