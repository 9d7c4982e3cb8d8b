"""Handlers of the AMI events that make and break calls: channels, dials, hangups, originate."""

from __future__ import annotations

from cti.ami.classify import base_channel, clean_number, local_exten
from cti.ami.events import OriginateFailed
from cti.ami.tracker.base import Msg, TrackerBase
from cti.ami.tracker.state import DIAL_OUTCOME, ORIGINATE_REASON, QUEUE_GAVE_UP, Call, Chan

#: channel variables Asterisk itself sets on new channels (not originate variables)
_SYSTEM_VARS = ("SIP", "PJSIP", "RTP", "BRIDGE", "DIAL", "MIXMONITOR", "CDR(", "__", "MASTER_")
#: the variable cti's click-to-dial sets on its Originate: the extension that placed it
CLICK_TO_DIAL_VAR = "CTI_CLICK2DIAL"


def varset_matters(block: str) -> bool:
    """Whether a raw ``VarSet`` block (its lines joined by ``\r\n`` as sent, or by ``\n``)
    can change what :meth:`ChannelHandlers._varset` follows: a recording's file name, the
    ``QUEUESTATUS`` a queue leaves behind, answering-machine detection's ``AMDSTATUS``, or a
    variable set on a channel that is still down
    (originate variables). The parser drops the others unsplit: every ``Set()`` of a
    dialplan emits one (in the simulator's traffic, 38 % of the events the tracker
    handles). Keep the two in step."""
    at = block.find("\nChannelState: 0")
    return (
        (at >= 0 and block[at + 16 : at + 17] in ("", "\r", "\n"))
        or "\nVariable: MIXMONITOR_FILENAME" in block
        or "\nVariable: QUEUESTATUS" in block
        or "\nVariable: AMDSTATUS" in block
    )


class ChannelHandlers(TrackerBase):
    """Newchannel/Newstate/…/DialBegin/DialEnd/Hangup/Hold/OriginateResponse."""

    def _newchannel(self, msg: Msg) -> None:
        uid = msg.get("Uniqueid")
        if not uid:
            return
        if uid in self._chans:
            self._update(msg)
            return
        self._new_chan(uid, msg.get("Channel", ""), msg.get("Linkedid") or uid, msg, False)

    def _update_event(self, msg: Msg) -> None:
        self._update(msg)

    def _newstate(self, msg: Msg) -> None:
        found = self._update(msg)
        if found is None:
            return
        chan, call = found
        if chan.state != "6":
            return
        if chan.uid == call.caller and not call.caller_up:
            call.caller_up = True
            call.t_caller_up = self._now
        agent = call.blonde.pop(chan.uid, None)
        if agent is not None:  # a blonde transfer's target answered
            self._answer(call, agent, chan)

    def _accountcode(self, msg: Msg) -> None:
        found = self._update(msg)
        if found is not None and found[0].uid == found[1].caller:
            found[1].account = msg.get("AccountCode") or None
            found[1].info = None

    def _varset(self, msg: Msg) -> None:  # the parser asks varset_matters first
        var = msg.get("Variable")
        if var == "MIXMONITOR_FILENAME":
            call = self._call_of(msg)
            if call is not None:
                call.recording = msg.get("Value") or None
            return
        if var == "AMDSTATUS":  # AMD() on the answered call: MACHINE, HUMAN, NOTSURE, HANGUP
            call = self._call_of(msg)
            if call is not None:
                call.amd_status = (msg.get("Value") or "")[:16] or None
            return
        if var == "QUEUESTATUS":
            call = self._call_of(msg)
            if call is not None and msg.get("Uniqueid") == call.caller:
                call.queue_gave_up = msg.get("Value", "") in QUEUE_GAVE_UP
            return
        uid = msg.get("Uniqueid")
        if not var or uid is None or uid != msg.get("Linkedid") or msg.get("ChannelState") != "0":
            return
        call = self._calls.get(uid)
        if call is None or call.dialed or var.startswith(_SYSTEM_VARS):
            return
        name = var.lstrip("_")
        value = msg.get("Value", "")
        call.orig_vars[name] = value
        if name == CLICK_TO_DIAL_VAR and value and call.originator is None:
            self._placed_by(call, value)
        call.info = None

    def _call_of(self, msg: Msg) -> Call | None:
        chan = self._chans.get(msg.get("Uniqueid", ""))
        return self._calls.get(chan.linkedid) if chan is not None else None

    def _placed_by(self, call: Call, agent: str) -> None:
        """The call was originated from ``agent``'s own phone (click-to-dial)."""
        call.originator = agent
        call.from_number, call.from_name = agent, None
        call.info = None

    def _localbridge(self, msg: Msg) -> None:
        one = self._chans.get(self._names.get(msg.get("LocalOneChannel", ""), ""))
        two = self._chans.get(self._names.get(msg.get("LocalTwoChannel", ""), ""))
        if one is not None and two is not None:
            one.pair, two.pair = two.uid, one.uid

    def _dest(self, msg: Msg, linkedid: str) -> Chan | None:
        uid = msg.get("DestUniqueid")
        if not uid:
            return None
        chan = self._chans.get(uid)
        if chan is None:
            linkedid = msg.get("DestLinkedid") or linkedid
            if linkedid in self._ended:
                return None
            name = msg.get("DestChannel", "")
            self._log_unknown(uid, name, msg.get("Event", "?"))
            dest_fields = {k[4:]: v for k, v in msg.items() if k.startswith("Dest")}
            chan = self._new_chan(uid, name, linkedid, dest_fields, partial=True)
        return chan

    def _dialbegin(self, msg: Msg) -> None:
        if "Uniqueid" not in msg:  # an Originate dialing its first leg
            self._originate_dial(msg)
            return
        found = self._update(msg)
        if found is None:
            return
        src, call = found
        dest = self._dest(msg, call.linkedid)
        if dest is None:
            return
        if call.orig_pending and src.pair == call.caller:
            return  # click-to-dial: the originator's own phone rings first; not a callee
        ident, is_agent = self._cls.party(dest.name, clean_number(msg.get("DestCallerIDNum")))
        if call.orig_pending and not call.originate_external:
            # the Originate's first leg is not up yet: whoever rings behind it (a chain of
            # Local channels to the agent's phone) is the one placing the call; an outside
            # number there makes it an Originate to the outside after all
            if is_agent and ident and ident not in call.placing:
                call.placing.append(ident)
            if not (ident and self._cls.is_external_number(ident) and not call.placing):
                return
            call.originate_external = True
            call.to_number, call.info = ident, None
            call.t_first_ring = self._now
        if src.uid == call.caller and not call.dialed and call.originated:
            self._originated_exten(call, msg.get("Exten"))
        call.dialed = True
        if is_agent and ident and ident != call.originator:
            self._ring(call, ident, dest.uid)
        elif ident and self._cls.is_external_number(ident) and dest.uid != src.pair:
            if (
                call.originate_external
                and not call.orig_pending
                and not call.joined
                and not call.agents_rung
                and ident != call.to_number
            ):
                # "call me now": an originate joining two outside numbers (A is up, now B)
                call.joined = True
                call.from_number, call.from_name = call.to_number, None
                call.to_number, call.info = ident, None
            # the direction follows the first destination (a later forward or a pickup
            # by a phone known only by a long number does not make the call outbound)
            if not call.dialed_external and not call.agents_rung and not call.answered:
                call.dialed_external = True
                if call.originator is None and self._cls.is_internal_number(call.from_number):
                    call.originator = call.from_number  # dialled out from an agent's phone
                if not self._cls.is_external_number(call.to_number):
                    call.to_number = ident
                call.info = None
                call.route(self._now)
                if call.t_first_ring is None:
                    call.t_first_ring = self._now
            self._start(call)

    def _originate_dial(self, msg: Msg) -> None:
        dest = self._dest(msg, msg.get("DestLinkedid") or msg.get("DestUniqueid", ""))
        call = self._calls.get(dest.linkedid) if dest is not None else None
        if dest is None or call is None:
            return
        call.originated = True
        call.orig_pending = True
        target = local_exten(dest.name) or msg.get("DestExten")
        if self._cls.is_trunk(dest.name) or self._cls.is_external_number(target):
            call.originate_external = True
            call.to_number = target
            call.t_first_ring = self._now
        else:
            ident, is_agent = self._cls.party(dest.name, None)
            if is_agent and ident and call.originator is None:
                self._placed_by(call, ident)
        call.originate_base = base_channel(dest.name)
        self._originating.setdefault(call.originate_base, []).append(call.linkedid)
        call.info = None
        self._start(call)

    def _originated_exten(self, call: Call, exten: str | None) -> None:
        """An originated call's "to" is where it went once up (``from-trunk`` 101 …)."""
        if (
            not call.originate_external
            and exten
            and exten.lstrip("+").isdigit()
            and call.to_number != exten
            and not call.dialed_external
        ):
            call.to_number = exten
            call.info = None

    def _dialend(self, msg: Msg) -> None:
        status = msg.get("DialStatus", "")
        dest = self._chans.get(msg.get("DestUniqueid", ""))
        if "Uniqueid" not in msg:  # the Originate's first leg, or a transfer's target
            self._originate_dialend(dest, status)
            return
        found = self._update(msg)
        if found is None or dest is None:
            return
        src, call = found
        if call.orig_pending and not call.originate_external:
            return  # inside the Originate's first leg (see _dialbegin)
        if status == "ANSWER":
            ident = call.answered_via.pop(dest.uid, None)
            if ident is None:
                ident = self._cls.party(dest.name, clean_number(msg.get("DestCallerIDNum")))[0]
            is_agent = self._cls.is_agent_channel(dest.name) or self._cls.is_internal_number(ident)
            if src.pair is not None and src.uid != call.caller and src.name.endswith(";2"):
                # the inner leg of a Local chain: counts once the outer dial is answered
                if ident:
                    call.answered_via[src.pair] = ident
                return
            if is_agent and ident:
                self._answer(call, ident, dest)
            elif ident:  # an outside number, or a phone known only by a long number
                self._answer(call, None, dest)
            return
        self._stop_ringing(call, dest.uid)
        outcome = DIAL_OUTCOME.get(status)
        if outcome is not None:
            call.dial_outcomes.append(outcome)

    def _originate_dialend(self, dest: Chan | None, status: str) -> None:
        call = self._calls.get(dest.linkedid) if dest is not None else None
        if dest is None or call is None:
            return
        agent = call.blonde.pop(dest.uid, None)
        if agent is not None and status == "ANSWER":  # a blonde transfer's target answered
            self._answer(call, agent, dest)
            return
        call.orig_pending = False
        if not call.originate_external:
            if call.originator is None and len(call.placing) == 1:
                self._placed_by(call, call.placing[0])  # click-to-dial via a Local chain
            return
        if status == "ANSWER":
            self._answer(call, None, dest)
        elif call.orig_outcome is None and status in DIAL_OUTCOME:
            call.orig_outcome = DIAL_OUTCOME[status]

    def _hangup(self, msg: Msg) -> None:
        uid = msg.get("Uniqueid", "")
        chan = self._chan(msg)  # an unknown channel still ends (as a partial call)
        call = self._calls.get(chan.linkedid) if chan is not None else None
        if chan is None or call is None or uid not in call.live:
            return  # unknown, or a duplicate Hangup
        cause = msg.get("Cause", "")
        if cause.isascii() and cause.isdigit() and cause != "0" and len(cause) <= 3:
            call.cause = int(cause)
            if uid == call.caller:
                call.cause_caller = call.cause
        self._leg_gone(call, uid)
        call.live.discard(uid)
        call.blonde.pop(uid, None)
        self._stop_ringing(call, uid)
        if not call.live:
            self._end(call)

    def _hold(self, msg: Msg) -> None:
        chan = self._chan(msg)
        if chan is not None and chan.hold_since is None:
            chan.hold_since = self._now if self._now is not None else -1.0

    def _unhold(self, msg: Msg) -> None:
        chan = self._chans.get(msg.get("Uniqueid", ""))
        call = self._calls.get(chan.linkedid) if chan is not None else None
        if chan is not None and call is not None and chan.hold_since is not None:
            self._release_hold(call, chan)

    def _originate_response(self, msg: Msg) -> None:
        call = self._originated_call(msg)
        parked = None
        if call is None:
            parked = call = self._parked_call(
                msg.get("Uniqueid", ""), base_channel(msg.get("Channel", ""))
            )
        if call is None:
            if msg.get("Response") == "Failure":
                # no call to carry the outcome (no channel was ever created, or its call
                # is already over): the dialer still needs one for its attempt
                reason = msg.get("Reason", "")
                self._emit(
                    OriginateFailed(
                        self.pbx,
                        msg.get("ActionID") or None,
                        int(reason) if reason.isdigit() else None,
                        msg.get("Channel") or None,
                        self._ts(),
                    )
                )
            return
        if call.originate_base is not None:
            pending = self._originating.get(call.originate_base)
            if pending and call.linkedid in pending:
                pending.remove(call.linkedid)
                if not pending:
                    del self._originating[call.originate_base]
        if not call.originated:  # its first leg never got dialed (no route for it)
            call.originated = True
            target = local_exten(msg.get("Channel", ""))
            if self._cls.is_trunk(msg.get("Channel", "")) or self._cls.is_external_number(target):
                call.originate_external = True
                call.to_number = target
        call.orig_action = msg.get("ActionID") or None
        reason = msg.get("Reason", "")
        call.orig_outcome = "answered" if reason == "4" else ORIGINATE_REASON.get(reason, "failed")
        if call.orig_outcome == "answered" and call.t_answer is None and call.originate_external:
            call.t_answer = self._now
        self._originated_exten(call, msg.get("Exten"))
        call.info = None
        if parked is not None:
            self._release(parked)

    def _originated_call(self, msg: Msg) -> Call | None:
        """The call an ``OriginateResponse`` is about: by its Uniqueid, else (a failure
        reports ``<unknown>``) by the base name of the channel it dialed."""
        chan = self._chans.get(msg.get("Uniqueid", ""))
        if chan is not None:
            return self._calls.get(chan.linkedid)
        base = base_channel(msg.get("Channel", ""))
        pending = self._originating.get(base)
        if pending:
            return self._calls.get(pending[0])
        if not base:
            return None
        for call in self._calls.values():  # only failures get here, and rarely
            caller = self._chans.get(call.caller)
            if caller is not None and not call.originated and base_channel(caller.name) == base:
                return call
        return None
