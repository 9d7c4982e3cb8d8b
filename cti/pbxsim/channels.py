"""Channel state and AMI event formatting for the PBX simulator.

Every event is built from the *current* state of the channels it names, exactly like
Asterisk's own ``ast_manager_build_channel_state_string`` does, so an event sequence
produced by a scenario script carries the same fields, in the same order, as the recorded
Asterisk 22 traces. Messages are plain ``str`` (joined and encoded once per write batch);
the ``Timestamp:`` header is added only when the simulator runs with timestamps on.

Device states follow Asterisk's two paths: a channel's state change or hangup only queues
its device (``Local/104@cti-agents``) for the device-state thread, which asks the Local
channel driver for the state later, so its ``DeviceStateChange`` comes out when a script
calls :meth:`Emitter.devstates` (where the recordings show that thread ran); a queue sets
``Queue:…`` states itself, at once, and those are cached (sent only when they change).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "No user responding",
    21: "Call Rejected",
    26: "Answered elsewhere",
    34: "Circuit/channel congestion",
}
UNKNOWN = "<unknown>"


@dataclass(slots=True)
class Channel:
    """One Asterisk channel as the simulator tracks it (mutable, one per leg half)."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    state: int = 0
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    cl_num: str = UNKNOWN
    cl_name: str = UNKNOWN
    account: str = ""
    priority: int = 1
    application: str = ""
    app_data: str = ""
    created: float = 0.0
    answered: float | None = None
    userfield: str = ""
    bridge: str | None = None
    peer: Channel | None = None  # the other half of a Local pair
    agent: str | None = None  # agent extension this channel rings, if any
    dialed: str = ""  # the dial string that created it (``101@agents``)
    call_id: str = ""  # Linkedid of the simulated call that owns it

    def block(self, prefix: str = "") -> str:
        """The standard channel-state fields (``Channel`` … ``Linkedid``) with ``prefix``."""
        p = prefix
        return (
            f"{p}Channel: {self.name}\r\n{p}ChannelState: {self.state}\r\n"
            f"{p}ChannelStateDesc: {STATE_DESC.get(self.state, 'Unknown')}\r\n"
            f"{p}CallerIDNum: {self.cid_num}\r\n{p}CallerIDName: {self.cid_name}\r\n"
            f"{p}ConnectedLineNum: {self.cl_num}\r\n{p}ConnectedLineName: {self.cl_name}\r\n"
            f"{p}Language: en\r\n{p}AccountCode: {self.account}\r\n"
            f"{p}Context: {self.context}\r\n{p}Exten: {self.exten}\r\n"
            f"{p}Priority: {self.priority}\r\n{p}Uniqueid: {self.uniqueid}\r\n"
            f"{p}Linkedid: {self.linkedid}\r\n"
        )

    @property
    def device(self) -> str:
        """The device the channel belongs to: its name without ``-<seq>;<half>``."""
        return self.name.rpartition("-")[0] or self.name


@dataclass(slots=True)
class Bridge:
    uniqueid: str
    members: list[Channel] = field(default_factory=list)


def _cdr_time(value: float | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")


class Emitter:
    """Formats AMI events into a shared outgoing batch and keeps the channel table.

    ``sink`` receives every formatted message; the server batches them per loop turn.
    ``clock`` is the simulator's clock (seconds since the epoch): it drives Uniqueids,
    ``Timestamp`` headers and CDR times. ``cdrs`` / ``device_states`` switch the ``Cdr``
    (cdr_manager) and ``DeviceStateChange`` events on; ``device_exists`` tells a device
    whose extension the dialplan lacks (its state is ``INVALID``).
    """

    def __init__(
        self,
        sink: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        *,
        timestamps: bool = False,
        cdrs: bool = True,
        device_states: bool = False,
        device_exists: Callable[[str], bool] = lambda device: True,
    ) -> None:
        self._sink = sink
        self.clock = clock
        self.timestamps = timestamps
        self.cdrs = cdrs
        self.device_states = device_states
        self.device_exists = device_exists
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        #: the last state sent per cached device (``Queue:…``), as Asterisk's cache keeps it
        self.known_states: dict[str, str] = {}
        #: devices reported under another name (a queue member added as ``PJSIP/101``)
        self.aliases: dict[str, str] = {}
        self._queued: list[str] = []  # devices waiting for the device-state thread
        self._live: Counter[str] = Counter()
        self._seq = 0
        self._local_seq = 0

    # -- ids -------------------------------------------------------------------------
    def new_uniqueid(self) -> str:
        uid = f"{int(self.clock())}.{self._seq}"
        self._seq += 1
        return uid

    def local_pair(
        self, exten: str, context: str, *, linkedid: str | None = None, call_id: str = ""
    ) -> tuple[Channel, Channel]:
        """Allocate (not yet announce) a ``Local/exten@context-XXXXXXXX;1/;2`` pair."""
        base = f"Local/{exten}@{context}-{self._local_seq:08x}"
        self._local_seq += 1
        now = self.clock()
        u1 = self.new_uniqueid()
        u2 = self.new_uniqueid()
        link = linkedid or u1
        one = Channel(base + ";1", u1, link, context, exten, created=now, call_id=call_id)
        two = Channel(base + ";2", u2, link, context, exten, state=4, created=now)
        two.call_id = call_id or link
        one.call_id = call_id or link
        one.peer, two.peer = two, one
        return one, two

    # -- plumbing --------------------------------------------------------------------
    def head(self, event: str, privilege: str) -> str:
        if self.timestamps:
            return f"Event: {event}\r\nPrivilege: {privilege}\r\nTimestamp: {self.clock():.6f}\r\n"
        return f"Event: {event}\r\nPrivilege: {privilege}\r\n"

    def raw(self, message: str) -> None:
        self._sink(message)

    def chan_event(self, event: str, ch: Channel, extra: str = "", priv: str = "call,all") -> None:
        self._sink(f"{self.head(event, priv)}{ch.block()}{extra}\r\n")

    # -- channel lifecycle -------------------------------------------------------------
    def newchannel(self, ch: Channel) -> None:
        self.channels[ch.name] = ch
        if ch.peer is not None and ch.peer.name in self.channels:
            self._live[ch.device] += 1  # both halves of the pair are up
        self.chan_event("Newchannel", ch)

    def newexten(
        self, ch: Channel, app: str, data: str = "", *, priority: int | None = None
    ) -> None:
        if priority is not None:
            ch.priority = priority
        ch.application, ch.app_data = app, data
        extra = f"Extension: {ch.exten}\r\nApplication: {app}\r\nAppData: {data}\r\n"
        self.chan_event("Newexten", ch, extra, "dialplan,all")

    def goto(self, ch: Channel, context: str, exten: str, priority: int = 1) -> None:
        ch.context, ch.exten, ch.priority = context, exten, priority

    def varset(self, ch: Channel, name: str, value: str = "") -> None:
        self.chan_event("VarSet", ch, f"Variable: {name}\r\nValue: {value}\r\n", "dialplan,all")

    def newcallerid(self, ch: Channel, num: str, name: str) -> None:
        ch.cid_num, ch.cid_name = num, name
        self.chan_event(
            "NewCallerid", ch, "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n"
        )

    def newconnectedline(self, ch: Channel, num: str, name: str) -> None:
        ch.cl_num, ch.cl_name = num, name
        self.chan_event("NewConnectedLine", ch)

    def newaccountcode(self, ch: Channel, account: str, old: str | None = None) -> None:
        if old is None:
            old = ch.account
        ch.account = account
        self.chan_event("NewAccountCode", ch, f"OldAccountCode: {old}\r\n")

    def newstate(self, ch: Channel, state: int) -> None:
        ch.state = state
        if state == 6 and ch.answered is None:
            ch.answered = self.clock()
        self.chan_event("Newstate", ch)
        self._state_changed(ch)

    def localbridge(self, one: Channel, two: Channel) -> None:
        self._sink(
            f"{self.head('LocalBridge', 'call,all')}{one.block('LocalOne')}{two.block('LocalTwo')}"
            f"Context: {two.context}\r\nExten: {two.exten}\r\nLocalOptimization: Yes\r\n\r\n"
        )

    def _dial(self, event: str, caller: Channel | None, dest: Channel, tail: str) -> None:
        src = caller.block() if caller is not None else ""
        self._sink(f"{self.head(event, 'call,all')}{src}{dest.block('Dest')}{tail}\r\n")

    def dialbegin(self, caller: Channel | None, dest: Channel, dialstring: str) -> None:
        self._dial("DialBegin", caller, dest, f"DialString: {dialstring}\r\n")

    def dialstate(self, caller: Channel | None, dest: Channel, status: str = "RINGING") -> None:
        self._dial("DialState", caller, dest, f"DialStatus: {status}\r\n")

    def dialend(self, caller: Channel | None, dest: Channel, status: str) -> None:
        self._dial("DialEnd", caller, dest, f"DialStatus: {status}\r\n")

    def softhanguprequest(self, ch: Channel, cause: int = 16) -> None:
        self.chan_event("SoftHangupRequest", ch, f"Cause: {cause}\r\n")

    def hanguprequest(self, ch: Channel, cause: int = 16) -> None:
        self.chan_event("HangupRequest", ch, f"Cause: {cause}\r\n")

    def hangup(self, ch: Channel, cause: int = 16) -> None:
        gone = self.channels.pop(ch.name, None) is not None
        if gone and ch.peer is not None and ch.peer.name in self.channels:
            self._live[ch.device] -= 1  # the first half of the pair to go
            if self._live[ch.device] <= 0:
                del self._live[ch.device]
        text = CAUSE_TEXT.get(cause, "Unknown")
        self.chan_event("Hangup", ch, f"Cause: {cause}\r\nCause-txt: {text}\r\n")
        self._state_changed(ch)

    def hold(self, ch: Channel, on: bool = True) -> None:
        self.chan_event("Hold" if on else "Unhold", ch)

    def dtmf(self, ch: Channel, digit: str, direction: str, *, end: bool = True) -> None:
        """``DTMFEnd`` (``end``) or ``DTMFBegin`` of ``digit`` (``Received`` / ``Sent``)."""
        if end:
            tail = f"Digit: {digit}\r\nDurationMs: 0\r\nDirection: {direction}\r\n"
            self.chan_event("DTMFEnd", ch, tail, "dtmf,all")
        else:
            self.chan_event("DTMFBegin", ch, f"Digit: {digit}\r\nDirection: {direction}\r\n",
                            "dtmf,all")  # fmt: skip

    # -- device states ---------------------------------------------------------------
    def _state_changed(self, ch: Channel) -> None:
        if self.device_states:
            self._queued.append(ch.device)

    def devstates(self, count: int | None = None) -> None:
        """The device-state thread runs: send the first ``count`` queued devices (all if
        ``None``), each with the state the Local driver reports now (in use while both
        halves of a pair of that device live)."""
        if not self._queued:
            return
        take = self._queued[:count] if count is not None else list(self._queued)
        del self._queued[: len(take)]
        for device in take:
            if self._live[device] > 0:
                state = "INUSE"
            else:
                state = "NOT_INUSE" if self.device_exists(device) else "INVALID"
            self._device_event(device, state)

    def queue_state(self, device: str, state: str) -> None:
        """A state app_queue sets itself (``Queue:sales``): sent at once, only if it changed."""
        if self.device_states and self.known_states.get(device) != state:
            self.known_states[device] = state
            self._device_event(device, state)

    def _device_event(self, device: str, state: str) -> None:
        device = self.aliases.get(device, device)
        self._sink(f"{self.head('DeviceStateChange', 'call,all')}Device: {device}\r\n"
                   f"State: {state}\r\n\r\n")  # fmt: skip

    # -- bridges ---------------------------------------------------------------------
    @staticmethod
    def bridge_fields(bridge: Bridge, prefix: str = "Bridge") -> str:
        """A bridge snapshot (``BridgeUniqueid`` … ``BridgeVideoSourceMode``) with ``prefix``."""
        p = prefix
        return (
            f"{p}Uniqueid: {bridge.uniqueid}\r\n{p}Type: basic\r\n{p}Technology: simple_bridge\r\n"
            f"{p}Creator: <unknown>\r\n{p}Name: <unknown>\r\n"
            f"{p}NumChannels: {len(bridge.members)}\r\n{p}VideoSourceMode: none\r\n"
        )

    def _bridge_head(self, event: str, bridge: Bridge) -> str:
        return self.head(event, "call,all") + self.bridge_fields(bridge)

    def bridge_create(self) -> Bridge:
        bridge = Bridge(str(uuid.uuid4()))
        self.bridges[bridge.uniqueid] = bridge
        self._sink(self._bridge_head("BridgeCreate", bridge) + "\r\n")
        return bridge

    def bridge_enter(self, bridge: Bridge, ch: Channel) -> None:
        bridge.members.append(ch)
        ch.bridge = bridge.uniqueid
        self._sink(self._bridge_head("BridgeEnter", bridge) + ch.block() + "\r\n")

    def bridge_leave(self, bridge: Bridge, ch: Channel) -> None:
        if ch in bridge.members:
            bridge.members.remove(ch)
        ch.bridge = None
        self._sink(self._bridge_head("BridgeLeave", bridge) + ch.block() + "\r\n")

    def bridge_destroy(self, bridge: Bridge) -> None:
        self.bridges.pop(bridge.uniqueid, None)
        self._sink(self._bridge_head("BridgeDestroy", bridge) + "\r\n")

    def bridge_merge(self, into: Bridge, source: Bridge) -> None:
        """``BridgeMerge`` (both bridges as they are before the members move)."""
        self._sink(f"{self.head('BridgeMerge', 'call,all')}{self.bridge_fields(into, 'ToBridge')}"
                   f"{self.bridge_fields(source, 'FromBridge')}\r\n")  # fmt: skip

    # -- records and results -----------------------------------------------------------
    def cdr(
        self,
        ch: Channel,
        *,
        source: str,
        caller_id: str,
        dest_channel: str = "",
        disposition: str | None = None,
        answered: float | None = None,
        last_app: str | None = None,
        last_data: str | None = None,
    ) -> None:
        """One ``Cdr`` event (cdr_manager) for ``ch``; times come from the simulator clock."""
        if not self.cdrs:
            return
        end = self.clock()
        answer = answered if answered is not None else ch.answered
        disp = disposition or ("ANSWERED" if answer is not None else "NO ANSWER")
        duration = int(end - ch.created)
        billable = int(end - answer) if answer is not None else 0
        self._sink(
            f"{self.head('Cdr', 'cdr,all')}AccountCode: {ch.account}\r\nSource: {source}\r\n"
            f"Destination: {ch.exten}\r\nDestinationContext: {ch.context}\r\n"
            f"CallerID: {caller_id}\r\nChannel: {ch.name}\r\nDestinationChannel: {dest_channel}\r\n"
            f"LastApplication: {last_app if last_app is not None else ch.application}\r\n"
            f"LastData: {last_data if last_data is not None else ch.app_data}\r\n"
            f"StartTime: {_cdr_time(ch.created)}\r\nAnswerTime: {_cdr_time(answer)}\r\n"
            f"EndTime: {_cdr_time(end)}\r\nDuration: {duration}\r\nBillableSeconds: {billable}\r\n"
            f"Disposition: {disp}\r\nAMAFlags: DOCUMENTATION\r\nUniqueID: {ch.uniqueid}\r\n"
            f"UserField: {ch.userfield}\r\n\r\n"
        )

    def originate_response(
        self,
        action_id: str | None,
        channel: str,
        context: str,
        exten: str,
        reason: int,
        uniqueid: str,
        cid_num: str,
        cid_name: str,
    ) -> None:
        """``OriginateResponse``; Reason 4 = answered, else ``Failure`` (5 busy, 3 no answer…)."""
        action = f"ActionID: {action_id}\r\n" if action_id is not None else ""
        result = "Success" if reason == 4 else "Failure"
        self._sink(
            f"{self.head('OriginateResponse', 'call,all')}{action}Response: {result}\r\n"
            f"Channel: {channel}\r\nContext: {context}\r\nExten: {exten}\r\nReason: {reason}\r\n"
            f"Uniqueid: {uniqueid}\r\nCallerIDNum: {cid_num}\r\nCallerIDName: {cid_name}\r\n\r\n"
        )
