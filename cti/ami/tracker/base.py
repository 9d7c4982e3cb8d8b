"""Shared state and helpers of the call tracker (channels, calls, ringing, answer, end)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from cti.ami.classify import Classifier, base_channel, clean_number
from cti.ami.events import (
    AgentRinging,
    AgentStoppedRinging,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallInfo,
    CallStarted,
    Clock,
)
from cti.ami.tracker import record
from cti.ami.tracker.state import Call, Chan, Ring, utc
from cti.config import PbxConfig

log = logging.getLogger("cti.ami.tracker")

_RECENT_ENDED = 16_384  # Linkedids remembered so late events do not resurrect a call
#: tracked messages an ended Originate's record waits for its late ``OriginateResponse``
#: (Asterisk sends it from the originating thread: it may land just after the last Hangup)
_RESPONSE_WAIT = 200
_MAX_LOGGED = 50_000

Msg = Mapping[str, str]


class TrackerBase:
    """State of one PBX's calls and the transitions every handler shares."""

    def __init__(self, pbx: str = "default", config: PbxConfig | None = None) -> None:
        self.pbx = pbx
        self._cls = Classifier(config, pbx)
        self._chans: dict[str, Chan] = {}
        self._names: dict[str, str] = {}  # channel name → uid
        self._calls: dict[str, Call] = {}
        self._originating: dict[str, list[str]] = {}  # base channel name → Linkedids
        self._ended: dict[str, None] = {}  # recently ended Linkedids, oldest first
        #: ended calls of cti's own Originates whose OriginateResponse is still to come:
        #: Linkedid → (call, caller channel name, messages left to wait)
        self._parked: dict[str, tuple[Call, str, int]] = {}
        self._bridges: dict[str, set[str]] = {}
        self._logged: set[str] = set()
        self._uptime: int | None = None
        self._out: list[CallEvent] = []
        #: the time of the message being applied (epoch seconds) and which clock gave it
        self._now: float | None = None
        self._clock: Clock | None = None
        #: messages that raised inside a handler (logged, skipped)
        self.errors = 0

    # ------------------------------------------------------------- channel helpers
    def _info(self, call: Call) -> CallInfo:
        caller = self._chans.get(call.caller)
        return call.call_info(self.pbx, self._cls, caller.name if caller else "")

    def _emit(self, event: CallEvent) -> None:
        self._out.append(event)

    def _ts(self) -> datetime | None:
        return utc(self._now)

    def _start(self, call: Call) -> None:
        if not call.started:
            call.started = True
            self._emit(CallStarted(self._info(call), self._ts()))

    def _log_unknown(self, uid: str, name: str, event: str) -> None:
        if uid in self._logged:
            return
        if len(self._logged) >= _MAX_LOGGED:
            self._logged.clear()
        self._logged.add(uid)
        log.info("AMI %s: %s for unknown channel %s (%s); tracking it", self.pbx, event, name, uid)

    def _new_chan(self, uid: str, name: str, linkedid: str, msg: Msg, partial: bool) -> Chan:
        chan = Chan(uid, name, linkedid)
        self._set_fields(chan, msg)
        self._chans[uid] = chan
        if name:
            self._names[name] = uid
        call = self._calls.get(linkedid)
        if call is None:
            self._ended.pop(linkedid, None)
            call = Call(linkedid, chan, self._now, partial or uid != linkedid)
            call.clock = self._clock
            self._calls[linkedid] = call
        call.live.add(uid)
        call.uids.append(uid)
        return chan

    def _chan(self, msg: Msg) -> Chan | None:
        """The channel a message is about; an unknown one is tracked (logged once)."""
        uid = msg.get("Uniqueid")
        if not uid:
            return None
        chan = self._chans.get(uid)
        if chan is not None:
            linkedid = msg.get("Linkedid")
            if linkedid is not None and linkedid != chan.linkedid:
                self._relink(chan, linkedid)
            return chan
        linkedid = msg.get("Linkedid")
        if not linkedid or linkedid in self._ended:
            return None  # cannot place it (or its call is over): ignore
        name = msg.get("Channel", "")
        self._log_unknown(uid, name, msg.get("Event", "?"))
        return self._new_chan(uid, name, linkedid, msg, partial=True)

    def _relink(self, chan: Chan, linkedid: str) -> None:
        """Asterisk moved a channel into another call (a pickup joins the picked call)."""
        new = self._calls.get(linkedid)
        old = self._calls.get(chan.linkedid)
        if new is None or old is None or old.live != {chan.uid} or old.dialed or old.queue:
            return  # only a lone leg that started nothing joins another call
        old.live.discard(chan.uid)
        old.uids.remove(chan.uid)
        chan.linkedid = linkedid
        new.live.add(chan.uid)
        new.uids.append(chan.uid)
        if not old.live:  # merged: its only leg lives on in the other call; no record
            for uid in old.uids:
                gone = self._chans.pop(uid, None)
                if gone is not None and self._names.get(gone.name) == uid:
                    del self._names[gone.name]
            del self._calls[old.linkedid]
            self._ended[old.linkedid] = None

    def _set_fields(self, chan: Chan, msg: Msg) -> None:
        num = msg.get("CallerIDNum")
        if num is not None:
            chan.cid_num = clean_number(num)
            chan.cid_name = clean_number(msg.get("CallerIDName"))
        exten = msg.get("Exten")
        if exten is not None:
            chan.exten = exten or None
            chan.context = msg.get("Context") or chan.context
        state = msg.get("ChannelState")
        if state is not None:
            chan.state = state

    def _update(self, msg: Msg) -> tuple[Chan, Call] | None:
        chan = self._chan(msg)
        if chan is None:
            return None
        call = self._calls.get(chan.linkedid)
        if call is None:
            return None
        self._set_fields(chan, msg)
        if (
            chan.uid == call.caller
            and not call.dialed
            and call.originator is None
            and chan.cid_num is not None
            and (call.from_number != chan.cid_num or call.from_name != chan.cid_name)
        ):
            call.from_number, call.from_name = chan.cid_num, chan.cid_name
            call.info = None
        return chan, call

    def _ring(self, call: Call, agent: str, uid: str) -> None:
        if agent not in call.agents_rung:
            call.agents_rung.append(agent)
        ring = call.ringing.get(agent)
        first = ring is None
        if ring is None:
            ring = Ring(agent, self._now)
            call.ringing[agent] = ring
            call.rings.append(ring)
        ring.uids.add(uid)
        call.route(self._now)
        if call.t_first_ring is None:
            call.t_first_ring = self._now
        self._start(call)
        if first:
            self._emit(AgentRinging(self._info(call), agent, self._ts()))

    def _ring_ended(self, call: Call, ring: Ring) -> None:
        ring.end = self._now
        if self._now is not None and (call.t_last_ring is None or self._now > call.t_last_ring):
            call.t_last_ring = self._now

    def _stop_ringing(self, call: Call, uid: str) -> None:
        for agent, ring in call.ringing.items():
            if uid in ring.uids:
                ring.uids.discard(uid)
                if not ring.uids:
                    del call.ringing[agent]
                    self._ring_ended(call, ring)
                    self._emit(AgentStoppedRinging(self._info(call), agent, self._ts()))
                return

    def _answer(self, call: Call, agent: str | None, leg: Chan) -> None:
        self._start(call)
        if agent is not None:
            ring = call.ringing.pop(agent, None)
            if ring is not None:
                ring.answered = True
                self._ring_ended(call, ring)
            if call.current_agent == agent:
                return
        elif call.answered:
            return
        first = not call.answered
        call.answered = True
        call.route(self._now)
        if first:
            call.answered_by = "agent" if agent is not None else "external"
        if agent is not None and call.agent is None:
            call.agent = agent
            if call.answer_uids and not call.originate_external:
                call.answer_uids.clear()
        legs = leg.legs()
        if agent is not None:
            call.current_agent = agent
            call.start_talk(agent, self._now, legs)
        elif call.originator is not None:  # the callee of a click-to-dial answered
            caller = self._chans.get(call.caller)
            mine = caller.legs() if caller is not None else {call.caller}
            call.start_talk(call.originator, self._now, mine)
        if first or (agent is not None and call.agent == agent and not call.originate_external):
            call.t_answer = self._now
            call.answer_uids |= legs
        self._emit(CallAnswered(self._info(call), agent, self._ts()))

    def _drop_leg(self, call: Call, uid: str) -> None:
        call.live.discard(uid)
        self._stop_ringing(call, uid)

    def _leg_gone(self, call: Call, uid: str) -> None:
        """A leg hung up: its hold ends, its agent's part of the call ends."""
        chan = self._chans.get(uid)
        if chan is not None and chan.hold_since is not None:
            self._release_hold(call, chan)
        talk = call.open_talk()
        if talk is not None and uid in talk.uids:
            self._leave_talk(call, talk.agent)

    def _release_hold(self, call: Call, chan: Chan) -> None:
        """A hold ended (Unhold, or the holding leg left): count it on the call and on
        the part of the agent whose leg held (else the agent on the call now)."""
        since, chan.hold_since = chan.hold_since, None
        if since is None or since < 0 or self._now is None:
            return
        held = max(0.0, self._now - since)
        call.hold += held
        talk = next((t for t in reversed(call.talks) if chan.uid in t.uids), call.open_talk())
        if talk is not None:
            talk.hold += held

    def _leave_talk(self, call: Call, agent: str | None) -> None:
        """``agent`` handed the call on (a transfer): their holds and their part end."""
        talk = call.open_talk()
        if talk is None or (agent is not None and talk.agent != agent):
            return
        for uid in talk.uids:
            chan = self._chans.get(uid)
            if chan is not None and chan.hold_since is not None:
                self._release_hold(call, chan)
        call.end_talk(self._now)

    def _end(self, call: Call) -> None:
        self._start(call)
        for agent, ring in list(call.ringing.items()):
            self._ring_ended(call, ring)
            self._emit(AgentStoppedRinging(self._info(call), agent, self._ts()))
        call.ringing.clear()
        if self._now is not None:
            call.t_end = self._now
        for uid in call.uids:
            chan = self._chans.get(uid)
            if chan is not None and chan.hold_since is not None:
                self._release_hold(call, chan)
        call.close_queue(call.t_end)
        call.end_talk(call.t_end)
        caller = self._chans.get(call.caller)
        caller_name = caller.name if caller else ""
        if call.originated and call.orig_action is None and call.orig_vars and not call.partial:
            # an Originate of cti's (it sets variables; always Async): its response, late
            # behind the Hangup, still names the ActionID the dialer correlates by
            self._parked[call.linkedid] = (call, caller_name, _RESPONSE_WAIT)
        else:
            self._ended_event(call, caller_name)
        del self._calls[call.linkedid]
        for uid in call.uids:
            chan = self._chans.pop(uid, None)
            if chan is None:
                continue
            if self._names.get(chan.name) == uid:
                del self._names[chan.name]
            if chan.bridge is not None:
                self._leave_bridge(chan)
        if call.originate_base is not None:
            pending = self._originating.get(call.originate_base)
            if pending is not None and call.linkedid in pending:
                pending.remove(call.linkedid)
                if not pending:
                    del self._originating[call.originate_base]
        self._ended[call.linkedid] = None
        if len(self._ended) > _RECENT_ENDED:
            del self._ended[next(iter(self._ended))]

    def _ended_event(self, call: Call, caller_name: str) -> None:
        finished = record.build(call, self.pbx, self._cls, caller_name)
        info = call.call_info(self.pbx, self._cls, caller_name)
        self._emit(CallEnded(info, finished, utc(call.t_end) if call.t_end else self._ts()))

    def _parked_call(self, uid: str, base: str) -> Call | None:
        """The ended call an ``OriginateResponse`` is about, by Uniqueid or base name."""
        for call, caller_name, _ in self._parked.values():
            if uid in call.uids or (call.originate_base or base_channel(caller_name)) == base:
                return call
        return None

    def _release(self, call: Call) -> None:
        """Emit a parked call's end (its response came, or it waited long enough)."""
        _, caller_name, _ = self._parked.pop(call.linkedid)
        self._ended_event(call, caller_name)

    def _age_parked(self) -> None:
        """One more message went by: release the calls that waited long enough."""
        for linkedid, (call, caller_name, left) in list(self._parked.items()):
            if left <= 1:
                self._release(call)
            else:
                self._parked[linkedid] = (call, caller_name, left - 1)

    def _release_all(self) -> None:
        for call, _, _ in list(self._parked.values()):
            self._release(call)

    def _leave_bridge(self, chan: Chan) -> None:
        members = self._bridges.get(chan.bridge or "")
        if members is not None:
            members.discard(chan.uid)
            if not members:
                del self._bridges[chan.bridge or ""]
        chan.bridge = None
