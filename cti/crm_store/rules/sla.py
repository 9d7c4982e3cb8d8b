"""Ticket SLA clocks and status rules.

Due times come from the priority policy (``[crm.sla]``: hours per priority) counted from the
ticket's creation; a priority change recomputes them from the creation time. The first move
out of ``new`` (or the first public comment) is the first response; ``solved``/``closed``
stamp the resolution, and reopening clears it. A clock is breached when its stop came after
its due time, or, still running, when the due time has passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from cti.crm_store.timeutil import as_utc, as_utc_opt

TICKET_STATUSES = ("new", "open", "pending", "solved", "closed")
OPEN_TICKET_STATUSES = ("new", "open", "pending")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
#: allowed status moves; ``closed`` is final (open a new ticket instead)
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "solved", "closed"}),
    "open": frozenset({"pending", "solved", "closed"}),
    "pending": frozenset({"open", "solved", "closed"}),
    "solved": frozenset({"open", "pending", "closed"}),
    "closed": frozenset(),
}
RESOLVED = ("solved", "closed")


class Target(Protocol):
    """One priority's targets (:class:`cti.config.SlaTarget`)."""

    @property
    def first_response_hours(self) -> float: ...

    @property
    def resolution_hours(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Clocks:
    """A ticket's two SLA clocks: due times and when each stopped (None: still running)."""

    first_response_due: datetime | None
    first_responded_at: datetime | None
    resolution_due: datetime | None
    resolved_at: datetime | None


def due_times(
    policy: Mapping[str, Target], priority: str, opened: datetime
) -> tuple[datetime, datetime]:
    """First-response and resolution due times of a ticket of ``priority`` opened then."""
    target = policy[priority]
    start = as_utc(opened)
    return (
        start + timedelta(hours=target.first_response_hours),
        start + timedelta(hours=target.resolution_hours),
    )


def may_move(current: str, new: str) -> bool:
    """Whether a ticket may go from status ``current`` to ``new`` (staying is no move)."""
    return new == current or new in TRANSITIONS[current]


def stamps(
    status: str, first_responded_at: datetime | None, resolved_at: datetime | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """(first_responded_at, resolved_at) once a ticket is set to ``status`` at ``now``."""
    if status != "new" and first_responded_at is None:
        first_responded_at = now
    if status in RESOLVED:
        if resolved_at is None:
            resolved_at = now
    else:
        resolved_at = None
    return first_responded_at, resolved_at


def first_response(
    public: bool, status: str, first_responded_at: datetime | None, now: datetime
) -> tuple[str, datetime | None]:
    """(status, first_responded_at) after a comment: the first public one is the first
    response, and moves a ``new`` ticket to ``open``."""
    if public and first_responded_at is None:
        return ("open" if status == "new" else status), now
    return status, first_responded_at


def late(due: datetime | None, stopped: datetime | None, now: datetime) -> bool:
    """A clock due at ``due`` is breached: it stopped after it, or runs past it at ``now``."""
    if due is None:
        return False
    return as_utc(stopped or now) > as_utc(due)


def breaches(clocks: Clocks, now: datetime) -> tuple[bool, bool]:
    """(first response breached, resolution breached) as of ``now``."""
    return (
        late(clocks.first_response_due, clocks.first_responded_at, now),
        late(clocks.resolution_due, clocks.resolved_at, now),
    )


def current_due(clocks: Clocks, now: datetime) -> tuple[datetime | None, bool]:
    """The due time that matters now (first response until responded, then resolution)
    and whether the ticket is breached at all (either clock, or that due time passed)."""
    first_due = as_utc_opt(clocks.first_response_due)
    responded = as_utc_opt(clocks.first_responded_at)
    resolution_due = as_utc_opt(clocks.resolution_due)
    due = resolution_due if responded is not None else first_due
    breached = (
        _late_utc(first_due, responded, now)
        or _late_utc(resolution_due, as_utc_opt(clocks.resolved_at), now)
        or (due is not None and due < now)
    )
    return due, breached


def _late_utc(due: datetime | None, stopped: datetime | None, now: datetime) -> bool:
    return due is not None and (stopped or now) > due
