"""The pop card's facts from the CRM store, through its services (no SQL here).

Each part is trimmed to what a pop needs (the card travels to every rung operator), and
times are ISO strings so the card is JSON as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cti.crm_store.repos.cards import CardLoader
from cti.crm_store.repos.lookup import CallerLookup
from cti.crm_store.schemas.lookup import Match
from cti.crm_store.store import Store

JsonList = list[dict[str, Any]]


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
                # several people on one number: what they have going on (how they rank)
                "last_call_at": _iso(c.last_call_at),
                "open_deals": c.open_deals,
                "open_tickets": c.open_tickets,
            }
            for c in match.candidates
        ],
    }


class StoreCardSource:
    """:class:`~cti.screenpop.cards.CardSource` over a :class:`Store`.

    The caller match and the rest of the card are two store calls, each a few indexed
    reads on one connection (:class:`~cti.crm_store.repos.cards.CardLoader`).
    """

    def __init__(self, store: Store) -> None:
        self.lookup = CallerLookup(store)
        self.loader = CardLoader(store)

    def close(self) -> None:
        self.lookup.close()
        self.loader.close()

    async def match(self, number: str) -> dict[str, Any]:
        return match_json(await self.lookup.lookup(number))

    async def details(self, contact_ids: list[int], number: str) -> dict[str, JsonList]:
        data = await self.loader.load(contact_ids, number)
        return {
            "deals": [
                {
                    "id": d.id,
                    "contact_id": d.contact_id,
                    "title": d.title,
                    "stage": d.stage,
                    "amount": str(d.amount) if d.amount is not None else None,
                    "currency": d.currency,
                    "expected_close": d.expected_close.isoformat() if d.expected_close else None,
                }
                for d in data.deals
            ],
            "tickets": [
                {
                    "id": t.id,
                    "contact_id": t.contact_id,
                    "subject": t.subject,
                    "status": t.status,
                    "priority": t.priority,
                    "sla_due": _iso(t.sla_due),
                    "sla_breached": t.sla_breached,
                }
                for t in data.tickets
            ],
            "calls": [
                {
                    "id": c.id,
                    "when": _iso(c.started_at),
                    "direction": c.direction,
                    "status": c.status,
                    "agent": c.agent,
                    "talk_seconds": c.talk_seconds,
                    "disposition": c.disposition,
                }
                for c in data.calls
            ],
            "tasks": [
                {
                    "id": t.id,
                    "title": t.title,
                    "kind": t.kind,
                    "due_at": _iso(t.due_at),
                    "assignee_id": t.assignee_id,
                }
                for t in data.tasks
            ],
        }
