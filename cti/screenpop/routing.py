"""Which operators a call event goes to: a pure function of the event and the call's state.

Never a broadcast. A call's frames go to the operators of the extensions it involved
(rang directly, through a queue or ring group, a dialer connect, a transfer target, a
pickup) and to the supervisors watching it (subscribed to all calls, or to its queue; only
supervisors may subscribe). Only the ringing extension's operators, the answering one (a
pickup never rang) and a transfer target get the pop with the caller's card; the rest get
the event. Extensions stand for whoever is logged in on them: the hub
(:mod:`cti.screenpop.hub`) maps them to connections and sends.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

from cti.ami.events import (
    AgentRinging,
    AgentStoppedRinging,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallQueued,
    CallTransferred,
    PbxRestarted,
)

_NONE: frozenset[str] = frozenset()


class Ring(NamedTuple):
    """Who a live call involves: the state routing decides from (a tuple: it is made for
    every event of every call, and a tuple is the cheapest immutable value to make)."""

    #: extensions ringing now
    ringing: frozenset[str] = _NONE
    #: every extension the call has involved so far
    rung: frozenset[str] = _NONE
    answered_by: str | None = None


class Route(NamedTuple):
    """Where one event's frames go, and the call's state after it."""

    ring: Ring
    #: extensions whose operators get the call's pop now (each connection once per call)
    pop: frozenset[str] = _NONE
    #: extensions whose operators get the event's own frame
    notify: frozenset[str] = _NONE
    #: the supervisors watching the call get it too (for a ringing agent: the pop)
    watchers: bool = False


def _ringing(ring: Ring, event: AgentRinging) -> Route:
    agent = frozenset((event.agent,))
    ring = Ring(ring.ringing | agent, ring.rung | agent, ring.answered_by)
    return Route(ring, agent, _NONE, True)


def _stopped(ring: Ring, event: AgentStoppedRinging) -> Route:
    ring = Ring(ring.ringing - {event.agent}, ring.rung, ring.answered_by)
    return Route(ring, _NONE, frozenset((event.agent,)), False)


def _answered(ring: Ring, event: CallAnswered) -> Route:
    agent = frozenset((event.agent,)) if event.agent is not None else _NONE
    ring = Ring(_NONE, ring.rung | agent, event.agent)
    return Route(ring, agent, ring.rung, True)


def _queued(ring: Ring, event: CallQueued) -> Route:
    return Route(ring, _NONE, _NONE, True)


def _transferred(ring: Ring, event: CallTransferred) -> Route:
    target = event.transfer.to
    to = frozenset((target,)) if target is not None else _NONE
    ring = Ring(ring.ringing, ring.rung | to, ring.answered_by)
    return Route(ring, to, ring.rung, True)


def _ended(ring: Ring, event: CallEnded | PbxRestarted) -> Route:
    return Route(ring, _NONE, ring.rung, True)


#: one routing function per event type (a dict look-up: the hub routes every event)
_BY_TYPE: dict[type, Callable[[Ring, Any], Route]] = {
    AgentRinging: _ringing,
    AgentStoppedRinging: _stopped,
    CallAnswered: _answered,
    CallQueued: _queued,
    CallTransferred: _transferred,
    CallEnded: _ended,
    PbxRestarted: _ended,
}


def route(ring: Ring, event: CallEvent) -> Route:
    """Route ``event`` of a live call in state ``ring`` (an event of no one's concern, such
    as the call's start, goes nowhere)."""
    how = _BY_TYPE.get(type(event))
    return how(ring, event) if how is not None else Route(ring)


def watches(all_calls: bool, queues: Collection[str], queue: str | None) -> bool:
    """A supervisor subscription (all calls, or these queues) covers a call of ``queue``."""
    return all_calls or (queue is not None and queue in queues)


def shown_on_connect(ring: Ring, extensions: Collection[str]) -> bool:
    """A connecting operator gets the live calls ringing on, or answered at, their phones."""
    return any(ext in extensions for ext in ring.ringing) or ring.answered_by in extensions


def reminder_to(
    assignee_id: int | None, queue: str | None, queue_agents: Mapping[str, Collection[str]]
) -> tuple[int | None, frozenset[str]]:
    """Who a due task's reminder goes to: (its assignee, or None) and, for a queue's
    callback with nobody assigned, the extensions seen rung by that queue."""
    if assignee_id is not None:
        return assignee_id, _NONE
    if queue:
        return None, frozenset(queue_agents.get(queue, ()))
    return None, _NONE
