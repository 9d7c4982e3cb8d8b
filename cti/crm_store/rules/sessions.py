"""Agent session intervals: which intervals an event opens and closes (pure).

An agent's sessions are intervals per queue: ``login`` while a member of the queue,
``pause`` while paused there (with the reason the PBX or the page gave), and ``wrap-up``
after a call. Each function takes the agent's intervals still open (a wrap-up is written
with its planned end and counts as open until then) and one event, and returns the
:data:`Op` list that brings the table in line with it. The PBX's events arrive for members
we never saw added (cti started later): any event of a member opens its login then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cti.crm_store.timeutil import as_utc

#: device states of a phone on a call (``DeviceStateChange``)
BUSY_DEVICE = frozenset({"INUSE", "BUSY", "ONHOLD", "RINGINUSE"})
#: the queue of an interval of the device itself (a wrap-up belongs to no queue)
DEVICE = ""
#: the reason of a pause the PBX gave none for
DEFAULT_REASON = "paused"


@dataclass(frozen=True, slots=True)
class OpenSession:
    """An interval as stored: ``ended_at`` None, or a wrap-up's planned end still ahead."""

    id: int
    queue: str
    kind: str
    reason: str | None
    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Start:
    queue: str
    kind: str
    reason: str | None
    at: datetime
    #: the planned end (a wrap-up's); None: open until an event ends it
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class End:
    id: int
    at: datetime


Op = Start | End


def _of(open_: Sequence[OpenSession], queue: str, kind: str) -> list[OpenSession]:
    return [s for s in open_ if s.queue == queue and s.kind == kind]


def _pause_ops(
    open_: Sequence[OpenSession], queue: str, paused: bool, reason: str | None, at: datetime
) -> list[Op]:
    """Pause intervals of ``queue`` in line with paused/reason (a reason change is a new
    interval; a paused status without a reason keeps the reason it had)."""
    pauses = _of(open_, queue, "pause")
    if not paused:
        return [End(p.id, at) for p in pauses]
    if pauses and (reason is None or all(p.reason == reason for p in pauses)):
        return []
    return [*(End(p.id, at) for p in pauses), Start(queue, "pause", reason or DEFAULT_REASON, at)]


def member_ops(
    open_: Sequence[OpenSession],
    *,
    queue: str,
    change: str,
    paused: bool,
    reason: str | None,
    at: datetime,
) -> list[Op]:
    """A queue member event (``QueueMemberAdded/Removed/Pause/Status``) of the agent in
    ``queue``: removed ends its login and pause there; any other opens the login when none
    is open, and opens, ends or renews the pause by ``paused`` and ``reason``."""
    at = as_utc(at)
    if change == "removed":
        return [End(s.id, at) for s in open_ if s.queue == queue and s.kind in {"login", "pause"}]
    ops: list[Op] = []
    if not _of(open_, queue, "login"):
        ops.append(Start(queue, "login", None, at))
    return ops + _pause_ops(open_, queue, paused, reason, at)


def device_ops(
    open_: Sequence[OpenSession],
    *,
    before: str | None,
    state: str,
    at: datetime,
    wrap_up_seconds: float,
) -> list[Op]:
    """A device state change of the agent's phone: a call ending (on a call → not in use)
    starts a wrap-up of ``wrap_up_seconds`` (none when 0: the PBX's queues have no
    wrap-up time); ringing or a call ends a wrap-up early."""
    at = as_utc(at)
    state = state.strip().upper()
    wraps = [
        s for s in _of(open_, DEVICE, "wrap-up") if s.ended_at is None or as_utc(s.ended_at) > at
    ]
    if state in BUSY_DEVICE or state == "RINGING":
        return [End(s.id, at) for s in wraps]
    if state == "NOT_INUSE" and (before or "").upper() in BUSY_DEVICE and wrap_up_seconds > 0:
        until = at + timedelta(seconds=wrap_up_seconds)
        return [*(End(s.id, at) for s in wraps), Start(DEVICE, "wrap-up", None, at, until)]
    return []


def page_ops(
    open_: Sequence[OpenSession], *, queue: str, state: str, reason: str | None, at: datetime
) -> list[Op]:
    """The operator page's agent state (a campaign's ``agent_state_log``: free, ringing,
    on-call, wrap-up, paused, logged-out) as intervals of ``queue`` (``campaign:<id>``)."""
    at = as_utc(at)
    if state == "logged-out":
        return [End(s.id, at) for s in open_ if s.queue == queue]
    ops: list[Op] = []
    if not _of(open_, queue, "login"):
        ops.append(Start(queue, "login", None, at))
    ops += _pause_ops(open_, queue, state == "paused", reason, at)
    wraps = _of(open_, queue, "wrap-up")
    if state != "wrap-up":
        ops += [End(s.id, at) for s in wraps]
    elif not wraps:
        ops.append(Start(queue, "wrap-up", None, at))
    return ops


def campaign_queue(campaign_id: int | None) -> str:
    """The queue name of a page session of a campaign."""
    return f"campaign:{campaign_id}" if campaign_id is not None else "campaign"
