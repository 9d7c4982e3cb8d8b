"""Call specifications, handles and the context a scenario script runs in.

A *spec* (``InboundCall``, ``QueueCall``, ``IvrCall``, ``TransferCall``, ``OutboundCall``)
says what should happen; the simulator turns it into an :class:`Originate` of the
customer's phone (exactly as the recorded lab did) and runs the matching scenario script.
A :class:`CallHandle` is awaitable: ``await handle`` returns once every channel of the call
has hung up, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from cti.pbxsim.channels import Channel, Emitter

Outcome = Literal["answer", "busy", "no-answer", "congestion", "invalid"]
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

    ``answer=False``: the caller leaves after ``ring_seconds`` (abandoned).
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


@dataclass(frozen=True, slots=True)
class IvrCall:
    """External caller dials the IVR number; a FastAGI survey script runs (like agi-survey)."""

    caller: str
    caller_name: str = ""
    number: str = "600"
    seconds: float = 2.0
    action_id: str | None = None


@dataclass(frozen=True, slots=True)
class TransferCall:
    """External caller reaches agent ``to``, who transfers (blind/attended) to ``target``."""

    caller: str
    caller_name: str = ""
    to: str = "104"
    target: str = "105"
    kind: Literal["blind", "attended"] = "blind"
    ring_seconds: float = 1.0
    talk_seconds: float = 2.0
    action_id: str | None = None


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


CallSpec = InboundCall | QueueCall | IvrCall | TransferCall | OutboundCall


def hold_seconds(seconds: float) -> int:
    """The ``hN`` of a customer phone: how long the caller stays (whole seconds)."""
    return max(1, math.ceil(seconds))


@dataclass(slots=True)
class QueueState:
    """A simulated queue: static members (agent extensions), waiting callers, counters."""

    name: str
    members: list[str]
    waiting: list[Channel] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    calls_taken: dict[str, int] = field(default_factory=dict)
    last_call: dict[str, int] = field(default_factory=dict)


class Interrupted(Exception):
    """Raised inside a script's sleep when an AMI action (Hangup, Redirect…) takes over."""


@dataclass(slots=True)
class Takeover:
    """What interrupted a script: hang the call up, or move ``channel`` to ``exten``."""

    kind: Literal["hangup", "redirect", "blind"]
    channel: str
    exten: str = ""
    context: str = ""
    cause: int = 16


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

    def agent(self, ext: str) -> AgentProfile:
        return self.agents.get(ext, AgentProfile())

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time; raise :class:`Interrupted` on a takeover."""
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
