"""Domain events the call tracker emits, and the finished call record.

These are the contract between the pure tracker and its consumers (call log, screen-pop,
dialer). Frozen dataclasses, no I/O. Times come from the PBX's ``Timestamp:`` headers, else
from the moment the live connection received each message (stamped at the edge), else, in a
replay of a trace without either, from ``Cdr`` events; ``CallRecord.clock`` says which. With
none of them a record has no times.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

Direction = Literal["inbound", "outbound", "internal"]
CallStatus = Literal["answered", "missed", "abandoned", "busy", "no-answer", "failed"]
#: blonde: an attended transfer completed while the target still rang
TransferKind = Literal["blind", "attended", "blonde"]
QueueAction = Literal["join", "leave", "abandon"]
#: where a record's times come from: the PBX's Timestamp headers, the moment cti received
#: each event, or the PBX's CDR events (start/answer/end only)
Clock = Literal["pbx", "receipt", "cdr"]
#: what answered a call: an agent, the outside party (the callee of an outbound call, or a
#: number an inbound call was forwarded to), or the PBX itself (IVR, message, voicemail)
AnsweredBy = Literal["agent", "external", "pbx"]


@dataclass(frozen=True, slots=True)
class Transfer:
    kind: TransferKind
    by: str | None  # extension (or number) of the party that transferred
    to: str | None  # extension (or number) the call went to


@dataclass(frozen=True, slots=True)
class AgentRing:
    """One agent's phone ringing for a call (a queue may ring the same agent twice)."""

    agent: str
    started_at: datetime | None
    ended_at: datetime | None
    answered: bool

    @property
    def seconds(self) -> float | None:
        return _span(self.started_at, self.ended_at)


@dataclass(frozen=True, slots=True)
class TalkSegment:
    """One agent's part of a call: from connecting with the caller until leaving the call
    (hanging up or transferring it away); ``hold_seconds`` of it the caller was on hold."""

    agent: str
    started_at: datetime | None
    ended_at: datetime | None
    hold_seconds: float | None = None

    @property
    def seconds(self) -> float | None:
        return _span(self.started_at, self.ended_at)


def _span(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


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
        variables = self.originate.variables
        return variables.get("CTI_CAMPAIGN") or variables.get("CAMPAIGN")

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
    #: the call's agent: the extension that answered first, or the one that placed an
    #: outbound call (click-to-dial, or dialled from the agent's phone)
    agent: str | None
    #: ``abandoned`` on an outbound call is a dialer abandon: the person answered (so
    #: ``answered_at`` is set) and no agent took the call
    status: CallStatus
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    #: from the first ring (an agent's phone, or the callee of an outbound call) until the
    #: answer, or until the last ring ended; time in the IVR or queue before is not in it
    #: (with ``clock == "cdr"`` only: start → answer, the best a CDR tells)
    ring_seconds: float | None
    #: answer → end (the caller's time connected, all agents and hold included)
    talk_seconds: float | None
    hangup_cause: int | None
    transfers: tuple[Transfer, ...] = ()
    originate: OriginateInfo | None = None
    recording: str | None = None
    partial: bool = False  # True when we did not see the whole call (joined mid-call, resync)
    clock: Clock | None = None
    #: what answered the call; with ``"pbx"``, ``to_number`` is where the PBX answered
    answered_by: AnsweredBy | None = None
    #: the caller's time with the PBX (answered by it) before reaching a queue or an agent
    ivr_seconds: float | None = None
    #: time waiting in queues, until an agent answered or the caller left the queue
    queue_wait_seconds: float | None = None
    #: time the caller was on hold (``Hold``/``Unhold`` events), all agents together
    hold_seconds: float | None = None
    rings: tuple[AgentRing, ...] = ()
    talks: tuple[TalkSegment, ...] = ()
    #: answering-machine detection's verdict (``AMDSTATUS``: HUMAN, MACHINE, NOTSURE, HANGUP)
    #: when the dialplan ran ``AMD()`` on the call
    amd_status: str | None = None

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
            "clock": self.clock,
            "answered_by": self.answered_by,
            "ivr_seconds": self.ivr_seconds,
            "queue_wait_seconds": self.queue_wait_seconds,
            "hold_seconds": self.hold_seconds,
            "rings": [
                {
                    "agent": r.agent,
                    "started_at": iso(r.started_at),
                    "ended_at": iso(r.ended_at),
                    "answered": r.answered,
                }
                for r in self.rings
            ],
            "talks": [
                {
                    "agent": t.agent,
                    "started_at": iso(t.started_at),
                    "ended_at": iso(t.ended_at),
                    "hold_seconds": t.hold_seconds,
                }
                for t in self.talks
            ],
            "amd_status": self.amd_status,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallRecord:
        """The inverse of :meth:`to_json` (the call log journal keeps records as JSON)."""

        def dt(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value is not None else None

        originate = data.get("originate")
        return cls(
            pbx=data["pbx"],
            linkedid=data["linkedid"],
            direction=data["direction"],
            from_number=data.get("from"),
            from_name=data.get("from_name"),
            to_number=data.get("to"),
            queue=data.get("queue"),
            agents_rung=tuple(data.get("agents_rung") or ()),
            agent=data.get("agent"),
            status=data["status"],
            started_at=dt(data.get("started_at")),
            answered_at=dt(data.get("answered_at")),
            ended_at=dt(data.get("ended_at")),
            ring_seconds=data.get("ring_seconds"),
            talk_seconds=data.get("talk_seconds"),
            hangup_cause=data.get("hangup_cause"),
            transfers=tuple(Transfer(**t) for t in data.get("transfers") or ()),
            originate=OriginateInfo(**originate) if originate else None,
            recording=data.get("recording"),
            partial=bool(data.get("partial")),
            clock=data.get("clock"),
            answered_by=data.get("answered_by"),
            ivr_seconds=data.get("ivr_seconds"),
            queue_wait_seconds=data.get("queue_wait_seconds"),
            hold_seconds=data.get("hold_seconds"),
            rings=tuple(
                AgentRing(r["agent"], dt(r["started_at"]), dt(r["ended_at"]), r["answered"])
                for r in data.get("rings") or ()
            ),
            talks=tuple(
                TalkSegment(t["agent"], dt(t["started_at"]), dt(t["ended_at"]), t["hold_seconds"])
                for t in data.get("talks") or ()
            ),
            amd_status=data.get("amd_status"),
        )


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


@dataclass(frozen=True, slots=True)
class OriginateFailed:
    """An Originate that failed with no call to carry the outcome: no channel was ever
    created (an unknown endpoint or technology, a trunk that refuses at once), so no other
    event tells of it; or, rarely, its call had already ended when the response came.
    ``reason`` is the ``OriginateResponse`` Reason (0 when nothing was dialled)."""

    pbx: str
    action_id: str | None
    reason: int | None
    channel: str | None
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class DeviceStateChanged:
    """A device's state as the PBX sees it (``DeviceStateChange``): what an agent's phone is
    doing, whoever placed the call. ``extension``: the agent extension the device belongs
    to, when the device names one (``PJSIP/101`` → ``101``)."""

    pbx: str
    device: str
    extension: str | None
    #: NOT_INUSE, INUSE, BUSY, RINGING, RINGINUSE, ONHOLD, UNAVAILABLE, INVALID, UNKNOWN
    state: str
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class QueueMemberChanged:
    """A queue member added, removed, paused or unpaused, or its status changed
    (``QueueMemberAdded/Removed/Pause/Status``)."""

    pbx: str
    queue: str
    interface: str
    extension: str | None
    #: added, removed, paused, unpaused, status
    change: str
    paused: bool
    reason: str | None
    #: the member's device state as app_queue numbers it (1 not in use … 8 ringing in use)
    status: int | None
    in_call: bool | None
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
    | OriginateFailed
    | DeviceStateChanged
    | QueueMemberChanged
)
