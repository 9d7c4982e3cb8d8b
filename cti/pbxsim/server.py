"""``PbxSimulator``: an AMI TCP server that behaves like Asterisk 22 toward cti.

Usage (tests, ``cti demo``, benchmarks)::

    sim = PbxSimulator(users={"cti": "secret"}, agents=["101", "102"],
                       queues={"support": ["201", "202"]}, time_scale=0.001)
    await sim.start()                      # sim.port is the bound port (port=0: a free one)
    call = await sim.place_call(InboundCall(caller="+74951234567", caller_name="Ivan Petrov",
                                            to="101", ring_seconds=2, talk_seconds=2))
    await call                             # returns once every channel has hung up
    sim.start_traffic(TrafficProfile(calls_per_second=5, numbers=[...]))
    await sim.stop()

Call specs live in :mod:`cti.pbxsim.calls`; scenario scripts in ``inbound``/``queue``/
``outbound``; AMI actions in :mod:`cti.pbxsim.actions`. Events are formatted once and
written to every logged-in client in one ``write`` per event-loop turn. ``time_scale``
shrinks every wait (0.001: a 2 s ring takes 2 ms); the default clock then runs at the
scaled speed, so event times and CDRs still show the nominal durations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cti.pbxsim import inbound, outbound
from cti.pbxsim.calls import (
    AgentProfile,
    CallContext,
    CallHandle,
    CallSpec,
    InboundCall,
    Interrupted,
    IvrCall,
    Originate,
    OutboundCall,
    Outcome,
    QueueCall,
    QueueState,
    TransferCall,
    hold_seconds,
)
from cti.pbxsim.channels import Channel, Emitter
from cti.pbxsim.inbound import AGENTS, Plan
from cti.pbxsim.queue import queue_call

if TYPE_CHECKING:
    from cti.pbxsim.traffic import TrafficProfile

log = logging.getLogger(__name__)
Script = Coroutine[Any, Any, None]

CUSTOMER = "customer-phone"
INBOUND_CONTEXT = "from-trunk"


class ScaledClock:
    """Wall clock that runs ``1 / time_scale`` times faster than real time from its start."""

    def __init__(self, time_scale: float) -> None:
        self._scale = time_scale
        self._wall = time.time()
        self._mono = time.monotonic()

    def __call__(self) -> float:
        if self._scale <= 0:
            return self._wall
        return self._wall + (time.monotonic() - self._mono) / self._scale


class PbxSimulator:
    """Simulated Asterisk: AMI server + call generator (see the module docstring)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        users: Mapping[str, str] | None = None,
        agents: Sequence[str] | Mapping[str, AgentProfile] = ("101", "102", "103"),
        queues: Mapping[str, Sequence[str]] | None = None,
        queue_numbers: Mapping[str, str] | None = None,
        ivr_number: str = "600",
        dialer_agent: str | None = None,
        pstn: Mapping[str, Outcome] | None = None,
        time_scale: float = 1.0,
        timestamps: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self.host = host
        self.port = port
        self.users = dict(users or {"cti": "cti-secret"})
        if isinstance(agents, Mapping):
            self.agents = dict(agents)
        else:
            self.agents = {ext: AgentProfile() for ext in agents}
        queue_map = {"support": ["201", "202"]} if queues is None else queues
        self.queues = {name: QueueState(name, list(m)) for name, m in queue_map.items()}
        for state in self.queues.values():
            for ext in state.members:
                self.agents.setdefault(ext, AgentProfile())
        names = list(self.queues)
        self.queue_numbers = dict(queue_numbers or ({"500": names[0]} if names else {}))
        self.ivr_number = ivr_number
        self.dialer_agent = dialer_agent or next(iter(self.agents), "103")
        self.pstn: dict[str, Outcome] = dict(pstn or {})
        self.time_scale = time_scale
        self.clock = clock or ScaledClock(time_scale)
        self.emitter = Emitter(self._collect, self.clock, timestamps=timestamps)
        self.calls: dict[str, CallHandle] = {}
        self._clients: set[Any] = set()
        self._sessions: dict[Any, asyncio.Task[Any] | None] = {}
        self._pending: list[str] = []
        self._flush_scheduled = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._traffic: asyncio.Task[None] | None = None
        self.started_at = time.time()

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        from cti.pbxsim.actions import Session

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            session = Session(self, reader, writer)
            task = asyncio.current_task()
            self._sessions[session] = task
            try:
                await session.run()
            finally:
                self._sessions.pop(session, None)

        self._server = await asyncio.start_server(serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("pbxsim listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop traffic, cancel every call, close clients and the listening socket."""
        await self.stop_traffic()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._flush()
        if self._server is not None:
            self._server.close()
        sessions = dict(self._sessions)
        for session in sessions:
            session.close()  # its reader then sees EOF and the session task ends
        self._clients.clear()
        await asyncio.gather(*(t for t in sessions.values() if t is not None))
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> PbxSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- event fan-out ------------------------------------------------------------------
    def _collect(self, message: str) -> None:
        self._pending.append(message)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Write everything emitted since the last flush, once, to every listening client."""
        self._flush_scheduled = False
        if not self._pending:
            return
        data = "".join(self._pending).encode()
        self._pending.clear()
        for client in list(self._clients):
            client.send_events(data)

    def flush(self) -> None:
        """Push pending events out now (before an action response, to keep causal order)."""
        self._flush()

    def add_client(self, client: Any) -> None:
        self._clients.add(client)

    def remove_client(self, client: Any) -> None:
        self._clients.discard(client)

    @property
    def active_calls(self) -> int:
        return len(self.calls)

    # -- calls --------------------------------------------------------------------------
    def _context(self, handle: CallHandle) -> CallContext:
        return CallContext(
            self.emitter, handle, self.agents, self.queues, self.time_scale, self.dialer_agent
        )

    def _launch(self, handle: CallHandle, script: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._run(handle, script))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, handle: CallHandle, script: Coroutine[Any, Any, None]) -> None:
        ctx = self._context(handle)
        current: Coroutine[Any, Any, None] | None = script
        try:
            while current is not None:
                try:
                    await current
                    current = None
                except Interrupted:
                    current = self._takeover(ctx)
        except asyncio.CancelledError:
            if handle.linkedid:
                outbound.teardown(self.emitter, handle.linkedid)
            raise
        except Exception:
            log.exception("pbxsim: call %s failed; hanging it up", handle.linkedid)
            if handle.linkedid:
                outbound.teardown(self.emitter, handle.linkedid)
        finally:
            self.calls.pop(handle.linkedid, None)
            if not handle.done.done():
                handle.done.set_result(None)

    def _takeover(self, ctx: CallContext) -> Coroutine[Any, Any, None] | None:
        """An AMI action interrupted the script: hang up, or move a channel (Redirect/transfer)."""
        handle = ctx.handle
        take = handle.takeover
        handle.takeover = None
        handle._wake.clear()
        e = self.emitter
        if take is None:
            return None
        ch = e.channels.get(take.channel)
        if take.kind == "hangup" or ch is None:
            outbound.teardown(e, handle.linkedid, take.channel, take.cause)
            return None
        mover = ch
        if take.kind == "blind" and ch.bridge in e.bridges:
            bridge = e.bridges[ch.bridge]
            others = [m for m in bridge.members if m is not ch]
            if others:
                mover = others[0]
                outbound.blind_transfer_event(e, ch, mover, bridge, take.exten)
        if mover.peer is None or not mover.name.endswith(";1") or mover.agent is not None:
            outbound.teardown(e, handle.linkedid, take.channel)
            return None
        for other in [c for c in e.channels.values() if c.call_id == handle.linkedid]:
            if other in (mover, mover.peer) or not other.name.endswith(";1"):
                continue
            bridge_id = other.bridge
            outbound.drop_leg(e, other, other.peer or other, e.bridges.get(bridge_id or ""))
        if mover.bridge in e.bridges:
            bridge = e.bridges[mover.bridge]
            e.bridge_leave(bridge, mover)
            if not bridge.members:
                e.bridge_destroy(bridge)
        target = take.exten
        if take.kind == "redirect":
            e.goto(mover, take.context or outbound.TRANSFER_CONTEXT, target)
            e.newexten(mover, "NoOp", f"Redirected to {target}")
            e.newexten(mover, "Dial", f"Local/{target}@{AGENTS},30", priority=2)
        prof = ctx.agent(target)
        plan = Plan(prof.ring_seconds, prof.talk_seconds, prof.answers, patience=30.0)
        announce = take.kind == "blind"
        return outbound.ring_target(ctx, mover, mover.peer, target, plan, announce=announce)

    def originate(self, req: Originate) -> CallHandle:
        """Run an AMI ``Originate`` (the caller already got ``Originate successfully queued``)."""
        handle = CallHandle(req)
        self._start(handle, self._originate_script(handle, req))
        return handle

    async def place_call(self, spec: CallSpec) -> CallHandle:
        """Start a simulated call now; the handle already knows its Linkedid."""
        handle = CallHandle(spec)
        self._start(handle, self._spec_script(handle, spec))
        return handle

    def _start(self, handle: CallHandle, script: Coroutine[Any, Any, None] | None) -> None:
        """The call's first events were emitted synchronously; run the rest as a task."""
        if script is None:
            handle.done.set_result(None)
            return
        self._launch(handle, script)

    def find_call(self, channel: str) -> tuple[Channel, CallHandle] | None:
        ch = self.emitter.channels.get(channel)
        if ch is None:
            return None
        handle = self.calls.get(ch.call_id)
        return (ch, handle) if handle is not None else None

    # -- scripts ------------------------------------------------------------------------
    def _register(self, handle: CallHandle, one: Channel) -> None:
        handle.linkedid = one.call_id
        self.calls[handle.linkedid] = handle

    def _spec_script(self, handle: CallHandle, spec: CallSpec) -> Script | None:
        """Emit the call's first events now; return the coroutine that plays the rest."""
        ctx = self._context(handle)
        if isinstance(spec, QueueCall) and spec.queue not in self.queues:
            raise ValueError(f"unknown queue {spec.queue!r}")
        if isinstance(spec, OutboundCall):
            req = Originate(
                f"Local/{spec.number}@{outbound.PSTN}", "dialer-connected", "s", spec.caller_id,
                spec.caller_name, spec.action_id, timeout=spec.timeout, variables=spec.variables,
                account=spec.account,
            )  # fmt: skip
            if spec.outcome == "invalid":
                outbound.respond_invalid(self.emitter, req, handle)
                return None
            p1, p2 = inbound.originate_prologue(ctx, req)
            self._register(handle, p1)
            plan = Plan(spec.ring_seconds, spec.talk_seconds)
            return outbound.dialer_call(ctx, req, p1, p2, spec.outcome, plan)
        if isinstance(spec, InboundCall):
            stay = spec.ring_seconds + spec.talk_seconds + 1 if spec.answer else spec.ring_seconds
            patience = 1e9 if spec.answer else spec.ring_seconds
            plan = Plan(spec.ring_seconds, spec.talk_seconds, spec.answer, patience)
            exten = spec.to
        elif isinstance(spec, QueueCall):
            stay = spec.ring_seconds + spec.talk_seconds + 1 if spec.answer else spec.ring_seconds
            patience = 1e9 if spec.answer else spec.ring_seconds
            plan = Plan(spec.ring_seconds, spec.talk_seconds, spec.answer, patience)
            exten = spec.number
        elif isinstance(spec, IvrCall):
            stay, plan, exten = spec.seconds + 1, Plan(0, spec.seconds), spec.number
        else:
            stay = spec.ring_seconds + spec.talk_seconds * 3 + 2
            plan, exten = Plan(spec.ring_seconds, spec.talk_seconds), spec.to
        req = Originate(
            f"Local/h{hold_seconds(stay)}@{CUSTOMER}", INBOUND_CONTEXT, exten, spec.caller,
            spec.caller_name, spec.action_id,
        )  # fmt: skip
        one, two = inbound.originate_prologue(ctx, req)
        self._register(handle, one)
        if isinstance(spec, QueueCall):
            state = self.queues[spec.queue]
            answerer = spec.answered_by or (state.members[0] if state.members else None)
            return queue_call(ctx, req, one, two, state, plan, answerer)
        elif isinstance(spec, IvrCall):
            return inbound.ivr_call(ctx, req, one, two, spec.seconds)
        elif isinstance(spec, TransferCall):
            return outbound.transfer_call(ctx, req, one, two, spec)
        else:
            return inbound.direct_call(ctx, req, one, two, plan)

    def _originate_script(self, handle: CallHandle, req: Originate) -> Script | None:
        ctx = self._context(handle)
        local = req.local
        e = self.emitter
        known = local is not None and local[1] in (CUSTOMER, outbound.PSTN, AGENTS)
        if local is None or not known:
            outbound.respond_invalid(e, req, handle)
            return None
        exten, context = local
        one, two = inbound.originate_prologue(ctx, req)
        self._register(handle, one)
        if context == outbound.PSTN:
            outcome = self.pstn.get(exten, "answer")
            return outbound.dialer_call(ctx, req, one, two, outcome, Plan(1.0, 4.0))
        if context == AGENTS:
            outcome = self.pstn.get(req.exten, "answer")
            return outbound.click_to_dial(ctx, req, one, two, outcome, Plan(1.0, 4.0))
        patience = float(exten[1:]) if exten[1:].isdigit() else 30.0
        if req.exten in self.queue_numbers:
            state = self.queues[self.queue_numbers[req.exten]]
            answerer = next((m for m in state.members if ctx.agent(m).answers), None)
            prof = ctx.agent(answerer or "")
            plan = Plan(prof.ring_seconds, prof.talk_seconds, answerer is not None, patience)
            return queue_call(ctx, req, one, two, state, plan, answerer)
        elif req.exten == self.ivr_number:
            return inbound.ivr_call(ctx, req, one, two, 2.0)
        else:
            prof = ctx.agent(req.exten)
            plan = Plan(prof.ring_seconds, prof.talk_seconds, prof.answers, patience)
            return inbound.direct_call(ctx, req, one, two, plan)

    # -- traffic ------------------------------------------------------------------------
    def start_traffic(self, profile: TrafficProfile) -> None:
        """Generate calls in the background (a :class:`cti.pbxsim.traffic.TrafficProfile`)."""
        from cti.pbxsim.traffic import run_traffic

        if self._traffic is not None and not self._traffic.done():
            raise RuntimeError("traffic already running")
        self._traffic = asyncio.get_running_loop().create_task(run_traffic(self, profile))

    async def drain(self) -> None:
        """Wait for a bounded traffic run (``max_calls``) and every call in flight to end."""
        if self._traffic is not None:
            await asyncio.shield(self._traffic)
        while self.calls:
            await asyncio.gather(*(h.done for h in list(self.calls.values())))

    async def stop_traffic(self) -> None:
        task, self._traffic = self._traffic, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
