"""Agent states for a campaign: free, ringing, on call, wrap-up, paused (with a reason),
logged out; moved by what the PBX says (device state, queue member events) and by cti's
own steps (join, leave, a call ended, a disposition set).

Pure: an ``Agent`` is a frozen value (what a ``campaign_agents`` row holds); each function
returns the next one, keeping ``since`` when nothing changed, so the engine writes a state
log row only on a real change. The PBX's view wins over bookkeeping: an agent whose phone
is in use is on a call whoever placed it, and is not counted free.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

AgentState = Literal["free", "ringing", "on-call", "wrap-up", "paused", "logged-out"]
#: the pause reason of an agent whose phone is gone (unregistered, or no such device);
#: it ends by itself when the phone is back, unlike a pause the agent asked for
UNAVAILABLE = "unavailable"
#: ``DeviceStateChange`` states that mean a call on the phone
BUSY_DEVICE = frozenset({"INUSE", "BUSY", "ONHOLD", "RINGINUSE"})
GONE_DEVICE = frozenset({"UNAVAILABLE", "INVALID"})
#: app_queue's member ``Status``: Asterisk's ``enum ast_device_state``
QUEUE_STATUS = {
    0: "UNKNOWN",
    1: "NOT_INUSE",
    2: "INUSE",
    3: "BUSY",
    4: "INVALID",
    5: "UNAVAILABLE",
    6: "RINGING",
    7: "RINGINUSE",
    8: "ONHOLD",
}
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent's state since a time; ``reason`` for a pause, ``wrap_until`` for a wrap-up."""

    state: AgentState
    since: datetime
    reason: str | None = None
    wrap_until: datetime | None = None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _to(
    agent: Agent,
    state: AgentState,
    now: datetime,
    reason: str | None = None,
    wrap_until: datetime | None = None,
) -> Agent:
    if agent.state == state and agent.reason == reason and agent.wrap_until == wrap_until:
        return agent
    if agent.state == state and agent.reason == reason:  # same state, new deadline
        return replace(agent, wrap_until=wrap_until)
    return Agent(state, _utc(now), reason, wrap_until)


def join(now: datetime) -> Agent:
    """An operator joins a campaign: free (the next device or queue event corrects it)."""
    return Agent("free", _utc(now))


def leave(agent: Agent, now: datetime) -> Agent:
    return _to(agent, "logged-out", now)


def pause(agent: Agent, reason: str, now: datetime) -> Agent:
    """A pause with its reason (a logged-out agent stays logged out)."""
    if agent.state == "logged-out":
        return agent
    return _to(agent, "paused", now, reason or "paused")


def _device_target(device: str) -> tuple[AgentState, str | None] | None:
    """The state a phone in ``device`` state puts an agent in (``None``: it does not say)."""
    if device in GONE_DEVICE:
        return "paused", UNAVAILABLE
    if device == "RINGING":
        return "ringing", None
    if device in BUSY_DEVICE:
        return "on-call", None
    if device == "NOT_INUSE":
        return "free", None
    return None


def unpause(agent: Agent, now: datetime, device: str | None = None) -> Agent:
    """The end of a pause: the state the phone is in (free when it is not known)."""
    if agent.state != "paused":
        return agent
    state, reason = _device_target((device or "").strip().upper()) or ("free", None)
    return _to(agent, state, now, reason)


def device_changed(agent: Agent, device: str, now: datetime, wrap_up_seconds: float) -> Agent:
    """A ``DeviceStateChange`` of the agent's phone.

    Ringing → ringing; in use, busy, on hold → on call; not in use after a call → wrap-up
    for ``wrap_up_seconds`` (free at once when 0), after ringing → free (missed); gone
    (unavailable, invalid) → paused ``unavailable`` until it is back. An agent paused for a
    reason of their own stays paused whatever the phone does; ``UNKNOWN`` changes nothing.
    """
    target = _device_target(device.strip().upper())
    if target is None or agent.state == "logged-out":
        return agent
    if agent.state == "paused" and agent.reason != UNAVAILABLE:
        return agent
    state, reason = target
    if state == "free":
        if agent.state == "on-call":
            return call_ended(agent, now, wrap_up_seconds)
        if agent.state == "wrap-up":
            return agent  # the wrap-up runs on: a disposition or its time ends it
    return _to(agent, state, now, reason)


def queue_member_changed(
    agent: Agent,
    *,
    change: str,
    paused: bool,
    reason: str | None,
    status: int | None,
    now: datetime,
    wrap_up_seconds: float,
) -> Agent:
    """A queue member event for the agent (``QueueMemberAdded/Removed/Pause/Status``).

    Removed → logged out; added → in again, as its status says; paused → paused with the
    event's reason; unpaused → the state its status says; a status → as a device change.
    """
    device = QUEUE_STATUS.get(status, "UNKNOWN") if status is not None else "UNKNOWN"
    if change == "removed":
        return leave(agent, now)
    if change == "added" and agent.state == "logged-out":
        agent = join(now)
    if agent.state == "logged-out":
        return agent
    if paused:
        if agent.state == "paused" and agent.reason != UNAVAILABLE and not reason:
            return agent  # a status event of a paused member: the reason it had stands
        return pause(agent, reason or "paused", now)
    if agent.state == "paused" and agent.reason != UNAVAILABLE:
        return unpause(agent, now, device if device != "UNKNOWN" else None)
    return device_changed(agent, device, now, wrap_up_seconds)


def call_ended(agent: Agent, now: datetime, wrap_up_seconds: float) -> Agent:
    """The agent's call ended: wrap-up until a disposition or ``wrap_up_seconds`` pass.
    Only a ringing or on-call agent moves; a second report of the same end changes nothing."""
    if agent.state not in {"on-call", "ringing"}:
        return agent
    if agent.state == "ringing" or wrap_up_seconds <= 0:
        return _to(agent, "free", now)
    return _to(agent, "wrap-up", now, wrap_until=_utc(now) + timedelta(seconds=wrap_up_seconds))


def disposition_set(agent: Agent, now: datetime) -> Agent:
    """The operator set the disposition: the wrap-up ends."""
    return _to(agent, "free", now) if agent.state == "wrap-up" else agent


def expire(agent: Agent, now: datetime) -> Agent:
    """A wrap-up past its time ends by itself (free since the deadline)."""
    if agent.state == "wrap-up" and agent.wrap_until and _utc(agent.wrap_until) <= _utc(now):
        return Agent("free", _utc(agent.wrap_until))
    return agent


def free_agents(agents: Mapping[K, Agent], now: datetime) -> list[K]:
    """The free agents now (a wrap-up past its time counts), the longest free first."""
    current = [(key, expire(agent, now)) for key, agent in agents.items()]
    return [
        key
        for key, agent in sorted(current, key=lambda kv: _utc(kv[1].since))
        if agent.state == "free"
    ]
