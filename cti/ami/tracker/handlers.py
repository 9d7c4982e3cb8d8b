"""Handlers of the AMI events that make and break calls: channels, dials, hangups, originate."""

from __future__ import annotations

from cti.ami.classify import base_channel, clean_number, local_exten
from cti.ami.tracker.base import Msg, TrackerBase
from cti.ami.tracker.state import DIAL_OUTCOME, ORIGINATE_REASON, Call, Chan

#: channel variables Asterisk itself sets on new channels (not originate variables)
_SYSTEM_VARS = ("SIP", "PJSIP", "RTP", "BRIDGE", "DIAL", "MIXMONITOR", "CDR(", "__", "MASTER_")


def varset_matters(block: str) -> bool:
    """Whether a raw ``VarSet`` block (its lines joined by ``\r\n`` as sent, or by ``\n``)
    can change what :meth:`ChannelHandlers._varset` follows: a recording's file name, or a
    variable set on a channel that is still down (originate variables). The parser drops the
    others unsplit: every ``Set()`` of a dialplan emits one (in the simulator's traffic, 38 %
    of the events the tracker handles). Keep the two in step."""
    at = block.find("\nChannelState: 0")
    return (
        at >= 0 and block[at + 16 : at + 17] in ("", "\r", "\n")
    ) or "\nVariable: MIXMONITOR_FILENAME" in block


class ChannelHandlers(TrackerBase):
    """Newchannel/Newstate/…/DialBegin/DialEnd/Hangup/OriginateResponse."""

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
        if chan.state == "6" and chan.uid == call.caller and not call.caller_up:
            call.caller_up = True
            call.ts_caller_up = msg.get("Timestamp")

    def _accountcode(self, msg: Msg) -> None:
        found = self._update(msg)
        if found is not None and found[0].uid == found[1].caller:
            found[1].account = msg.get("AccountCode") or None
            found[1].info = None

    def _varset(self, msg: Msg) -> None:  # the parser asks varset_matters first
        var = msg.get("Variable")
        if var == "MIXMONITOR_FILENAME":
            chan = self._chans.get(msg.get("Uniqueid", ""))
            call = self._calls.get(chan.linkedid) if chan else None
            if call is not None:
                call.recording = msg.get("Value") or None
            return
        uid = msg.get("Uniqueid")
        if not var or uid is None or uid != msg.get("Linkedid") or msg.get("ChannelState") != "0":
            return
        call = self._calls.get(uid)
        if call is None or call.dialed or var.startswith(_SYSTEM_VARS):
            return
        call.orig_vars[var.lstrip("_")] = msg.get("Value", "")
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
        ts = msg.get("Timestamp")
        if "Uniqueid" not in msg:  # an Originate dialing its first leg
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
            call.originate_base = base_channel(dest.name)
            self._originating.setdefault(call.originate_base, []).append(call.linkedid)
            call.info = None
            self._start(call, ts)
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
        if src.uid == call.caller and not call.dialed and call.originated:
            self._originated_exten(call, msg.get("Exten"))
        call.dialed = True
        ident, is_agent = self._cls.party(dest.name, clean_number(msg.get("DestCallerIDNum")))
        if is_agent and ident:
            self._ring(call, ident, dest.uid, ts)
        elif ident and self._cls.is_external_number(ident) and dest.uid != src.pair:
            # the direction follows the first destination (a later forward or a pickup
            # by a phone known only by a long number does not make the call outbound)
            if not call.dialed_external and not call.agents_rung and not call.answered:
                call.dialed_external = True
                if call.originate_external and call.to_number != ident and not call.agents_rung:
                    # "call me now": an originate joining two outside numbers
                    call.from_number, call.from_name = call.to_number, None
                    call.to_number = ident
                elif not self._cls.is_external_number(call.to_number):
                    call.to_number = ident
                call.info = None
            self._start(call, ts)

    def _originated_exten(self, call: Call, exten: str | None) -> None:
        """An originated call's "to" is where it went once up (``from-trunk`` 101 …)."""
        if (
            not call.originate_external
            and exten
            and exten.lstrip("+").isdigit()
            and call.to_number != exten
        ):
            call.to_number = exten
            call.info = None

    def _dialend(self, msg: Msg) -> None:
        ts = msg.get("Timestamp")
        status = msg.get("DialStatus", "")
        dest = self._chans.get(msg.get("DestUniqueid", ""))
        if "Uniqueid" not in msg:  # the Originate's first leg
            call = self._calls.get(dest.linkedid) if dest is not None else None
            if dest is None or call is None:
                return
            call.orig_pending = False
            if not call.originate_external:
                party = call.answered_via.pop(dest.uid, None)
                if status == "ANSWER" and party is not None and call.from_number is None:
                    call.from_number, call.info = party, None  # click-to-dial originator
                return
            if status == "ANSWER":
                call.external_answered = True
                self._answer(call, None, dest, ts)
            elif call.orig_outcome is None and status in DIAL_OUTCOME:
                call.orig_outcome = DIAL_OUTCOME[status]
            return
        found = self._update(msg)
        if found is None or dest is None:
            return
        src, call = found
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
                self._answer(call, ident, dest, ts)
            elif ident:  # an outside number, or a phone known only by a long number
                call.external_answered = True
                self._answer(call, None, dest, ts)
            return
        self._stop_ringing(call, dest.uid, ts)
        outcome = DIAL_OUTCOME.get(status)
        if outcome is not None:
            call.dial_outcomes.append(outcome)

    def _hangup(self, msg: Msg) -> None:
        uid = msg.get("Uniqueid", "")
        chan = self._chan(msg)  # an unknown channel still ends (as a partial call)
        call = self._calls.get(chan.linkedid) if chan is not None else None
        if chan is None or call is None or uid not in call.live:
            return  # unknown, or a duplicate Hangup
        ts = msg.get("Timestamp")
        cause = msg.get("Cause", "")
        if cause.isdigit() and cause != "0":
            call.cause = int(cause)
            if uid == call.caller:
                call.cause_caller = call.cause
        call.live.discard(uid)
        self._stop_ringing(call, uid, ts)
        if ts is not None:
            call.ts_end = ts
        if not call.live:
            self._end(call, ts)

    def _originate_response(self, msg: Msg) -> None:
        call: Call | None = None
        chan = self._chans.get(msg.get("Uniqueid", ""))
        if chan is not None:
            call = self._calls.get(chan.linkedid)
        if call is None:
            pending = self._originating.get(base_channel(msg.get("Channel", "")))
            if pending:
                call = self._calls.get(pending[0])
        if call is None:
            return
        if call.originate_base is not None:
            pending = self._originating.get(call.originate_base)
            if pending and call.linkedid in pending:
                pending.remove(call.linkedid)
                if not pending:
                    del self._originating[call.originate_base]
        call.originated = True
        call.orig_action = msg.get("ActionID") or None
        reason = msg.get("Reason", "")
        call.orig_outcome = "answered" if reason == "4" else ORIGINATE_REASON.get(reason, "failed")
        self._originated_exten(call, msg.get("Exten"))
        call.info = None
