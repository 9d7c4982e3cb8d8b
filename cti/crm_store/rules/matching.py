"""Caller-ID ranking: which of the parties whose phones matched a number is calling.

Exact = the same E.164 (score 1.0). Partial = the same last N digits (a number without its
country code, or another country's prefix), scored by how many trailing digits agree. One
candidate per contact (or per company, for a switchboard number), best first; a contact
outranks its company's number at the same score; two contacts at the top score are
``multiple`` (the pop shows both rather than guess): two people sharing a number, an office
line or a family's. Those are ranked by recent activity (:func:`by_activity`): the last call
with each, then their open deals and tickets; the most recently active first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cti.crm_store.phones import digits
from cti.crm_store.schemas.lookup import Candidate, Match, MatchStatus

MAX_CANDIDATES = 10
#: (contact_id, company_id, e164, raw): a phone of a matched party
PhoneRow = Sequence[Any]
#: (contact_id, company_id, e164, raw, first_name, last_name, company id, company name)
MatchRow = Sequence[Any]


@dataclass(frozen=True, slots=True)
class Activity:
    """What a contact has going on: the last call with them, open deals and tickets."""

    last_call_at: datetime | None = None
    open_deals: int = 0
    open_tickets: int = 0


def common_suffix(a: str, b: str) -> int:
    """How many trailing characters ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        n += 1
    return n


def rank(
    shown: str,
    e164: str | None,
    plain: str,
    rows: Sequence[MatchRow],
    phone_rows: Sequence[PhoneRow],
) -> Match:
    """The answer for the number shown as ``shown`` (``e164`` when valid, ``plain`` its
    digits), from the phones that matched it (``rows``) and all phones of those parties."""
    phones: dict[tuple[str, int], list[str]] = {}
    for contact_id, company_id, p_e164, raw in phone_rows:
        key = ("contact", contact_id) if contact_id is not None else ("company", company_id)
        phones.setdefault(key, []).append(p_e164 or raw)
    best: dict[tuple[str, int], Candidate] = {}
    for contact_id, company_id, p_e164, raw, first, last, co_id, co_name in rows:
        stored = p_e164 or raw
        if e164 is not None and p_e164 == e164:
            score = 1.0
        else:
            other = digits(stored)
            score = round(0.9 * common_suffix(plain, other) / max(len(plain), len(other)), 4)
        key = ("contact", contact_id) if contact_id is not None else ("company", company_id)
        if key in best and best[key].score >= score:
            continue
        name = f"{first or ''} {last or ''}".strip() if contact_id is not None else co_name
        best[key] = Candidate(
            contact_id=contact_id,
            name=name,
            company_id=co_id,
            company_name=co_name,
            phones=phones.get(key, [stored]),
            matched_phone=stored,
            score=score,
        )
    ranked = sorted(
        best.values(),
        key=lambda c: (-c.score, c.contact_id is None, c.name or "", c.contact_id or 0),
    )[:MAX_CANDIDATES]
    if not ranked:
        return Match(status="none", number=shown, candidates=[])
    top = ranked[0].score
    # a contact outranks its company's switchboard number at the same score
    at_top = sum(1 for c in ranked if c.score == top and c.contact_id is not None)
    if at_top == 0:
        at_top = sum(1 for c in ranked if c.score == top)
    status: MatchStatus = "multiple" if at_top > 1 else "exact" if top == 1.0 else "partial"
    return Match(status=status, number=shown, candidates=ranked)


_NEVER = datetime.min.replace(tzinfo=UTC)


def by_activity(match: Match, activity: Mapping[int, Activity]) -> Match:
    """``match`` with the contacts tied at its top score ordered by recent activity (last
    call, then open deals + tickets), each carrying its activity; the rest keep their
    order."""
    if match.status != "multiple":
        return match
    top = match.candidates[0].score
    tied = [c for c in match.candidates if c.score == top and c.contact_id is not None]
    rest = [c for c in match.candidates if c not in tied]

    def filled(c: Candidate) -> Candidate:
        a = activity.get(c.contact_id or 0, Activity())
        return c.model_copy(
            update={
                "last_call_at": a.last_call_at,
                "open_deals": a.open_deals,
                "open_tickets": a.open_tickets,
            }
        )

    def key(c: Candidate) -> tuple[datetime, int]:
        when = c.last_call_at
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # SQLite hands back naive UTC
        return (when or _NEVER, c.open_deals + c.open_tickets)

    ranked = sorted((filled(c) for c in tied), key=key, reverse=True)
    return match.model_copy(update={"candidates": ranked + rest})
