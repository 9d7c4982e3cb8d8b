"""Per-channel and per-call state of the tracker.

Plain slotted classes: one ``Chan`` per live channel, one ``Call`` per Linkedid; both are
dropped as soon as the call ends, so memory follows the number of *live* calls. Times are
epoch seconds (``float``) from the event that set them, ``None`` when the traffic had none;
:mod:`cti.ami.tracker.record` turns a finished ``Call`` into its :class:`CallRecord`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cti.ami.classify import Classifier
from cti.ami.events import (
    AnsweredBy,
    CallInfo,
    Clock,
    Direction,
    OriginateInfo,
    Transfer,
)

#: DialStatus / OriginateResponse outcomes, normalised
BUSY = "busy"
NOANSWER = "no-answer"
FAILED = "failed"
DIAL_OUTCOME: dict[str, str] = {
    "BUSY": BUSY,
    "NOANSWER": NOANSWER,
    "CANCEL": NOANSWER,
    "CONGESTION": FAILED,
    "CHANUNAVAIL": FAILED,
    "INVALIDARGS": FAILED,
}
#: OriginateResponse ``Reason``: 4 answered, 5 busy, 3 no answer; 8 congestion, 0 invalid,
#: 1 hung up before answer, anything else → the call failed
ORIGINATE_REASON: dict[str, str] = {"5": BUSY, "3": NOANSWER, "1": NOANSWER}
#: Q.850 hangup causes that tell why an unanswered call ended
CAUSE_OUTCOME: dict[int, str] = {17: BUSY, 18: NOANSWER, 19: NOANSWER, 21: BUSY}
#: ``QUEUESTATUS`` values that say the queue let the caller go (not the caller giving up):
#: Asterisk also sends ``QueueCallerAbandon`` for these (app_queue's ``record_abandoned``)
QUEUE_GAVE_UP = frozenset(
    {"TIMEOUT", "LEAVEEMPTY", "LEAVEUNAVAIL", "JOINEMPTY", "JOINUNAVAIL", "FULL", "WITHDRAW"}
)


class Chan:
    """One Asterisk channel (a call leg, or one half of a Local pair)."""

    __slots__ = (
        "bridge",
        "cid_name",
        "cid_num",
        "context",
        "exten",
        "hold_since",
        "linkedid",
        "name",
        "pair",
        "state",
        "uid",
    )

    def __init__(self, uid: str, name: str, linkedid: str) -> None:
        self.uid = uid
        self.name = name
        self.linkedid = linkedid
        self.cid_num: str | None = None
        self.cid_name: str | None = None
        self.exten: str | None = None
        self.context: str | None = None
        self.pair: str | None = None  # uid of the other half of a Local ;1/;2 pair
        self.state = ""  # ChannelState: 4 ring, 5 ringing, 6 up
        self.bridge: str | None = None  # BridgeUniqueid it is in
        self.hold_since: float | None = None  # on hold since (a Hold with no Unhold yet)

    def legs(self) -> set[str]:
        """This channel and, for a Local channel, its other half: one party's legs."""
        return {self.uid} if self.pair is None else {self.uid, self.pair}


class Ring:
    """An agent's phone ringing for the call (mutable while the call lives)."""

    __slots__ = ("agent", "answered", "end", "start", "uids")

    def __init__(self, agent: str, start: float | None) -> None:
        self.agent = agent
        self.start = start
        self.end: float | None = None
        self.answered = False
        self.uids: set[str] = set()


class Talk:
    """An agent's part of the call, open until the agent leaves it."""

    __slots__ = ("agent", "end", "hold", "start", "uids")

    def __init__(self, agent: str, start: float | None, uids: set[str]) -> None:
        self.agent = agent
        self.start = start
        self.end: float | None = None
        self.hold = 0.0
        self.uids = uids  # the agent's legs: the segment ends when they hang up


class Call:
    """Everything learnt about one call (one Linkedid) while it is live."""

    __slots__ = (
        "abandoned",
        "account",
        "agent",
        "agents_rung",
        "amd_status",
        "answer_uids",
        "answered",
        "answered_by",
        "answered_via",
        "blonde",
        "caller",
        "caller_context",
        "caller_hangup",
        "caller_up",
        "cause",
        "cause_caller",
        "cdr_answer",
        "cdr_caller_answer",
        "cdr_end",
        "cdr_start",
        "clock",
        "current_agent",
        "dial_outcomes",
        "dialed",
        "dialed_external",
        "from_name",
        "from_number",
        "hold",
        "info",
        "joined",
        "linkedid",
        "live",
        "orig_action",
        "orig_outcome",
        "orig_pending",
        "orig_vars",
        "originate_base",
        "originate_external",
        "originated",
        "originator",
        "partial",
        "placing",
        "queue",
        "queue_gave_up",
        "queue_joined",
        "queue_since",
        "queue_wait",
        "recording",
        "ringing",
        "rings",
        "routed",
        "started",
        "t_answer",
        "t_caller_up",
        "t_end",
        "t_first_ring",
        "t_last_ring",
        "t_start",
        "talks",
        "to_number",
        "transfers",
        "uids",
    )

    def __init__(self, linkedid: str, caller: Chan, now: float | None, partial: bool) -> None:
        self.linkedid = linkedid
        self.caller = caller.uid
        self.caller_context = caller.context
        self.from_number: str | None = caller.cid_num
        self.from_name: str | None = caller.cid_name
        self.to_number: str | None = caller.exten
        self.partial = partial
        self.live: set[str] = set()  # uids not hung up yet
        self.uids: list[str] = []  # every uid ever seen (to forget them at the end)
        self.started = False  # CallStarted emitted
        self.info: CallInfo | None = None  # cached; reset when a shown field changes
        self.dialed = False
        self.dialed_external = False
        self.originated = False
        self.orig_pending = False  # the Originate's first leg is still being dialed
        self.originate_external = False
        self.joined = False  # an originate to the outside joined to a second outside number
        self.originate_base: str | None = None
        self.orig_action: str | None = None
        self.orig_vars: dict[str, str] = {}
        self.orig_outcome: str | None = None  # "answered" / busy / no-answer / failed
        #: the agent who placed an originated call from their own phone (click-to-dial)
        self.originator: str | None = None
        #: agents whose phones rang behind the Originate's first leg before it came up
        self.placing: list[str] = []
        self.account: str | None = None
        self.queue: str | None = None
        self.queue_joined = False
        self.queue_since: float | None = None  # in a queue since (open stint)
        self.queue_wait: float = 0.0  # closed stints, seconds
        self.queue_gave_up = False  # QUEUESTATUS said the queue let the caller go
        self.abandoned = False
        self.caller_hangup = False
        self.agents_rung: list[str] = []
        self.ringing: dict[str, Ring] = {}  # agent → their ring now
        self.rings: list[Ring] = []
        self.talks: list[Talk] = []
        self.agent: str | None = None
        self.current_agent: str | None = None  # the agent on the call now (after transfers)
        self.answer_uids: set[str] = set()  # legs whose CDR answer time is the call's
        self.answered = False
        self.answered_by: AnsweredBy | None = None
        #: Local ``;1`` uid → who answered behind it (its ``;2`` half's dial was answered)
        self.answered_via: dict[str, str] = {}
        #: uid of a blonde transfer's target leg → the agent (answers later)
        self.blonde: dict[str, str] = {}
        self.caller_up = False
        self.dial_outcomes: list[str] = []
        self.cause: int | None = None
        self.cause_caller: int | None = None
        self.transfers: list[Transfer] = []
        self.recording: str | None = None
        self.amd_status: str | None = None  # AMD()'s verdict on a dialer call
        self.hold = 0.0  # seconds on hold, closed intervals
        self.clock: Clock | None = None
        self.t_start = now
        self.t_answer: float | None = None
        self.t_caller_up: float | None = None
        self.t_end: float | None = None
        self.t_first_ring: float | None = None
        self.t_last_ring: float | None = None  # the latest end of a ring
        self.routed: float | None = None  # first reached a queue, an agent or a callee
        self.cdr_start: str | None = None
        self.cdr_answer: str | None = None
        self.cdr_caller_answer: str | None = None
        self.cdr_end: str | None = None

    def direction(self, cls: Classifier, caller_name: str) -> Direction:
        return cls.direction(
            caller_channel=caller_name,
            caller_number=self.from_number,
            caller_context=self.caller_context,
            dialed_external=self.dialed_external or self._placed_outside(cls),
            originated_external=self.originate_external,
        )

    def _placed_outside(self, cls: Classifier) -> bool:
        """An agent's call to an outside number that never left the PBX (no route,
        congestion before a trunk channel existed) is still outbound."""
        return (
            not self.agents_rung
            and not self.queue_joined
            and cls.is_external_number(self.to_number)
            and (self.originator is not None or cls.is_internal_number(self.from_number))
        )

    def originate_info(self) -> OriginateInfo | None:
        if not self.originated:
            return None
        return OriginateInfo(
            action_id=self.orig_action, variables=dict(self.orig_vars), account=self.account
        )

    def call_info(self, pbx: str, cls: Classifier, caller_name: str) -> CallInfo:
        if self.info is None:
            self.info = CallInfo(
                pbx=pbx,
                call_id=self.linkedid,
                direction=self.direction(cls, caller_name),
                from_number=self.from_number,
                from_name=self.from_name,
                to_number=self.to_number,
                queue=self.queue,
                originate=self.originate_info(),
            )
        return self.info

    def close_queue(self, now: float | None) -> None:
        """The caller left the queue (answered, gave up or let go): count the stint."""
        if self.queue_since is not None and now is not None:
            self.queue_wait += max(0.0, now - self.queue_since)
        self.queue_since = None

    def route(self, now: float | None) -> None:
        """The call reached a queue, an agent or a callee: its IVR time (if any) ends."""
        if self.routed is None:
            self.routed = now if now is not None else self.t_start

    def open_talk(self) -> Talk | None:
        return self.talks[-1] if self.talks and self.talks[-1].end is None else None

    def end_talk(self, now: float | None) -> None:
        """Close the open segment."""
        talk = self.open_talk()
        if talk is not None:
            talk.end = now if talk.start is not None else None

    def start_talk(self, agent: str, now: float | None, uids: set[str]) -> None:
        talk = self.open_talk()
        if talk is not None:
            if talk.agent == agent:
                talk.uids |= uids
                return
            talk.end = now
        self.talks.append(Talk(agent, now, set(uids)))


def epoch(raw: str | None) -> float | None:
    """``Timestamp: 1732350659.123456`` → epoch seconds; ``None`` when absent or bad."""
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0.0 <= value < 1e11 else None


def utc(value: float | None) -> datetime | None:
    """Epoch seconds → aware UTC datetime."""
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC)


def parse_cdr(raw: str | None) -> datetime | None:
    """``2026-11-23 08:10:59`` (Cdr times, the server's clock; read as UTC)."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
