"""Call specifications, handles and the context a scenario script runs in.

A *spec* (``InboundCall``, ``QueueCall``, ``IvrCall``, ``MessageCall``, ``TransferCall``,
``OutboundCall``, ``ClickToDialCall``) says what should happen; the simulator turns it into
the :class:`Originate` the recorded lab received for such a call and runs the matching
scenario script.
A :class:`CallHandle` is awaitable: ``await handle`` returns once every channel of the call
has hung up, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from cti.pbxsim.channels import Channel, Emitter
    from cti.pbxsim.dialplan import Dialplan

Outcome = Literal["answer", "busy", "no-answer", "congestion", "invalid"]
#: a click-to-dial's number: like a dialer's, or ``no-route`` (cti-outbound refuses it)
ClickOutcome = Literal["answer", "busy", "no-answer", "congestion", "no-route"]
#: OriginateResponse ``Reason`` per outcome (Asterisk's ``AST_CONTROL_*`` numbers)
REASON = {"answer": 4, "busy": 5, "no-answer": 3, "congestion": 8, "invalid": 0}


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """How a simulated agent phone behaves when rung (``answers=False``: rings forever)."""

    ring_seconds: float = 2.0
    talk_seconds: float = 2.0
    answers: bool = True


@dataclass(frozen=True, slots=True)
class Originate:
    """A parsed ``Originate`` action (also what every simulated inbound call starts with)."""

    channel: str
    context: str
    exten: str
    caller_num: str
    caller_name: str
    action_id: str | None = None
    priority: int = 1
    timeout: float = 30.0
    variables: tuple[tuple[str, str], ...] = ()
    account: str = ""
    #: the channel the client asked for when the simulator plays it as another one (a
    #: ``PJSIP/<number>@<trunk>`` route played as ``Local/<number>@pstn``)
    requested: str = ""

    @property
    def trunk_call(self) -> tuple[str, str] | None:
        """``(number, endpoint)`` of a ``PJSIP/<number>@<endpoint>`` channel, else None."""
        if not self.channel.startswith("PJSIP/") or "@" not in self.channel:
            return None
        number, _, endpoint = self.channel[6:].partition("@")
        return (number, endpoint) if number and endpoint else None

    @property
    def local(self) -> tuple[str, str] | None:
        """``(exten, context)`` of a ``Local/exten@context`` channel, else ``None``."""
        if not self.channel.startswith("Local/") or "@" not in self.channel:
            return None
        exten, _, context = self.channel[6:].partition("@")
        context = context.split("/", 1)[0]
        if not exten or not context:
            return None
        return exten, context


@dataclass(frozen=True, slots=True)
class InboundCall:
    """External caller dials an agent's DID directly (``from-trunk`` → ``Dial(agent)``).

    ``answer=True``: the agent answers after ``ring_seconds``, talks ``talk_seconds`` and
    hangs up. ``answer=False``: the caller gives up after ``ring_seconds`` (missed).
    """

    caller: str
    caller_name: str = ""
    to: str = "101"
    ring_seconds: float = 2.0
    talk_seconds: float = 2.0
    answer: bool = True
    action_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueueCall:
    """External caller dials the queue number; ringall; ``answered_by`` (default: first member).

    ``answer=False``: the caller leaves after ``ring_seconds`` (abandoned), unless the
    queue's ``timeout`` comes first (the queue gives up: ``QUEUESTATUS=TIMEOUT``).
    ``ivr_seconds``: an IVR menu answers first (cti-inbound 510); ``timeout``: the queue of
    cti-inbound 520 (``Queue(<queue>,r,,,<timeout>)``). Without either: from-trunk 500.
    """

    caller: str
    caller_name: str = ""
    queue: str = "support"
    number: str = "500"
    ring_seconds: float = 2.0
    talk_seconds: float = 3.0
    answer: bool = True
    answered_by: str | None = None
    action_id: str | None = None
    ivr_seconds: float = 0.0
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class IvrCall:
    """External caller dials the IVR number; a FastAGI survey script runs (like agi-survey)."""

    caller: str
    caller_name: str = ""
    number: str = "600"
    seconds: float = 2.0
    action_id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageCall:
    """The PBX answers the caller itself (cti-inbound): a message of ``seconds`` it then
    hangs up (700), or, ``menu=True``, the IVR menu in front of the support queue that the
    caller leaves after ``seconds`` (510; give fewer than its 3 s)."""

    caller: str
    caller_name: str = ""
    seconds: float = 4.0
    menu: bool = False
    action_id: str | None = None


@dataclass(frozen=True, slots=True)
class TransferCall:
    """External caller reaches agent ``to`` (cti-inbound, ``cti-agents``), who talks
    ``talk_seconds`` and transfers to ``target``: ``blind`` (AMI ``BlindTransfer``),
    ``attended`` (``Atxfer``; the agent hangs up ``consult_seconds`` after the target
    answered) or ``blonde`` (the agent hangs up ``consult_seconds`` after the target started
    ringing, before it answers)."""

    caller: str
    caller_name: str = ""
    to: str = "104"
    target: str = "105"
    kind: Literal["blind", "attended", "blonde"] = "blind"
    ring_seconds: float = 1.0
    talk_seconds: float = 2.0
    action_id: str | None = None
    consult_seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class OutboundCall:
    """A dialer call: ``Originate`` of ``Local/<number>@pstn`` that, answered, goes to ``agent``."""

    number: str
    outcome: Outcome = "answer"
    agent: str = "103"
    ring_seconds: float = 1.0
    talk_seconds: float = 4.0
    caller_id: str = "+74950000000"
    caller_name: str = "Sales Dept"
    action_id: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    account: str = ""
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class ClickToDialCall:
    """cti's click-to-dial: ``agent``'s phone rings, answered it dials ``number``
    (``outbound``; ``no-route``: through ``cti-outbound``, which sends only ``_7X.`` out, so
    give a number that does not start with 7)."""

    agent: str
    number: str
    outcome: ClickOutcome = "answer"
    ring_seconds: float = 1.0
    talk_seconds: float = 4.0
    action_id: str | None = None


CallSpec = (
    InboundCall | QueueCall | IvrCall | MessageCall | TransferCall | OutboundCall | ClickToDialCall
)


def hold_seconds(seconds: float) -> int:
    """The ``hN`` of a customer phone: how long the caller stays (whole seconds)."""
    return max(1, math.ceil(seconds))


@dataclass(slots=True)
class Member:
    """What app_queue keeps of one member beyond its calls (``QueueMember*`` fields)."""

    membership: Literal["static", "dynamic"] = "static"
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    last_pause: int = 0
    login_time: int = 0
    #: ``QueueAdd``'s ``Interface`` / ``MemberName`` (empty: the lab's ``Local/<ext>@agents``
    #: and ``Agent <ext>``)
    interface: str = ""
    name: str = ""


@dataclass(slots=True)
class QueueState:
    """A simulated queue: members (agent extensions), waiting callers, counters.

    ``set_vars``: queues.conf's ``setinterfacevar``/``setqueuevar``/``setqueueentryvar``
    (the lab's ``support`` has them, cti's ``sales`` does not). ``wrapup``: queues.conf's
    ``wrapuptime`` (s a member is not rung after a call). ``info``: per member, what
    ``QueueAdd``/``QueuePause`` changed (a member without an entry is a static one,
    never paused)."""

    name: str
    members: list[str]
    set_vars: bool = True
    waiting: list[Channel] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    calls_taken: dict[str, int] = field(default_factory=dict)
    last_call: dict[str, int] = field(default_factory=dict)
    wrapup: float = 0.0
    info: dict[str, Member] = field(default_factory=dict)
    #: queues.conf's ``ringinuse`` (the campaign lab's queues: no)
    ringinuse: bool = True

    def member(self, ext: str) -> Member:
        """``ext``'s record (created as a static member on first use)."""
        if ext not in self.info:
            self.info[ext] = Member()
        return self.info[ext]


class Interrupted(Exception):
    """Raised inside a script's sleep when an AMI action (Hangup, Redirect…) takes over."""


@dataclass(slots=True)
class Takeover:
    """What interrupted a script: hang ``channel`` up, move it to ``exten`` (Redirect, blind
    transfer) or start an attended transfer from it to ``exten`` (``Atxfer``)."""

    kind: Literal["hangup", "redirect", "blind", "atxfer"]
    channel: str
    exten: str = ""
    context: str = ""
    cause: int = 16


@dataclass(frozen=True, slots=True)
class Races:
    """Where one recording shows the events that other Asterisk threads sent.

    A script marks the points where such an event may land with ``ctx.slot(name)``; ``at``
    lists what comes out there: ``dsc`` / ``dscN`` (the device-state thread sends the next
    one / N queued ``DeviceStateChange`` events) or the name of an event the script
    deferred (``ctx.defer``), such as ``respond`` (the ``OriginateResponse``, sent by the
    thread that originated the call); a deferred event no slot claims comes out where the
    script says it is due. ``flags`` name the
    other interleavings a script chooses between. Real Asterisk orders these differently
    from one run to the next; each scenario keeps the order of its recording.
    """

    at: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()

    def has(self, flag: str) -> bool:
        return flag in self.flags


@dataclass(eq=False, slots=True)
class CallHandle:
    """A running simulated call. ``await handle`` waits until it has fully hung up."""

    spec: CallSpec | Originate
    linkedid: str = ""
    reason: int | None = None  # OriginateResponse Reason once known
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    takeover: Takeover | None = None
    #: takeover kinds the running script handles itself (others: the simulator's default)
    accepts: frozenset[str] = frozenset()
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __await__(self) -> Generator[object, None, None]:
        return asyncio.shield(self.done).__await__()

    def interrupt(self, takeover: Takeover) -> None:
        """Hand the call to an AMI action; the script stops at its next wait."""
        self.takeover = takeover
        self._wake.set()

    @property
    def finished(self) -> bool:
        return self.done.done()


@dataclass(slots=True)
class CallContext:
    """What a scenario script works with: the emitter, the lab setup and its own handle."""

    e: Emitter
    handle: CallHandle
    agents: dict[str, AgentProfile]
    queues: dict[str, QueueState]
    time_scale: float
    dialer_agent: str
    channels: list[Channel] = field(default_factory=list)
    dialplan: Dialplan | None = None
    races: Races = field(default_factory=Races)
    #: ``races`` was chosen by the simulator's owner (a test replaying one recording)
    pinned: bool = False
    #: events of other threads, by name, waiting for their slot (see :class:`Races`)
    deferred: dict[str, Callable[[], None]] = field(default_factory=dict)
    #: the slots the script went through so far
    passed: set[str] = field(default_factory=set)

    def agent(self, ext: str) -> AgentProfile:
        return self.agents.get(ext, AgentProfile())

    def phone(self, context: str, ext: str) -> AgentProfile:
        """The phone behind ``ext@context`` (the dialplan's, else the agents')."""
        if self.dialplan is not None:
            return self.dialplan.phone(context, ext)
        return self.agent(ext)

    def use(self, races: Races) -> None:
        """Take ``races`` as this call's interleaving unless one was pinned."""
        if not self.pinned:
            self.races = races

    def defer(self, name: str, emit: Callable[[], None]) -> None:
        """``emit`` comes out at the slot :attr:`races` names for it, or when it is due."""
        self.deferred[name] = emit

    def due(self, name: str) -> None:
        """This is where the deferred event ``name`` happens unless :attr:`races` puts it
        at a slot still to come: emit it now, if no slot did or will."""
        if not any(
            name in items and slot not in self.passed for slot, items in self.races.at.items()
        ):
            self.emit(name)

    def emit(self, name: str) -> None:
        """Emit the deferred event ``name`` now (if it is still waiting)."""
        emit = self.deferred.pop(name, None)
        if emit is not None:
            emit()

    def flush(self) -> None:
        """The call is over: whatever is still deferred or queued comes out now."""
        while self.deferred:
            self.emit(next(iter(self.deferred)))
        self.e.devstates()

    def drop(self, name: str) -> None:
        """Forget a deferred event that will not happen (the call took another turn)."""
        self.deferred.pop(name, None)

    def slot(self, name: str) -> None:
        """Emit what :attr:`races` puts at this point of the script."""
        self.passed.add(name)
        for item in self.races.at.get(name, ()):
            if item.startswith("dsc"):
                self.e.devstates(int(item[3:] or 1))
            else:
                self.emit(item)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time; raise :class:`Interrupted` on a takeover.

        Device states queued so far go out first: while a call waits, Asterisk's
        device-state thread has long run."""
        self.e.devstates()
        wake = self.handle._wake
        if wake.is_set():
            raise Interrupted
        delay = max(0.0, seconds * self.time_scale)
        try:
            async with asyncio.timeout(delay):
                await wake.wait()
        except TimeoutError:
            return
        raise Interrupted

    async def wait(
        self, seconds: float, *kinds: str, channel: str | None = None
    ) -> Takeover | None:
        """:meth:`sleep`, but hand back a takeover of one of ``kinds`` (of ``channel``, if
        given) for the script to handle instead of raising :class:`Interrupted`."""
        try:
            await self.sleep(seconds)
        except Interrupted:
            take = self.handle.takeover
            if take is None or take.kind not in kinds or channel not in (None, take.channel):
                raise
            self.handle.takeover = None
            self.handle._wake.clear()
            return take
        return None
