"""Ticket SLA compliance (pure): each clock (first response, resolution) is judged once,
when it stops in time (met) or when its due time passes first (breached); the period
counts the clocks judged within it. Business hours and holidays, when configured, move the
due time (the clock runs only in working time); otherwise the ticket's stored due times.
Compliance = met / (met + breached), per agent (the assignee) and per priority."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cti.crm_store.repos.reports import TicketRow
from cti.crm_store.rules.sla import Target
from cti.reports.calendar import BusinessCalendar
from cti.reports.figures import ratio
from cti.reports.schemas import SlaFigures


@dataclass(frozen=True, slots=True)
class Verdict:
    """One clock's judgement: met or not, and when."""

    met: bool
    at: datetime


def judge(due: datetime | None, stopped: datetime | None, now: datetime) -> Verdict | None:
    """Met when it stopped by its due time; breached at the due time otherwise; None while
    it runs within time (or has no due time)."""
    if due is None:
        return None
    if stopped is not None and stopped <= due:
        return Verdict(True, stopped)
    if due <= now:
        return Verdict(False, due)
    return None


def due_times(
    ticket: TicketRow, policy: Mapping[str, Target], calendar: BusinessCalendar
) -> tuple[datetime | None, datetime | None]:
    """The ticket's first-response and resolution due times (working time when the
    calendar has hours, else as stored)."""
    target = policy.get(ticket.priority)
    if calendar.always or target is None:
        return ticket.first_response_due, ticket.resolution_due
    return (
        calendar.add(ticket.created_at, target.first_response_hours),
        calendar.add(ticket.created_at, target.resolution_hours),
    )


def compliance(
    tickets: Sequence[TicketRow],
    policy: Mapping[str, Target],
    calendar: BusinessCalendar,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    key: Callable[[TicketRow], str],
) -> list[SlaFigures]:
    """Met and breached clocks judged in [since, until), grouped by ``key``."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for ticket in tickets:
        first_due, resolution_due = due_times(ticket, policy, calendar)
        clocks = (
            judge(first_due, ticket.first_responded_at, now),
            judge(resolution_due, ticket.resolved_at, now),
        )
        for n, verdict in enumerate(clocks):
            if verdict is not None and since <= verdict.at < until:
                counts[key(ticket)][2 * n + (0 if verdict.met else 1)] += 1
    return [
        SlaFigures(
            key=k,
            first_response_met=c[0],
            first_response_breached=c[1],
            first_response_compliance=ratio(c[0], c[0] + c[1]),
            resolution_met=c[2],
            resolution_breached=c[3],
            resolution_compliance=ratio(c[2], c[2] + c[3]),
        )
        for k, c in sorted(counts.items())
    ]
