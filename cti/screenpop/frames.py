"""The JSON messages the hub sends, one builder per type (the hub serializes each once).

Every message has ``type``, ``call_id`` (None when it is about no call) and ``ts`` (the
event's time when it has one, else now; ISO 8601 with milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cti.ami.events import (
    AgentStoppedRinging,
    CallEnded,
    CallInfo,
    CallQueued,
    CallTransferred,
)
from cti.screenpop.clients import Operator
from cti.screenpop.routing import Ring

Message = dict[str, Any]


def ts(value: datetime | None) -> str:
    return (value or datetime.now(UTC)).isoformat(timespec="milliseconds")


def call_json(call: CallInfo) -> Message:
    return {
        "direction": call.direction,
        "from": call.from_number,
        "from_name": call.from_name,
        "to": call.to_number,
        "queue": call.queue,
        "pbx": call.pbx,
        "campaign": call.campaign,
    }


def hello(operator: Operator) -> Message:
    return {
        "type": "hello",
        "call_id": None,
        "ts": ts(None),
        "user": {"id": operator.user_id, "username": operator.username, "role": operator.role},
        "extensions": list(operator.extensions),
    }


def closing(reason: str) -> Message:
    """The last frame of a connection the server closes (then the close code says it too)."""
    return {
        "type": "closing",
        "call_id": None,
        "ts": ts(datetime.now(UTC)),
        "error_id": "session-ended" if reason.startswith("session") else "closed",
        "message": reason,
    }


def ringing(call: CallInfo, ring: Ring, card: Message | None) -> Message:
    """The pop: the call, who it rings, and the caller's card as far as it is known."""
    return {
        "type": "call.ringing",
        "call_id": call.call_id,
        "ts": ts(None),
        "call": call_json(call),
        "ringing": sorted(ring.ringing),
        "agents": sorted(ring.rung),  # every extension the call has involved so far
        "pop": card,
    }


def answered(
    call_id: str, when: datetime | None, agent: str | None, agent_users: list[str]
) -> Message:
    return {
        "type": "call.answered",
        "call_id": call_id,
        "ts": ts(when),
        "agent": agent,
        "agent_users": agent_users,
    }


def pop_update(call_id: str, card: Message) -> Message:
    return {"type": "pop.update", "call_id": call_id, "ts": ts(None), "pop": card}


def lost(call_id: str, when: datetime | None) -> Message:
    """A live call's end when its PBX restarted."""
    ended: Message = {"type": "call.ended", "call_id": call_id}
    return ended | {"ts": ts(when), "status": "lost", "talk_seconds": None}


def _stopped(ev: AgentStoppedRinging) -> Message:
    return {"type": "call.stopped_ringing", "call_id": ev.call.call_id, "ts": ts(ev.ts)}


def _queued(ev: CallQueued) -> Message:
    msg = {"type": "call.queued", "call_id": ev.call.call_id, "ts": ts(ev.ts)}
    return msg | {"queue": ev.queue, "action": ev.action}


def _transferred(ev: CallTransferred) -> Message:
    t = ev.transfer
    msg = {"type": "call.transferred", "call_id": ev.call.call_id, "ts": ts(ev.ts)}
    return msg | {"kind": t.kind, "by": t.by, "to": t.to}


def _ended(ev: CallEnded) -> Message:
    rec = ev.record
    msg = {"type": "call.ended", "call_id": ev.call.call_id, "ts": ts(ev.ts)}
    return msg | {"status": rec.status, "talk_seconds": rec.talk_seconds, "agent": rec.agent}


_EVENT_FRAMES: dict[type, Callable[[Any], Message]] = {
    AgentStoppedRinging: _stopped,
    CallQueued: _queued,
    CallTransferred: _transferred,
    CallEnded: _ended,
}


def event(ev: AgentStoppedRinging | CallQueued | CallTransferred | CallEnded) -> Message:
    """The frame of a stopped ring, a queue move, a transfer or an end."""
    return _EVENT_FRAMES[type(ev)](ev)
