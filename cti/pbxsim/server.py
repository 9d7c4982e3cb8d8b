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

Call specs live in :mod:`cti.pbxsim.calls`; the lab dialplan in :mod:`cti.pbxsim.dialplan`
and :mod:`cti.pbxsim.routes` (which script plays an Originate or a spec); AMI actions in
:mod:`cti.pbxsim.actions`. Events are formatted once and written to every logged-in client
in one ``write`` per event-loop turn. ``time_scale`` shrinks every wait (0.001: a 2 s ring
takes 2 ms); the default clock then runs at the scaled speed, so event times still show the
nominal durations.

What the PBX sends besides the calls' own events is configurable as sites differ:
``timestamps`` (``timestampevents``), ``cdrs`` (cdr_manager's ``Cdr`` events, on by
default as in the shared lab) and ``device_states`` (``DeviceStateChange``, off by default;
cti's own recordings have them on and ``Cdr`` off). ``races`` pins the thread interleaving
of every call (tests replaying one recording; see :class:`~cti.pbxsim.calls.Races`);
otherwise each scenario uses the one of its recording.

Campaign dialers: ``campaign`` (:class:`~cti.pbxsim.campaign.Campaign`: the called
population, how fast agents answer, the abandon message), ``wrapup`` (the queues'
``wrapuptime``) and ``trunks`` (PJSIP endpoints a campaign route may use); an ``Originate``
into ``cti-campaign`` plays one attempt (:mod:`cti.pbxsim.campaign`), ``floor`` knows which
agents may be rung (:mod:`cti.pbxsim.members`).

Keypad surveys: ``agi`` (:class:`~cti.pbxsim.ivr_agi.LiveAgi`: a FastAGI server's address
and the respondents) makes every IVR survey call (``from-trunk`` 600, ``IvrCall``, the
traffic's ``ivr`` kind ``survey``) run ``AGI()`` against that server for real.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cti.pbxsim.calls import (
    AgentProfile,
    CallContext,
    CallHandle,
    CallSpec,
    Interrupted,
    Originate,
    Outcome,
    QueueState,
    Races,
)
from cti.pbxsim.campaign import Campaign
from cti.pbxsim.channels import Channel, Emitter
from cti.pbxsim.dialplan import LAB_CTI_AGENTS, Dialplan
from cti.pbxsim.filters import EventFilter, passes
from cti.pbxsim.ivr_agi import LiveAgi
from cti.pbxsim.members import Floor
from cti.pbxsim.population import Dialled
from cti.pbxsim.routes import originate_script, spec_script
from cti.pbxsim.takeover import take_over, teardown

if TYPE_CHECKING:
    from cti.pbxsim.traffic import TrafficProfile

log = logging.getLogger(__name__)
Script = Coroutine[Any, Any, None]


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
        queues: Mapping[str, Sequence[str] | QueueState] | None = None,
        queue_numbers: Mapping[str, str] | None = None,
        ivr_number: str = "600",
        dialer_agent: str | None = None,
        pstn: Mapping[str, Outcome] | None = None,
        cti_agents: Mapping[str, AgentProfile] | None = None,
        time_scale: float = 1.0,
        timestamps: bool = False,
        cdrs: bool = True,
        device_states: bool = False,
        races: Races | None = None,
        clock: Callable[[], float] | None = None,
        filter_allowed: bool = True,
        campaign: Campaign | None = None,
        wrapup: float = 0.0,
        trunks: Sequence[str] = ("trunk",),
        agi: LiveAgi | None = None,
    ) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self.host = host
        self.port = port
        self.users = dict(users or {"cti": "cti-secret"})
        #: the AMI users may send ``Filter`` (Asterisk: ``write = system``)
        self.filter_allowed = filter_allowed
        if isinstance(agents, Mapping):
            self.agents = dict(agents)
        else:
            self.agents = {ext: AgentProfile() for ext in agents}
        queue_map = {"support": ["201", "202"]} if queues is None else queues
        self.queues = {
            name: q if isinstance(q, QueueState) else QueueState(name, list(q), wrapup=wrapup)
            for name, q in queue_map.items()
        }
        for state in self.queues.values():
            for ext in state.members:
                self.agents.setdefault(ext, AgentProfile())
        names = list(self.queues)
        self.queue_numbers = dict(queue_numbers or ({"500": names[0]} if names else {}))
        self.ivr_number = ivr_number
        self.dialer_agent = dialer_agent or next(iter(self.agents), "103")
        self.pstn: dict[str, Outcome] = dict(pstn or {})
        self.dialplan = Dialplan(
            self.agents, dict(LAB_CTI_AGENTS if cti_agents is None else cti_agents),
            self.pstn, self.queue_numbers, ivr_number,
        )  # fmt: skip
        self.races = races
        self.time_scale = time_scale
        self.clock = clock or ScaledClock(time_scale)
        self.emitter = Emitter(
            self._collect, self.clock, timestamps=timestamps, cdrs=cdrs,
            device_states=device_states, device_exists=self.dialplan.device_exists,
        )  # fmt: skip
        self.calls: dict[str, CallHandle] = {}
        #: campaign calls (``Originate`` into ``cti-campaign``): population and agents
        self.campaign = campaign or Campaign()
        self.dialled = Dialled(self.campaign.population)
        #: PJSIP endpoints a campaign route may dial through (``PJSIP/<number>@trunk``)
        self.trunks = frozenset(trunks)
        self.floor = Floor(self)
        #: IVR survey calls run ``AGI()`` against this FastAGI server (``None``: replayed)
        self.live_agi = agi
        #: the phone of an agent that joins by ``QueueAdd`` without being configured
        self.default_agent = AgentProfile()
        for state in self.queues.values():
            for ext in state.members:
                member = state.member(ext)
                member.login_time = member.login_time or int(self.clock())
        #: global variables set by ``Setvar`` without a channel
        self.globals: dict[str, str] = {}
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
        self.floor.close()
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
        narrowed: dict[tuple[EventFilter, ...], bytes] = {}
        for client in list(self._clients):
            filters = getattr(client, "filters", ())
            if not filters:
                client.send_events(data)
                continue
            if filters not in narrowed:
                kept = [m for m in self._pending if passes(filters, m)]
                narrowed[filters] = "".join(kept).encode()
            if narrowed[filters]:
                client.send_events(narrowed[filters])
        self._pending.clear()

    def flush(self) -> None:
        """Push pending events out now (before an action response, to keep causal order)."""
        self._flush()

    def add_client(self, client: Any) -> None:
        self._clients.add(client)

    def remove_client(self, client: Any) -> None:
        self._clients.discard(client)

    @property
    def listeners(self) -> int:
        """AMI sessions receiving events now."""
        return len(self._clients)

    @property
    def active_calls(self) -> int:
        return len(self.calls)

    # -- calls --------------------------------------------------------------------------
    def context(self, handle: CallHandle) -> CallContext:
        """A new call's context (its races pinned when the simulator was given some)."""
        ctx = CallContext(
            self.emitter, handle, self.agents, self.queues, self.time_scale, self.dialer_agent,
            dialplan=self.dialplan,
        )  # fmt: skip
        if self.races is not None:
            ctx.races, ctx.pinned = self.races, True
        return ctx

    def register(self, handle: CallHandle, one: Channel) -> None:
        """The call's first channel exists: it is a live call, found by its Linkedid."""
        handle.linkedid = one.call_id
        self.calls[handle.linkedid] = handle

    async def _run(self, handle: CallHandle, ctx: CallContext, script: Script) -> None:
        current: Script | None = script
        try:
            while current is not None:
                try:
                    await current
                    current = None
                except Interrupted:
                    take, handle.takeover = handle.takeover, None
                    handle._wake.clear()
                    ctx.deferred.clear()  # the script's steps to come will not happen
                    current = take_over(ctx, take) if take is not None else None
            ctx.flush()
        except asyncio.CancelledError:
            if handle.linkedid:
                teardown(self.emitter, handle.linkedid)
            raise
        except Exception:
            log.exception("pbxsim: call %s failed; hanging it up", handle.linkedid)
            if handle.linkedid:
                teardown(self.emitter, handle.linkedid)
        finally:
            self.calls.pop(handle.linkedid, None)
            if not handle.done.done():
                handle.done.set_result(None)

    def originate(self, req: Originate) -> CallHandle:
        """Run an AMI ``Originate`` (the caller already got ``Originate successfully queued``)."""
        handle = CallHandle(req)
        ctx = self.context(handle)
        self._start(handle, ctx, originate_script(self, ctx, req))
        return handle

    async def place_call(self, spec: CallSpec) -> CallHandle:
        """Start a simulated call now; the handle already knows its Linkedid."""
        handle = CallHandle(spec)
        ctx = self.context(handle)
        self._start(handle, ctx, spec_script(self, ctx, spec))
        return handle

    def _start(self, handle: CallHandle, ctx: CallContext, script: Script | None) -> None:
        """The call's first events were emitted synchronously; run the rest as a task."""
        if script is None:
            ctx.flush()
            self.calls.pop(handle.linkedid, None)
            handle.done.set_result(None)
            return
        task = asyncio.get_running_loop().create_task(self._run(handle, ctx, script))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def find_call(self, channel: str) -> tuple[Channel, CallHandle] | None:
        ch = self.emitter.channels.get(channel)
        if ch is None:
            return None
        handle = self.calls.get(ch.call_id)
        return (ch, handle) if handle is not None else None

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
