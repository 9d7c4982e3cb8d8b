"""Campaign agents as app_queue sees them: who may be rung now, and membership changes.

:class:`Floor` hands a waiting caller the member to ring (``leastrecent``: the free one
idle longest): a member is free when it is in the queue, not paused, not on a call and its
queue's ``wrapuptime`` since its last call has passed. As in Asterisk, wrap-up sends no
event of its own: the member's ``QueueMemberStatus`` after the call says ``Status: 1`` with
``LastCall`` and ``Wrapuptime``; a client derives "wrapping up until LastCall + Wrapuptime".
``QueueAdd``, ``QueueRemove`` and ``QueuePause`` change members here; a member's interface
may name any technology (``PJSIP/101``): the events echo it, the simulator rings its own
``Local/101@agents`` phone and reports that device's states under the given name
(:func:`add`, :func:`remove`, :func:`pause`) and send app_queue's events.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import TYPE_CHECKING

from cti.pbxsim.calls import CallContext, Interrupted, Member, QueueState
from cti.pbxsim.queue import iface, interface, member_event

if TYPE_CHECKING:
    from cti.pbxsim.server import PbxSimulator


class Floor:
    """The simulator's campaign agents: busy ones, ones in wrap-up, callers waiting."""

    def __init__(self, sim: PbxSimulator) -> None:
        self.sim = sim
        #: agents ringing or on a call (any queue)
        self.busy: set[str] = set()
        #: agents in wrap-up (any queue), until their timer fires
        self.wrapping: dict[str, asyncio.TimerHandle] = {}
        #: agent → simulated time its last call ended (``leastrecent`` order)
        self.idle_since: dict[str, float] = {}
        self._waiting: dict[str, deque[asyncio.Future[str]]] = {}

    def free(self, q: QueueState) -> list[str]:
        """``q``'s members that may be rung now, idle longest first."""
        ready = [
            ext
            for ext in q.members
            if ext not in self.busy and ext not in self.wrapping and not q.member(ext).paused
        ]
        return sorted(ready, key=lambda ext: self.idle_since.get(ext, 0.0))

    def dispatch(self) -> None:
        """Give free members to the callers waiting longest, queue by queue."""
        for name, waiters in self._waiting.items():
            q = self.sim.queues.get(name)
            while waiters and q is not None:
                free = self.free(q)
                if not free:
                    break
                fut = waiters.popleft()
                if not fut.done():
                    self.busy.add(free[0])
                    fut.set_result(free[0])

    async def acquire(self, ctx: CallContext, q: QueueState, seconds: float) -> str | None:
        """Wait up to ``seconds`` (simulated) for a member of ``q``; the member is then
        busy until :meth:`release`. ``None``: none came free in time. Raises
        :class:`Interrupted` when an AMI action takes the call over meanwhile."""
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        waiters = self._waiting.setdefault(q.name, deque())
        waiters.append(fut)
        self.dispatch()
        if not fut.done():
            wake = asyncio.ensure_future(ctx.handle._wake.wait())
            try:
                await asyncio.wait((fut, wake), timeout=max(0.0, seconds * ctx.time_scale),
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            finally:
                wake.cancel()
        if not fut.done():
            fut.cancel()
            if fut in waiters:
                waiters.remove(fut)
            if ctx.handle._wake.is_set():
                raise Interrupted
            return None
        ext = fut.result()
        if ctx.handle._wake.is_set():
            self.release(ext, 0.0)
            raise Interrupted
        return ext

    def release(self, ext: str, wrapup: float) -> None:
        """``ext``'s call ended: free again after ``wrapup`` simulated seconds."""
        self.busy.discard(ext)
        self.idle_since[ext] = self.sim.clock()
        if wrapup > 0 and self.sim.time_scale > 0:
            loop = asyncio.get_running_loop()
            old = self.wrapping.pop(ext, None)
            if old is not None:
                old.cancel()
            self.wrapping[ext] = loop.call_later(wrapup * self.sim.time_scale, self._wrapped, ext)
        self.dispatch()

    def _wrapped(self, ext: str) -> None:
        self.wrapping.pop(ext, None)
        self.dispatch()

    def close(self) -> None:
        for handle in self.wrapping.values():
            handle.cancel()
        self.wrapping.clear()
        for waiters in self._waiting.values():
            for fut in waiters:
                fut.cancel()
        self._waiting.clear()


_INTERFACE = re.compile(r"^(?:Local/([\w+*#]+)@[\w.\-]+|[A-Za-z0-9]+/([\w+*#]+))$")


def member_ext(interface: str) -> str | None:
    """The agent extension of a member interface (``Local/<ext>@<context>`` or
    ``<TECH>/<ext>``, such as ``PJSIP/101``), else None."""
    match = _INTERFACE.match(interface)
    return (match.group(1) or match.group(2)) if match else None


def status_of(sim: PbxSimulator, ext: str) -> int:
    """The member's device state as app_queue reports it (1 not in use, 2 in use)."""
    return 2 if any(ch.agent == ext for ch in sim.emitter.channels.values()) else 1


def add(
    sim: PbxSimulator, q: QueueState, ext: str, *, iface: str = "", name: str = "",
    penalty: int = 0, paused: bool = False, reason: str = "",
) -> None:  # fmt: skip
    """``QueueAdd``: a dynamic member joins (``QueueMemberAdded``). Its phone is the
    simulator's ``Local/<ext>@agents``, whose device states then carry ``iface``'s name."""
    now = int(sim.clock())
    iface = "" if iface == interface(ext) else iface
    q.members.append(ext)
    q.info[ext] = Member("dynamic", penalty, paused, reason if paused else "",
                         now if paused else 0, now, iface, name)  # fmt: skip
    if iface:
        sim.emitter.aliases[interface(ext)] = iface
    sim.agents.setdefault(ext, sim.default_agent)
    _pause_state(sim, q, ext)
    member_event(sim.emitter, "QueueMemberAdded", q, ext, status_of(sim, ext))
    sim.floor.dispatch()


def remove(sim: PbxSimulator, q: QueueState, ext: str) -> None:
    """``QueueRemove``: the member leaves (``QueueMemberRemoved``)."""
    member_event(sim.emitter, "QueueMemberRemoved", q, ext, status_of(sim, ext))
    q.members.remove(ext)
    q.info.pop(ext, None)
    if not any(ext in other.members for other in sim.queues.values()):
        sim.emitter.aliases.pop(interface(ext), None)


def pause(sim: PbxSimulator, q: QueueState, ext: str, paused: bool, reason: str) -> None:
    """``QueuePause``: (un)pause the member (``QueueMemberPause``); a reason is kept only
    while paused, as app_queue does."""
    m = q.member(ext)
    m.paused = paused
    m.reason = reason if paused else ""
    if paused:
        m.last_pause = int(sim.clock())
    _pause_state(sim, q, ext)
    member_event(sim.emitter, "QueueMemberPause", q, ext, status_of(sim, ext))
    if not paused:
        sim.floor.dispatch()


def _pause_state(sim: PbxSimulator, q: QueueState, ext: str) -> None:
    """app_queue's ``Queue:<queue>_pause_<interface>`` device: in use while paused."""
    state = "INUSE" if q.member(ext).paused else "NOT_INUSE"
    sim.emitter.queue_state(f"Queue:{q.name}_pause_{iface(q, ext)}", state)
