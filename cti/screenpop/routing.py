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

from collections.abc import Collection, Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Ring:
    """Who a live call involves: the state routing decides from."""

    #: extensions ringing now
    ringing: frozenset[str] = _NONE
    #: every extension the call has involved so far
    rung: frozenset[str] = _NONE
    answered_by: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """Where one event's frames go, and the call's state after it."""

    ring: Ring
    #: extensions whose operators get the call's pop now (each connection once per call)
    pop: frozenset[str] = _NONE
    #: extensions whose operators get the event's own frame
    notify: frozenset[str] = _NONE
    #: the supervisors watching the call get it too (for a ringing agent: the pop)
    watchers: bool = False


def route(ring: Ring, event: CallEvent) -> Route:
    """Route ``event`` of a live call in state ``ring``."""
    if isinstance(event, AgentRinging):
        agent = frozenset((event.agent,))
        ring = Ring(ring.ringing | agent, ring.rung | agent, ring.answered_by)
        return Route(ring, pop=agent, watchers=True)
    if isinstance(event, AgentStoppedRinging):
        ring = Ring(ring.ringing - {event.agent}, ring.rung, ring.answered_by)
        return Route(ring, notify=frozenset((event.agent,)))
    if isinstance(event, CallAnswered):
        agent = frozenset((event.agent,)) if event.agent is not None else _NONE
        ring = Ring(_NONE, ring.rung | agent, event.agent)
        return Route(ring, pop=agent, notify=ring.rung, watchers=True)
    if isinstance(event, CallQueued):
        return Route(ring, watchers=True)
    if isinstance(event, CallTransferred):
        target = event.transfer.to
        to = frozenset((target,)) if target is not None else _NONE
        ring = Ring(ring.ringing, ring.rung | to, ring.answered_by)
        return Route(ring, pop=to, notify=ring.rung, watchers=True)
    if isinstance(event, CallEnded | PbxRestarted):
        return Route(ring, notify=ring.rung, watchers=True)
    return Route(ring)


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
