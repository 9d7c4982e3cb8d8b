"""Handlers of the AMI events around a call: bridges, queues, transfers, CDRs, reboots."""

from __future__ import annotations

from cti.ami.classify import clean_number
from cti.ami.events import (
    CallQueued,
    CallTransferred,
    PbxRestarted,
    QueueAction,
    Transfer,
    TransferKind,
)
from cti.ami.tracker.base import Msg
from cti.ami.tracker.handlers import ChannelHandlers
from cti.ami.tracker.state import Call, Chan


class CallHandlers(ChannelHandlers):
    """Bridge*/Queue*/AgentConnect/BlindTransfer/AttendedTransfer/Cdr/FullyBooted."""

    # -------------------------------------------------------------------- bridges
    def _bridge_enter(self, msg: Msg) -> None:
        chan = self._chan(msg)
        bridge = msg.get("BridgeUniqueid")
        if chan is None or not bridge:
            return
        if chan.bridge is not None:
            self._leave_bridge(chan)
        chan.bridge = bridge
        self._bridges.setdefault(bridge, set()).add(chan.uid)

    def _bridge_leave(self, msg: Msg) -> None:
        chan = self._chans.get(msg.get("Uniqueid", ""))
        if chan is not None and chan.bridge is not None:
            self._leave_bridge(chan)

    def _bridge_destroy(self, msg: Msg) -> None:
        for uid in self._bridges.pop(msg.get("BridgeUniqueid", ""), ()):
            chan = self._chans.get(uid)
            if chan is not None:
                chan.bridge = None

    # --------------------------------------------------------------------- queues
    def _queue(self, msg: Msg, action: QueueAction) -> Call | None:
        found = self._update(msg)
        queue = msg.get("Queue")
        if found is None or not queue:
            return None
        call = found[1]
        if call.queue != queue:
            call.queue = queue
            call.info = None
        if found[0].uid == call.caller and call.originated:
            self._originated_exten(call, msg.get("Exten"))
        self._start(call)
        self._emit(CallQueued(self._info(call), queue, action, self._ts()))
        return call

    def _queue_join(self, msg: Msg) -> None:
        call = self._queue(msg, "join")
        if call is not None:
            call.queue_joined = True
            call.queue_gave_up = False
            call.route(self._now)
            if call.queue_since is None:
                call.queue_since = self._now

    def _queue_leave(self, msg: Msg) -> None:
        call = self._queue(msg, "leave")
        if call is not None:
            call.close_queue(self._now)

    def _queue_abandon(self, msg: Msg) -> None:
        """Sent when the caller hangs up in the queue, and also when the queue lets the
        caller go (timeout, no members): a ``QUEUESTATUS`` after it tells the second."""
        call = self._queue(msg, "abandon")
        if call is not None:
            call.abandoned = True
            call.close_queue(self._now)

    def _agent_connect(self, msg: Msg) -> None:
        found = self._update(msg)
        dest = self._chans.get(msg.get("DestUniqueid", ""))
        if found is None or dest is None:
            return
        interface = msg.get("Interface", "")
        ident, is_agent = self._cls.party(interface or dest.name, dest.cid_num)
        if is_agent and ident:
            found[1].close_queue(self._now)
            self._answer(found[1], ident, dest)

    # ------------------------------------------------------------------ transfers
    def _transfer(self, call: Call, transfer: Transfer) -> bool:
        if call.transfers and call.transfers[-1] == transfer:
            return False  # the same event twice
        call.transfers.append(transfer)
        self._start(call)
        self._emit(CallTransferred(self._info(call), transfer, self._ts()))
        return True

    def _blind_transfer(self, msg: Msg) -> None:
        by, _ = self._cls.party(
            msg.get("TransfererChannel", ""), clean_number(msg.get("TransfererCallerIDNum"))
        )
        linkedid = msg.get("TransfereeLinkedid") or msg.get("TransfererLinkedid", "")
        call = self._calls.get(linkedid)
        if call is None or msg.get("Result", "Success") != "Success":
            return
        if self._transfer(call, Transfer("blind", by, msg.get("Extension") or None)):
            self._leave_talk(call, by)
            if by is not None and call.current_agent == by:
                call.current_agent = None

    def _attended_transfer(self, msg: Msg) -> None:
        """By: the transferer as an extension (either of its two legs); to: the target.

        Blonde when the target still rang: Asterisk 13 sends the transferee into a
        ``Dial`` (``DestType: App``); Asterisk 22's feature transfer moves the ringing
        target into the caller's bridge and names no target (its channel is the other
        member of ``DestBridgeUniqueid``; see tests/traces/asterisk22/README.md).
        """
        call = self._calls.get(msg.get("OrigTransfererLinkedid", ""))
        if call is None or msg.get("Result", "Success") != "Success":
            return
        by, by_agent = self._cls.party(
            msg.get("OrigTransfererChannel", ""),
            clean_number(msg.get("OrigTransfererCallerIDNum")),
        )
        second, second_agent = self._cls.party(
            msg.get("SecondTransfererChannel", ""),
            clean_number(msg.get("SecondTransfererCallerIDNum")),
        )
        if second and second_agent and not by_agent:
            by = second
        target = self._target(msg)
        to: str | None = None
        if target is not None:
            to = self._cls.party(target.name, target.cid_num)[0]
        elif msg.get("TransferTargetChannel"):
            to = self._cls.party(
                msg["TransferTargetChannel"], clean_number(msg.get("TransferTargetCallerIDNum"))
            )[0]
        to = to or clean_number(msg.get("SecondTransfererExten"))
        ringing = target is not None and target.state != "6"
        kind: TransferKind = "blonde" if msg.get("DestType") == "App" or ringing else "attended"
        if not self._transfer(call, Transfer(kind, by, to)):
            return
        consult = self._calls.get(msg.get("SecondTransfererLinkedid", ""))
        if kind == "blonde" and consult is not None and consult is not call:
            # the consultation call (a phone's second call) never got answered: its ringing
            # target went to the caller; say so on its record rather than leave a plain miss
            self._transfer(consult, Transfer(kind, by, to))
        self._leave_talk(call, by)
        if target is None or not to or not self._cls.party(target.name, target.cid_num)[1]:
            return
        if ringing:
            call.blonde[target.uid] = to
        else:
            self._answer(call, to, target)

    def _target(self, msg: Msg) -> Chan | None:
        """The transfer target's channel: named, or (a feature transfer, one transferer
        leg for both calls) the one left in the bridge with the transferee."""
        named = self._chans.get(msg.get("TransferTargetUniqueid", ""))
        if named is not None:
            return named
        if msg.get("OrigTransfererUniqueid") != msg.get("SecondTransfererUniqueid"):
            return None  # two transferer legs (a phone's transfer): the target is not named
        members = self._bridges.get(msg.get("DestBridgeUniqueid", ""), set())
        skip = {
            msg.get("TransfereeUniqueid", ""),
            msg.get("OrigTransfererUniqueid", ""),
            msg.get("SecondTransfererUniqueid", ""),
        }
        for uid in members - skip:
            chan = self._chans.get(uid)
            if chan is not None and chan.pair not in skip:
                return chan
        return None

    # ------------------------------------------------------------------ cdr, boot
    def _cdr(self, msg: Msg) -> None:
        uid = msg.get("UniqueID") or msg.get("Uniqueid") or ""
        chan = self._chans.get(uid)
        call = self._calls.get(chan.linkedid) if chan is not None else None
        if call is None:
            return
        start, answer, end = msg.get("StartTime"), msg.get("AnswerTime"), msg.get("EndTime")
        if start and (call.cdr_start is None or start < call.cdr_start):
            call.cdr_start = start
        if end and (call.cdr_end is None or end > call.cdr_end):
            call.cdr_end = end
        if answer:
            if uid in call.answer_uids and (call.cdr_answer is None or answer < call.cdr_answer):
                call.cdr_answer = answer
            if uid == call.caller and call.cdr_caller_answer is None:
                call.cdr_caller_answer = answer

    def _fully_booted(self, msg: Msg) -> None:
        """Asterisk (re)started: calls we followed are gone — unless this is a reconnect.

        Asterisk sends ``FullyBooted`` to every new AMI session; an ``Uptime`` not lower
        than the last one seen means the same Asterisk is still running (a reconnect), and
        without an ``Uptime`` we cannot tell: in both cases live calls are kept and the
        :meth:`resync` that follows every reconnect ends those that are gone.
        """
        raw = msg.get("Uptime", "")
        uptime = int(raw) if raw.isdigit() else None
        restarted = uptime is not None and (self._uptime is None or uptime < self._uptime)
        if uptime is not None:
            self._uptime = uptime
        if not self._calls or not restarted:
            return
        for call in list(self._calls.values()):
            call.partial = True
            self._end(call)
        self._emit(PbxRestarted(self.pbx, self._ts()))
