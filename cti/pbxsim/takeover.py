"""AMI actions that take a running lab call over: ``Hangup``, ``Redirect``, ``BlindTransfer``.

Scripts that know better handle a takeover themselves (``ctx.wait``: the cti-inbound calls
handle their agents' transfers); otherwise the simulator hangs the channel up
(:func:`teardown`) or moves it: the caller leaves its bridge, enters ``transfer-target``
(or the Redirect's context) and dials the target the way that context does.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from cti.pbxsim.calls import CallContext, Takeover
from cti.pbxsim.channels import Bridge, Channel, Emitter
from cti.pbxsim.dialplan import AGENTS
from cti.pbxsim.endings import callee_hangs_up, caller_ends
from cti.pbxsim.legs import Plan, agent_answers, agent_pair, agent_rings, dial_vars, quote_cid

TRANSFER_CONTEXT = "transfer-target"


def blind_transfer_event(
    e: Emitter, transferer: Channel, transferee: Channel, bridge: Bridge, context: str, exten: str
) -> None:
    """``BlindTransfer`` (the blind-transfer recording's shape): who, whom, bridge, where."""
    e.raw(
        f"{e.head('BlindTransfer', 'call,all')}Result: Success\r\n"
        f"{transferer.block('Transferer')}{transferee.block('Transferee')}"
        f"{e.bridge_fields(bridge)}IsExternal: Yes\r\nContext: {context}\r\n"
        f"Extension: {exten}\r\n\r\n"
    )


def drop_leg(e: Emitter, x1: Channel, x2: Channel, bridge: Bridge | None, cause: int = 16) -> None:
    """Hang up one Local pair (``;1`` leaves ``bridge`` first); used by transfers/takeovers."""
    src, cid = x1.cl_num, quote_cid(x1.cl_num, x1.cl_name)
    if bridge is not None and x1 in bridge.members:
        e.bridge_leave(bridge, x1)
    e.softhanguprequest(x2, cause)
    e.hanguprequest(x1, cause)
    e.hangup(x2, cause)
    e.hangup(x1, cause)
    e.cdr(x2, source=src, caller_id=cid)


async def ring_target(
    ctx: CallContext, one: Channel, two: Channel, target: str, plan: Plan, *, announce: bool = True
) -> None:
    """``one`` (the caller, out of any bridge) enters ``transfer-target``, dials ``target``."""
    e = ctx.e
    if announce:
        e.goto(one, TRANSFER_CONTEXT, target)
        e.newexten(one, "NoOp", f"Blind transfer target {target}")
        e.newexten(one, "Dial", f"Local/{target}@{AGENTS},30", priority=2)
    dial_vars(e, one)
    dial_start = e.clock()
    t1, t2 = agent_pair(ctx, one, target)
    agent_rings(ctx, one, t1, t2, plan.ring, plan.answers)
    if not plan.answers:
        await ctx.sleep(plan.patience)
        e.dialend(one, t1, "NOANSWER")
        drop_leg(e, t1, t2, None)
        e.varset(one, "DIALSTATUS", "NOANSWER")
        src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
        caller_ends(ctx, one, two, lambda: e.cdr(one, source=src, caller_id=cid))
        return
    await ctx.sleep(plan.ring)
    bridge = agent_answers(ctx, one, t1, t2, plan.talk)
    answered = e.clock()
    await ctx.sleep(plan.talk)
    callee_hangs_up(ctx, one, two, t1, t2, bridge, answered, dial_start)


def teardown(e: Emitter, call_id: str, first: str | None = None, cause: int = 16) -> None:
    """Hang up every live channel of a call (AMI ``Hangup`` or simulator stop)."""
    live = [ch for ch in e.channels.values() if ch.call_id == call_id]
    live.sort(key=lambda ch: ch.name != first)
    for ch in live:
        if ch.bridge is not None and ch.bridge in e.bridges:
            bridge = e.bridges[ch.bridge]
            e.bridge_leave(bridge, ch)
            if not bridge.members:
                e.bridge_destroy(bridge)
        e.softhanguprequest(ch, cause)
        e.hangup(ch, cause)
        e.cdr(ch, source=ch.cid_num, caller_id=quote_cid(ch.cid_num, ch.cid_name))
    for bridge in [b for b in e.bridges.values() if not b.members]:
        e.bridge_destroy(bridge)


def take_over(ctx: CallContext, take: Takeover) -> Coroutine[Any, Any, None] | None:
    """Carry out ``take`` on the call; return the script that plays the rest, if any."""
    e = ctx.e
    linkedid = ctx.handle.linkedid
    ch = e.channels.get(take.channel)
    if take.kind == "hangup" or ch is None:
        teardown(e, linkedid, take.channel, take.cause)
        return None
    mover = ch
    if take.kind == "blind" and ch.bridge in e.bridges:
        bridge = e.bridges[ch.bridge]
        others = [m for m in bridge.members if m is not ch]
        if others:
            mover = others[0]
            where = take.context or TRANSFER_CONTEXT
            blind_transfer_event(e, ch, mover, bridge, where, take.exten)
    if mover.peer is None or not mover.name.endswith(";1") or mover.agent is not None:
        teardown(e, linkedid, take.channel)
        return None
    for other in [c for c in e.channels.values() if c.call_id == linkedid]:
        if other in (mover, mover.peer) or not other.name.endswith(";1"):
            continue
        drop_leg(e, other, other.peer or other, e.bridges.get(other.bridge or ""))
    if mover.bridge in e.bridges:
        bridge = e.bridges[mover.bridge]
        e.bridge_leave(bridge, mover)
        if not bridge.members:
            e.bridge_destroy(bridge)
    target = take.exten
    if take.kind == "redirect":
        e.goto(mover, take.context or TRANSFER_CONTEXT, target)
        e.newexten(mover, "NoOp", f"Redirected to {target}")
        e.newexten(mover, "Dial", f"Local/{target}@{AGENTS},30", priority=2)
    prof = ctx.agent(target)
    plan = Plan(prof.ring_seconds, prof.talk_seconds, prof.answers, patience=30.0)
    announce = take.kind == "blind"
    return ring_target(ctx, mover, mover.peer, target, plan, announce=announce)
