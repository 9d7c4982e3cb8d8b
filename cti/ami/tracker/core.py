"""The pure call tracker: AMI event mappings in, domain call events out.

No I/O and no clock of its own: a message's time is its ``Timestamp:`` header
(``timestampevents = yes``), else the receipt time the live connection hands to
:meth:`CallTracker.feed` (Asterisk's default sends no times), else none (a replay of a trace
without times; ``Cdr`` events then give the call's start, answer and end). Calls are keyed
by Linkedid; channels by Uniqueid. Work per event is O(1) (dict look-ups; VarSet/Newexten
noise returns after one or two look-ups) and a call's state is dropped the moment its last
channel hangs up. The status rules are in :mod:`cti.ami.tracker.record`. Device states
and queue members (:mod:`cti.ami.tracker.agents`) pass through as domain events of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cti.ami.events import (
    CallEvent,
    CallInfo,
)
from cti.ami.tracker.agents import AgentHandlers
from cti.ami.tracker.base import Msg, log
from cti.ami.tracker.calls import CallHandlers
from cti.ami.tracker.handlers import varset_matters
from cti.ami.tracker.state import Call, epoch
from cti.config import PbxConfig


class CallTracker(CallHandlers, AgentHandlers):
    """Follow every call on one PBX; see the module docs for the rules."""

    def __init__(self, pbx: str = "default", config: PbxConfig | None = None) -> None:
        super().__init__(pbx, config)
        self._handlers: dict[str, Callable[[Msg], None]] = {
            "Newchannel": self._newchannel,
            "Newstate": self._newstate,
            "NewCallerid": self._update_event,
            "NewAccountCode": self._accountcode,
            "VarSet": self._varset,
            "LocalBridge": self._localbridge,
            "DialBegin": self._dialbegin,
            "DialEnd": self._dialend,
            "Hangup": self._hangup,
            "BridgeEnter": self._bridge_enter,
            "BridgeLeave": self._bridge_leave,
            "BridgeDestroy": self._bridge_destroy,
            "QueueCallerJoin": self._queue_join,
            "QueueCallerLeave": self._queue_leave,
            "QueueCallerAbandon": self._queue_abandon,
            "AgentConnect": self._agent_connect,
            "OriginateResponse": self._originate_response,
            "BlindTransfer": self._blind_transfer,
            "AttendedTransfer": self._attended_transfer,
            "Hold": self._hold,
            "Unhold": self._unhold,
            "Cdr": self._cdr,
            "FullyBooted": self._fully_booted,
            "DeviceStateChange": self._device_state,
            "QueueMemberAdded": self._queue_member,
            "QueueMemberRemoved": self._queue_member,
            "QueueMemberPause": self._queue_member,
            "QueueMemberPaused": self._queue_member,  # its name before Asterisk 12
            "QueueMemberStatus": self._queue_member,
        }

    # ----------------------------------------------------------------- public API
    @property
    def events(self) -> frozenset[str]:
        """The AMI event names :meth:`feed` acts on (the parser may drop all others)."""
        return frozenset(self._handlers)

    @property
    def prefilters(self) -> dict[str, Callable[[str], bool]]:
        """Per event name, a test of the raw block: False means :meth:`feed` would ignore
        it (the parser may drop it before splitting it into fields)."""
        return {"VarSet": varset_matters}

    def feed(self, msg: Msg, received: float | None = None) -> list[CallEvent]:
        """Apply one AMI message; return the domain events it caused (often none).

        ``received``: when the live connection read it (epoch seconds), the time used when
        the PBX stamps no ``Timestamp:`` (its default)."""
        handler = self._handlers.get(msg.get("Event", ""))
        if handler is None:
            return []
        self._set_clock(msg.get("Timestamp"), received)
        out: list[CallEvent] = []
        self._out = out
        try:
            if self._parked:
                self._age_parked()
            handler(msg)
        except Exception:  # one bad message must never stop the others
            self.errors += 1
            if self.errors <= 20:
                log.exception("AMI %s: could not apply %s event", self.pbx, msg.get("Event"))
        return out

    def live_calls(self) -> list[CallInfo]:
        """The calls ringing or up now."""
        return [self._info(call) for call in self._calls.values()]

    @property
    def state_size(self) -> tuple[int, int]:
        """(calls, channels) held now: both drop to 0 once every call has ended."""
        return len(self._calls), len(self._chans)

    def ringing_agents(self, call_id: str) -> list[str]:
        """Agents whose phones ring for ``call_id`` now."""
        call = self._calls.get(call_id)
        return list(call.ringing) if call is not None else []

    def answered_agent(self, call_id: str) -> str | None:
        """The agent talking on ``call_id`` now (the latest who answered it)."""
        call = self._calls.get(call_id)
        return call.current_agent if call is not None else None

    def _set_clock(self, stamp: str | None, received: float | None) -> None:
        pbx = epoch(stamp)
        if pbx is not None:
            self._now, self._clock = pbx, "pbx"
        elif received is not None:
            self._now, self._clock = received, "receipt"
        else:
            self._now, self._clock = None, None

    def resync(self, channels: Sequence[Msg], now: float | None = None) -> list[CallEvent]:
        """Reconcile with ``CoreShowChannel`` events after a reconnect (``now``: when).

        Tracked calls none of whose channels remain end now (partial); unknown channels
        start partial calls (answered when an agent leg is up, ringing when it rings).
        """
        self._set_clock(None, now)
        out: list[CallEvent] = []
        self._out = out
        self._release_all()  # responses lost while disconnected
        present = {m["Uniqueid"]: m for m in channels if m.get("Uniqueid")}
        for call in list(self._calls.values()):
            for uid in [u for u in call.live if u not in present]:
                self._drop_leg(call, uid)
            if not call.live:
                call.partial = True
                self._end(call)
        fresh: dict[str, Call] = {}
        ordered = sorted(present.values(), key=lambda m: m["Uniqueid"] != m.get("Linkedid"))
        for m in ordered:
            uid = m["Uniqueid"]
            if uid in self._chans:
                continue
            linkedid = m.get("Linkedid") or uid
            known = linkedid in self._calls
            chan = self._new_chan(uid, m.get("Channel", ""), linkedid, m, partial=True)
            if not known:
                fresh[linkedid] = self._calls[linkedid]
            if chan is not None:
                chan.state = m.get("ChannelState", "")
        for call in fresh.values():
            call.partial = True
            self._start(call)
            for uid in call.uids:
                chan = self._chans[uid]
                if uid == call.caller:
                    call.caller_up = chan.state == "6"
                    continue
                ident, is_agent = self._cls.party(chan.name, chan.cid_num)
                if not (is_agent and ident):
                    continue
                if chan.state == "6":
                    self._answer(call, ident, chan)
                elif chan.state in ("4", "5"):
                    self._ring(call, ident, uid)
        return out

    def flush(self, now: float | None = None) -> list[CallEvent]:
        """End every call still open (end of a replay, or a shutdown at ``now``): their
        records are partial."""
        self._set_clock(None, now)
        out: list[CallEvent] = []
        self._out = out
        for call in list(self._calls.values()):
            call.partial = True
            self._end(call)
        self._release_all()
        return out
