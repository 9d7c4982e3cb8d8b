"""Caller-ID ranking: which of the parties whose phones matched a number is calling.

Exact = the same E.164 (score 1.0). Partial = the same last N digits (a number without its
country code, or another country's prefix), scored by how many trailing digits agree. One
candidate per contact (or per company, for a switchboard number), best first; a contact
outranks its company's number at the same score; two contacts at the top score are
``multiple`` (the pop shows both rather than guess).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cti.crm_store.phones import digits
from cti.crm_store.schemas.lookup import Candidate, Match, MatchStatus

MAX_CANDIDATES = 10
#: (contact_id, company_id, e164, raw): a phone of a matched party
PhoneRow = Sequence[Any]
#: (contact_id, company_id, e164, raw, first_name, last_name, company id, company name)
MatchRow = Sequence[Any]


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
