"""A queue member answers: the others are cancelled, the caller is bridged, the agent talks
and hangs up (``queue-answered``, ``ivr-then-queue``).

The cancelled members' phones, the answering member's channels and the bridge go away on
threads of their own; those steps are deferred (``others-soft.<ext>``, ``others-gone.<ext>``,
``others-free.<ext>``, ``agent-gone``, ``member-gone``, ``member-free``, ``destroy``) and
come out where queue-answered shows them unless a recording's races say otherwise.
"""

from __future__ import annotations

from functools import partial

from cti.pbxsim.calls import CallContext, QueueState
from cti.pbxsim.channels import Channel
from cti.pbxsim.endings import caller_ends
from cti.pbxsim.legs import Plan, dial_done_vars, ms_since, quote_cid
from cti.pbxsim.queue import (
    Legs,
    caller_event,
    caller_leaves,
    decide,
    gives_up,
    iface,
    join,
    label,
    leave,
    member_status,
    member_tail,
    queue_vars,
    ring_members,
)

MEMBER_VARS = ("MEMBERCALLS", "MEMBERLASTCALL", "MEMBERPENALTY", "MEMBERDYNAMIC", "MEMBERREALTIME")


async def answered(
    ctx: CallContext, q: QueueState, one: Channel, two: Channel, legs: Legs, answerer: str,
    plan: Plan, joined: float,
) -> None:  # fmt: skip
    """``answerer`` picks up after the ring; the call ends when the agent hangs up."""
    e = ctx.e
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    x1, x2 = legs[answerer]
    others = [ext for ext in q.members if ext != answerer]
    e.newexten(x2, "Answer", "", priority=3)
    e.newstate(x2, 6)
    ctx.slot("queue.up")
    e.newstate(x1, 6)
    ctx.slot("queue.up1")
    e.dialend(one, x1, "ANSWER")
    for ext in others:
        e.dialend(one, legs[ext][0], "CANCEL")
        e.dialend(one, legs[ext][0], "CANCEL")
    for ext in others:
        o1, o2 = legs[ext]
        e.hanguprequest(o2, 26)
        e.hangup(o1, 26)
        ctx.defer(f"others-soft.{ext}", partial(e.softhanguprequest, o2))
        ctx.defer(f"others-gone.{ext}", partial(e.hangup, o2, 26))
        ctx.defer(f"others-free.{ext}", partial(_member_free, ctx, q, ext, o2, src, cid))
    ctx.slot("queue.others-cut")
    hold = int(e.clock() - joined)
    if q.set_vars:
        member = (
            ("MEMBERINTERFACE", iface(q, answerer)),
            ("MEMBERNAME", label(q, answerer)),
            *((name, "0") for name in MEMBER_VARS),
        )
        for ch in (one, x1):
            for n, (name, value) in enumerate(member):
                e.varset(ch, name, value)
                if ch is x1:
                    ctx.slot(f"queue.agent-var.{n}")
        for ch in (one, x1):
            e.varset(ch, "QEHOLDTIME", str(hold))
            e.varset(ch, "QEORIGINALPOS", "1")
        for ch in (one, x1):
            queue_vars(e, ch, q, hold, 0)
    for ext in others:
        ctx.due(f"others-soft.{ext}")
    leave(ctx, q, one)
    e.varset(one, "QUEUEWAIT", str(hold))
    e.varset(one, "QUEUEWAIT_MS", str(ms_since(e, joined)))
    ctx.slot("queue.waited")
    tail = f"{member_tail(answerer, q)}HoldTime: {hold}\r\nRingTime: {int(plan.ring)}\r\n"
    caller_event(e, one, "AgentConnect", x1.block("Dest") + tail)
    bridge = e.bridge_create()
    e.bridge_enter(bridge, x1)
    for ext in others:
        ctx.due(f"others-gone.{ext}")
        ctx.due(f"others-free.{ext}")
    e.bridge_enter(bridge, one)
    e.varset(x1, "BRIDGEPEER", one.name)
    e.varset(one, "BRIDGEPEER", x1.name)
    e.newexten(x2, "Wait", f"{plan.talk:g}", priority=4)
    connected = e.clock()
    await ctx.sleep(plan.talk)
    talk = int(e.clock() - connected)
    e.newexten(x2, "Hangup", "", priority=5)
    e.softhanguprequest(x2)
    e.hanguprequest(x1)
    ctx.defer("agent-gone", partial(e.hangup, x2))
    ctx.due("agent-gone")
    tail = f"{member_tail(answerer, q)}HoldTime: {hold}\r\nTalkTime: {talk}\r\nReason: agent\r\n"
    caller_event(e, one, "AgentComplete", x1.block("Dest") + tail)
    e.varset(x1, "BRIDGEPEER", "")
    ctx.slot("queue.unbridging")
    e.varset(one, "BRIDGEPEER", "")
    e.bridge_leave(bridge, x1)
    q.completed += 1
    q.calls_taken[answerer] = q.calls_taken.get(answerer, 0) + 1
    q.last_call[answerer] = int(e.clock())
    ctx.defer("member-gone", partial(e.hangup, x1))
    ctx.due("member-gone")
    ctx.defer("member-free", partial(member_status, e, q, answerer, 1))
    ctx.due("member-free")
    e.bridge_leave(bridge, one)
    ctx.defer("destroy", partial(e.bridge_destroy, bridge))
    ctx.due("destroy")
    if q.set_vars:
        queue_vars(e, one, q, hold, talk)
    dial_done_vars(e, one, ms_since(e, connected), ms_since(e, joined))
    if q.set_vars:
        queue_vars(e, one, q, hold, talk)

    def cdrs() -> None:
        e.cdr(x2, source=src, caller_id=cid)
        e.cdr(one, source=src, caller_id=cid, dest_channel=x1.name)
        for ext in others:
            e.cdr(one, source=src, caller_id=cid, dest_channel=legs[ext][0].name,
                  disposition="NO ANSWER")  # fmt: skip

    caller_ends(ctx, one, two, cdrs)


def _member_free(
    ctx: CallContext, q: QueueState, ext: str, o2: Channel, src: str, cid: str
) -> None:
    member_status(ctx.e, q, ext, 1)
    ctx.e.cdr(o2, source=src, caller_id=cid)


async def run_queue(
    ctx: CallContext, q: QueueState, one: Channel, two: Channel, plan: Plan,
    answerer: str | None, queue_timeout: float | None,
) -> str:  # fmt: skip
    """``Queue()`` from the caller's join to its end; returns how it ended (``answered``,
    ``timeout``: the dialplan goes on; ``abandoned``: the caller is gone)."""
    joined = join(ctx, q, one)
    try:
        outcome, after = decide(plan, answerer, queue_timeout)
        legs = ring_members(ctx, q, one, answerer if outcome == "answered" else None, plan)
        await ctx.sleep(after)
        if outcome == "answered" and answerer is not None:
            await answered(ctx, q, one, two, legs, answerer, plan, joined)
        elif outcome == "timeout":
            gives_up(ctx, q, one, legs, joined)
        else:
            caller_leaves(ctx, q, one, two, legs, joined)
        return outcome
    finally:
        if one in q.waiting:
            q.waiting.remove(one)
