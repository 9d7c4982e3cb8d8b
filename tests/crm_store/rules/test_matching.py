"""Caller-ID ranking on plain rows: exact over partial, contacts over their company's
switchboard, two contacts at the top are ``multiple``."""

from __future__ import annotations

from cti.crm_store.rules.matching import MAX_CANDIDATES, common_suffix, rank

IVAN = "+74951234567"


def row(
    contact: int | None, company: int | None, e164: str, first: str = "", last: str = ""
) -> tuple[object, ...]:
    return (
        contact,
        company,
        e164,
        e164,
        first,
        last,
        company,
        f"Co {company}" if company else None,
    )


def test_common_suffix() -> None:
    assert common_suffix("74951234567", "4951234567") == 10
    assert common_suffix("123", "456") == 0


def test_the_same_e164_is_exact_and_a_shared_tail_is_partial() -> None:
    exact = rank(IVAN, IVAN, IVAN[1:], [row(1, None, IVAN, "Ivan", "Petrov")], [])
    assert exact.status == "exact" and exact.best is not None
    assert (exact.best.name, exact.best.score, exact.best.phones) == ("Ivan Petrov", 1.0, [IVAN])
    other = "+3804951234567"
    partial = rank(IVAN, IVAN, IVAN[1:], [row(2, None, other, "Olga")], [])
    assert partial.status == "partial" and 0 < partial.candidates[0].score < 1


def test_a_contact_outranks_its_companys_number_and_two_contacts_are_multiple() -> None:
    rows = [row(None, 5, IVAN), row(1, 5, IVAN, "Ivan", "Petrov")]
    phones = [(1, 5, IVAN, IVAN), (1, 5, "+74950000000", "+74950000000"), (None, 5, IVAN, IVAN)]
    match = rank(IVAN, IVAN, IVAN[1:], rows, phones)
    assert match.status == "exact"
    assert [c.contact_id for c in match.candidates] == [1, None]
    assert match.candidates[0].phones == [IVAN, "+74950000000"]
    both = rank(IVAN, IVAN, IVAN[1:], [*rows, row(3, None, IVAN, "Anna")], phones)
    assert both.status == "multiple"


def test_nothing_matched_and_the_candidate_limit() -> None:
    assert rank(IVAN, IVAN, IVAN[1:], [], []).status == "none"
    many = [row(i, None, IVAN, f"P{i:02d}") for i in range(1, 30)]
    assert len(rank(IVAN, IVAN, IVAN[1:], many, []).candidates) == MAX_CANDIDATES


def test_people_sharing_a_number_are_ranked_by_recent_activity() -> None:
    from datetime import UTC, datetime

    from cti.crm_store.rules.matching import Activity, by_activity
    from cti.crm_store.schemas.lookup import Candidate, Match

    def cand(cid: int | None, score: float = 1.0) -> Candidate:
        return Candidate(
            contact_id=cid,
            name=f"c{cid}",
            company_id=None,
            company_name=None,
            phones=["+71"],
            matched_phone="+71",
            score=score,
        )

    match = Match(
        status="multiple", number="+71", candidates=[cand(1), cand(2), cand(3), cand(4, 0.5)]
    )
    activity = {
        1: Activity(None, 3, 1),  # busy, never called
        2: Activity(datetime(2026, 12, 1, tzinfo=UTC), 0, 0),
        3: Activity(datetime(2026, 12, 5), 0, 0),  # naive (SQLite): UTC
    }
    ranked = by_activity(match, activity)
    assert [c.contact_id for c in ranked.candidates] == [3, 2, 1, 4]
    assert (ranked.candidates[2].open_deals, ranked.candidates[2].open_tickets) == (3, 1)
    exact = Match(status="exact", number="+71", candidates=[cand(1)])
    assert by_activity(exact, activity) is exact
