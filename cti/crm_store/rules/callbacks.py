"""Callback rules: when a finished call opens a callback task, notes itself on one, closes
one, and who owns it.

* An inbound call that ends missed or abandoned opens a callback for its external number,
  unless an answered call with that number started after the miss (replays and resyncs
  deliver calls out of order).
* One open callback per number and queue: a further miss of the number in that queue is
  noted on the open one (``again: …``) instead of adding another; a miss in another queue
  (another team) opens that queue's own.
* An answered call with the number, in either direction, closes its open callbacks, except
  those whose miss came after the answer.
* The callback belongs to the one user the call rang; rung on several users' phones (or on
  nobody's) it belongs to the call's queue, and the rung extensions are in its description.

The call log's batch (:mod:`cti.calllog.batch`) applies these to its records in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cti.crm_store.phones import tail
from cti.crm_store.timeutil import as_utc, as_utc_opt

UNANSWERED_INBOUND = frozenset({"missed", "abandoned"})


@dataclass(frozen=True, slots=True)
class FinishedCall:
    """What the rules read of a finished call: its record's values, ``number`` as stored
    (E.164, else digits; None without an outside party)."""

    pbx: str
    linkedid: str
    direction: str
    status: str
    number: str | None
    from_name: str | None = None
    queue: str | None = None
    agents_rung: tuple[str, ...] = ()
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def missed_at(self) -> datetime | None:
        """When the miss happened, for ordering against answers (start, else end)."""
        return self.started_at or self.ended_at


class Callback(Protocol):
    """A callback task of a number, as the rules look at it."""

    @property
    def done(self) -> bool: ...

    @property
    def queue(self) -> str | None: ...

    @property
    def missed_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class NewCallback:
    """The values of a callback task to create (``kind='callback'``, open)."""

    title: str
    description: str
    due_at: datetime
    assignee_id: int | None
    queue: str | None
    phone: str
    phone_tail: str


def opens_callback(call: FinishedCall) -> bool:
    """An inbound call from an outside number that nobody answered."""
    return bool(call.number) and call.direction == "inbound" and call.status in UNANSWERED_INBOUND


def closes_callbacks(call: FinishedCall) -> bool:
    """An answered call with an outside number (inbound or outbound)."""
    return bool(call.number) and call.status == "answered"


def answered_since(missed_at: datetime | None, answers: Iterable[datetime | None]) -> bool:
    """Whether one of ``answers`` (starts of answered calls with the number) came after the
    miss: then the miss opens nothing (it was replayed after the number was called back)."""
    if missed_at is None:
        return False
    when = as_utc(missed_at)
    return any(start is not None and as_utc(start) > when for start in answers)


def open_callback(callbacks: Sequence[Callback], queue: str | None) -> int | None:
    """The index of the number's open callback for ``queue`` (the oldest), or None: one per
    number and queue (the store enforces it too)."""
    return next(
        (i for i, cb in enumerate(callbacks) if not cb.done and cb.queue == queue),
        None,
    )


def to_close(call: FinishedCall, callbacks: Sequence[Callback]) -> list[int]:
    """Indexes of the open callbacks an answered ``call`` closes: all but those missed after
    it (a miss replayed out of order after its own answer stays open)."""
    answered = as_utc_opt(call.started_at)
    closing = []
    for i, callback in enumerate(callbacks):
        if callback.done:
            continue
        missed = as_utc_opt(callback.missed_at)
        if answered is not None and missed is not None and missed > answered:
            continue
        closing.append(i)
    return closing


def owner(rung_users: Iterable[int | None], queue: str | None) -> tuple[int | None, str | None]:
    """(assignee, queue) of a callback: the single user the call rang, else nobody (the
    queue's agents). The queue is kept either way."""
    users = set(rung_users)
    users.discard(None)
    return (users.pop() if len(users) == 1 else None), queue


def seen(call: FinishedCall) -> str:
    """How a call is named in a callback's description (``missed call lab/1.2``)."""
    return f"{call.status} call {call.pbx}/{call.linkedid}"


def new_callback(
    call: FinishedCall,
    assignee: tuple[int | None, str | None],
    *,
    tail_digits: int,
    now: datetime,
) -> NewCallback:
    """The callback a missed ``call`` opens, for ``assignee`` (see :func:`owner`); due when
    the call ended (``now`` when that is unknown)."""
    number = call.number or ""
    label = f"{call.from_name} ({number})" if call.from_name else number
    rung = ", ".join(call.agents_rung) or "nobody"
    assignee_id, queue = assignee
    return NewCallback(
        title=f"Call back {label}",
        description=f"{seen(call)}; queue {call.queue or '-'}; rung: {rung}",
        due_at=call.ended_at or now,
        assignee_id=assignee_id,
        queue=queue,
        phone=number,
        phone_tail=tail(number, tail_digits),
    )


def noted(description: str, call: FinishedCall) -> str:
    """The open callback's description once a further miss is noted on it."""
    return f"{description}\nagain: {seen(call)}".strip()


def close_reason(call: FinishedCall) -> str:
    """Why the system closed a callback (``answered outbound call lab/5.2``)."""
    return f"answered {call.direction} call {call.pbx}/{call.linkedid}"
