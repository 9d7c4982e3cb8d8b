"""Per-channel and per-call state of the tracker, and how a finished call becomes a record.

Plain slotted classes: one ``_Chan`` per live channel, one ``_Call`` per Linkedid; both are
dropped as soon as the call ends, so memory follows the number of *live* calls.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cti.ami.classify import Classifier
from cti.ami.events import (
    CallInfo,
    CallRecord,
    CallStatus,
    Direction,
    OriginateInfo,
    Transfer,
)

#: DialStatus / OriginateResponse outcomes, normalised
_BUSY = "busy"
_NOANSWER = "no-answer"
_FAILED = "failed"
DIAL_OUTCOME: dict[str, str] = {
    "BUSY": _BUSY,
    "NOANSWER": _NOANSWER,
    "CANCEL": _NOANSWER,
    "CONGESTION": _FAILED,
    "CHANUNAVAIL": _FAILED,
    "INVALIDARGS": _FAILED,
}
#: OriginateResponse ``Reason``: 4 answered, 5 busy, 3 no answer; 8 congestion, 0 invalid,
#: 1 hung up before answer, anything else → the call failed
ORIGINATE_REASON: dict[str, str] = {"5": _BUSY, "3": _NOANSWER, "1": _NOANSWER}
#: Q.850 hangup causes that tell why an unanswered call ended
CAUSE_OUTCOME: dict[int, str] = {17: _BUSY, 18: _NOANSWER, 19: _NOANSWER, 21: _BUSY}


class Chan:
    """One Asterisk channel (a call leg, or one half of a Local pair)."""

    __slots__ = (
        "bridge",
        "cid_name",
        "cid_num",
        "context",
        "exten",
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


class Call:
    """Everything learnt about one call (one Linkedid) while it is live."""

    __slots__ = (
        "abandoned",
        "account",
        "agent",
        "agent_uids",
        "agents_rung",
        "answer_uids",
        "answered",
        "answered_via",
        "caller",
        "caller_context",
        "caller_up",
        "cause",
        "cause_caller",
        "cdr_answer",
        "cdr_caller_answer",
        "cdr_end",
        "cdr_start",
        "current_agent",
        "dial_outcomes",
        "dialed",
        "dialed_external",
        "external_answered",
        "from_name",
        "from_number",
        "info",
        "linkedid",
        "live",
        "orig_action",
        "orig_outcome",
        "orig_pending",
        "orig_vars",
        "originate_base",
        "originate_external",
        "originated",
        "partial",
        "queue",
        "queue_joined",
        "recording",
        "ringing",
        "started",
        "to_number",
        "transfers",
        "ts_answer",
        "ts_caller_up",
        "ts_end",
        "ts_start",
        "uids",
    )

    def __init__(self, linkedid: str, caller: Chan, ts: str | None, partial: bool) -> None:
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
        self.originate_base: str | None = None
        self.orig_action: str | None = None
        self.orig_vars: dict[str, str] = {}
        self.orig_outcome: str | None = None  # "answered" / busy / no-answer / failed
        self.account: str | None = None
        self.queue: str | None = None
        self.queue_joined = False
        self.abandoned = False
        self.agents_rung: list[str] = []
        self.ringing: dict[str, set[str]] = {}  # agent → uids ringing for them
        self.agent: str | None = None
        self.current_agent: str | None = None  # the agent on the call now (after transfers)
        self.agent_uids: set[str] = set()
        self.answer_uids: set[str] = set()  # legs whose CDR answer time is the call's
        self.answered = False
        #: Local ``;1`` uid → who answered behind it (its ``;2`` half's dial was answered)
        self.answered_via: dict[str, str] = {}
        self.external_answered = False
        self.caller_up = False
        self.dial_outcomes: list[str] = []
        self.cause: int | None = None
        self.cause_caller: int | None = None
        self.transfers: list[Transfer] = []
        self.recording: str | None = None
        self.ts_start = ts
        self.ts_answer: str | None = None
        self.ts_caller_up: str | None = None
        self.ts_end: str | None = None
        self.cdr_start: str | None = None
        self.cdr_answer: str | None = None
        self.cdr_caller_answer: str | None = None
        self.cdr_end: str | None = None

    def direction(self, cls: Classifier, caller_name: str) -> Direction:
        return cls.direction(
            caller_channel=caller_name,
            caller_number=self.from_number,
            caller_context=self.caller_context,
            dialed_external=self.dialed_external,
            originated_external=self.originate_external,
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

    def status(self, direction: Direction) -> CallStatus:
        """The outcome; see the module docs of :mod:`cti.ami.tracker` for the rules."""
        if self.originate_external:
            if self.answered or self.orig_outcome == "answered":
                return "answered"
            return _unanswered(self.orig_outcome, self.dial_outcomes, self.cause)
        if self.answered:
            return "answered"
        if self.abandoned or self.queue_joined:
            return "abandoned"
        if self.agents_rung or self.dial_outcomes:
            if self.dial_outcomes and all(o == _BUSY for o in self.dial_outcomes):
                return "busy"
            if direction == "outbound":
                return _unanswered(None, self.dial_outcomes, self.cause)
            return "missed"
        if self.caller_up:
            return "answered"  # by the IVR / an application, no agent
        if self.cause is not None and CAUSE_OUTCOME.get(self.cause) == _BUSY:
            return "busy"
        return "failed"

    def record(self, pbx: str, cls: Classifier, caller_name: str) -> CallRecord:
        direction = self.direction(cls, caller_name)
        status = self.status(direction)
        if self.ts_start is not None:
            started, ended = parse_ts(self.ts_start), parse_ts(self.ts_end)
            answered = parse_ts(self.ts_answer or self.ts_caller_up)
        else:
            started, ended = parse_cdr(self.cdr_start), parse_cdr(self.cdr_end)
            answered = parse_cdr(self.cdr_answer or self.cdr_caller_answer)
        if status != "answered":
            answered = None
        ring = talk = None
        if started is not None and answered is not None:
            ring = (answered - started).total_seconds()
        elif started is not None and ended is not None:
            ring = (ended - started).total_seconds()
        if answered is not None and ended is not None:
            talk = (ended - answered).total_seconds()
        cause = self.cause_caller if self.cause_caller else self.cause
        return CallRecord(
            pbx=pbx,
            linkedid=self.linkedid,
            direction=direction,
            from_number=self.from_number,
            from_name=self.from_name,
            to_number=self.to_number,
            queue=self.queue,
            agents_rung=tuple(self.agents_rung),
            agent=self.agent,
            status=status,
            started_at=started,
            answered_at=answered,
            ended_at=ended,
            ring_seconds=ring,
            talk_seconds=talk,
            hangup_cause=cause,
            transfers=tuple(self.transfers),
            originate=self.originate_info(),
            recording=self.recording,
            partial=self.partial,
        )


def _unanswered(orig: str | None, dials: list[str], cause: int | None) -> CallStatus:
    """busy / no-answer / failed from the originate result, dial statuses, hangup cause."""
    outcome = orig or (dials[-1] if dials else None)
    if outcome is None and cause is not None:
        outcome = CAUSE_OUTCOME.get(cause)
    if outcome == _BUSY:
        return "busy"
    if outcome == _NOANSWER:
        return "no-answer"
    return "failed"


def parse_ts(raw: str | None) -> datetime | None:
    """``Timestamp: 1732350659.123456`` (epoch seconds) → aware UTC datetime."""
    if raw is None:
        return None
    try:
        return datetime.fromtimestamp(float(raw), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def parse_cdr(raw: str | None) -> datetime | None:
    """``2026-11-23 08:10:59`` (Cdr times, the server's clock; read as UTC)."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
