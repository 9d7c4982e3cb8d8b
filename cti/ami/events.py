"""Domain events the call tracker emits, and the finished call record.

These are the contract between the pure tracker and its consumers (call log, screen-pop,
dialer). Frozen dataclasses, no I/O; times come from the AMI traffic itself (``None`` when
the traffic carries none, e.g. a trace recorded with ``timestampevents = no``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

Direction = Literal["inbound", "outbound", "internal"]
CallStatus = Literal["answered", "missed", "abandoned", "busy", "no-answer", "failed"]
TransferKind = Literal["blind", "attended"]
QueueAction = Literal["join", "leave", "abandon"]


@dataclass(frozen=True, slots=True)
class Transfer:
    kind: TransferKind
    by: str | None  # extension (or number) of the party that transferred
    to: str | None  # extension (or number) the call went to


@dataclass(frozen=True, slots=True)
class OriginateInfo:
    """What the dialer (or click-to-dial) sent: correlates a call with its attempt."""

    action_id: str | None
    variables: dict[str, str] = field(default_factory=dict)
    account: str | None = None


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What is known of a call while it is live (sent with ringing/answered events)."""

    pbx: str
    call_id: str  # the Linkedid
    direction: Direction
    from_number: str | None
    from_name: str | None
    to_number: str | None
    queue: str | None = None
    originate: OriginateInfo | None = None

    @property
    def campaign(self) -> str | None:
        if self.originate is None:
            return None
        return self.originate.variables.get("CAMPAIGN")

    @property
    def external_number(self) -> str | None:
        """The outside party's number: the caller of an inbound call, the callee otherwise."""
        if self.direction == "inbound":
            return self.from_number
        if self.direction == "outbound":
            return self.to_number
        return None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A finished call, as the call log stores it (unique per ``pbx`` + ``linkedid``)."""

    pbx: str
    linkedid: str
    direction: Direction
    from_number: str | None
    from_name: str | None
    to_number: str | None
    queue: str | None
    agents_rung: tuple[str, ...]
    agent: str | None  # extension that answered first
    status: CallStatus
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    ring_seconds: float | None
    talk_seconds: float | None
    hangup_cause: int | None
    transfers: tuple[Transfer, ...] = ()
    originate: OriginateInfo | None = None
    recording: str | None = None
    partial: bool = False  # True when we did not see the whole call (joined mid-call, resync)

    @property
    def external_number(self) -> str | None:
        if self.direction == "inbound":
            return self.from_number
        if self.direction == "outbound":
            return self.to_number
        return None

    def to_json(self) -> dict[str, Any]:
        """The replay/REST shape (keys named as in ``cti replay``'s output)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "pbx": self.pbx,
            "linkedid": self.linkedid,
            "direction": self.direction,
            "from": self.from_number,
            "from_name": self.from_name,
            "to": self.to_number,
            "queue": self.queue,
            "agents_rung": list(self.agents_rung),
            "agent": self.agent,
            "status": self.status,
            "started_at": iso(self.started_at),
            "answered_at": iso(self.answered_at),
            "ended_at": iso(self.ended_at),
            "ring_seconds": self.ring_seconds,
            "talk_seconds": self.talk_seconds,
            "hangup_cause": self.hangup_cause,
            "transfers": [asdict(t) for t in self.transfers],
            "originate": asdict(self.originate) if self.originate else None,
            "recording": self.recording,
            "partial": self.partial,
        }


@dataclass(frozen=True, slots=True)
class CallStarted:
    call: CallInfo
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class AgentRinging:
    """An agent's phone (extension) started ringing for this call."""

    call: CallInfo
    agent: str
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class AgentStoppedRinging:
    """An agent's phone stopped ringing without that agent answering."""

    call: CallInfo
    agent: str
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class CallAnswered:
    call: CallInfo
    agent: str | None  # None: answered by the IVR / an external party with no agent
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class CallQueued:
    call: CallInfo
    queue: str
    action: QueueAction
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class CallTransferred:
    call: CallInfo
    transfer: Transfer
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class CallEnded:
    call: CallInfo
    record: CallRecord
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class PbxRestarted:
    """Asterisk (re)booted (``FullyBooted``): calls we tracked on it are gone."""

    pbx: str
    ts: datetime | None


CallEvent = (
    CallStarted
    | AgentRinging
    | AgentStoppedRinging
    | CallAnswered
    | CallQueued
    | CallTransferred
    | CallEnded
    | PbxRestarted
)
