"""cti-inbound ``_1XX``: ``Dial(Local/${EXTEN}@cti-agents,30,tT)``, an agent who may transfer.

The agent transfers the caller with AMI ``BlindTransfer`` (blind-transfer: the caller
re-enters ``cti-transfer`` and dials the target there) or with ``Atxfer`` and then a
``Hangup`` of its own channel (attended-transfer; blonde-transfer when the target still
rings, :mod:`cti.pbxsim.atxfer`). A :class:`~cti.pbxsim.calls.TransferCall` spec plays the
same code, the script taking the agent's part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cti.pbxsim.atxfer import attended_transfer
from cti.pbxsim.calls import CallContext, Originate, Races, Takeover
from cti.pbxsim.channels import Bridge, Channel
from cti.pbxsim.dialplan import AGENTS, CTI_AGENTS, CTI_TRANSFER
from cti.pbxsim.endings import callee_hangs_up, caller_ends
from cti.pbxsim.inbound import dial_agent
from cti.pbxsim.legs import (
    Plan,
    agent_answers,
    agent_pair,
    agent_rings,
    customer_answers,
    customer_waits,
    dial_vars,
    quote_cid,
)
from cti.pbxsim.takeover import blind_transfer_event, drop_leg

#: thread interleavings of the three recordings (see ``Races``); attended-transfer's is the
#: default, as a call may turn into any of them only after it was answered
BLIND = Races(
    {"agent.waiting": ("respond", "dsc3"), "agent.bridge": ("dsc",), "agent.bridged": ("dsc",),
     "target.begun": ("dsc2",), "target.rung": ("dsc",), "target.up": ("dsc",),
     "target.entered": ("blind-clear", "dsc"), "end.one-gone": ("destroy",)},
    frozenset({"agent.late-begin", "target.wait-late"}),
)  # fmt: skip
ATTENDED = Races({
    "dial-end": ("dsc", "respond"), "first": ("dsc",), "agent.rung": ("dsc",),
    "agent.bridged": ("dsc2",), "consult.rung": ("dsc",), "consult.answered": ("dsc2",),
    "end.hangup": ("target-callerid",), "end.unbridged": ("dsc",),
    "end.dialstatus": ("callee-gone",), "end.two-gone": ("two-callerid",),
})  # fmt: skip
BLONDE = Races(
    {"one-up": ("respond", "dsc"), "dialing": ("dsc",), "agent.waiting": ("dsc",),
     "agent.answered": ("dsc",), "agent.peer": ("dsc",), "consult.rung": ("dsc",),
     "xfer.cut": ("xfer.soft", "xfer.gone"), "xfer.joined": ("xfer.ncl-target", "dsc"),
     "blonde.answer": ("target-callerid",), "blonde.up": ("xfer.done", "dsc3"),
     "end.unbridged": ("dsc",), "end.done-vars": ("dsc",),
     "end.asked": ("end.two-soft", "end.two", "end.one"), "end.two-gone": ("two-callerid",)},
)  # fmt: skip
TransferKind = Literal["blind", "attended", "blonde"]
RACES: dict[TransferKind, Races] = {"blind": BLIND, "attended": ATTENDED, "blonde": BLONDE}


@dataclass(frozen=True, slots=True)
class Transfer:
    """The agent's part when the simulator plays it: transfer to ``target`` after ``after``
    seconds of talk; an attended transfer completes ``consult`` seconds after the target
    answered, a blonde one ``consult`` seconds after the target started ringing."""

    kind: TransferKind
    target: str
    after: float
    consult: float = 1.0


async def agent_call(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, plan: Plan,
    scripted: Transfer | None = None,
) -> None:  # fmt: skip
    """The caller reaches agent ``req.exten``; the agent answers, talks, and either hangs
    up or transfers the caller (by AMI action or as ``scripted``)."""
    e = ctx.e
    ext = req.exten
    ctx.handle.accepts = frozenset({"blind", "atxfer"})
    cid = quote_cid(one.cid_num, one.cid_name)
    customer_answers(ctx, req, one, two, ("NoOp", f"Inbound call from {cid} to agent {ext}"))
    customer_waits(ctx, two)
    e.newexten(one, "Dial", f"Local/{ext}@{CTI_AGENTS},30,tT", priority=2)
    ctx.slot("dialing")
    dial_vars(e, one)
    begin = not ctx.races.has("agent.late-begin")
    leg = await dial_agent(ctx, one, two, ext, CTI_AGENTS, plan, begin=begin)
    if leg is None:
        return
    a1, a2, bridge, answered_at, dial_start = leg
    take = await _agent_talks(ctx, a1, plan.talk, scripted)
    ctx.handle.accepts = frozenset()  # the agent's features end with its part in the call
    if take is None:
        callee_hangs_up(ctx, one, two, a1, a2, bridge, answered_at, dial_start)
    elif take.kind == "blind":
        await blind_transfer(ctx, one, two, a1, a2, bridge, take)
    else:
        hangup_after = None if scripted is None else scripted.consult
        blonde = scripted is not None and scripted.kind == "blonde"
        await attended_transfer(
            ctx, one, two, a1, a2, bridge, take, answered_at, dial_start, hangup_after, blonde
        )


async def _agent_talks(
    ctx: CallContext, a1: Channel, talk: float, scripted: Transfer | None
) -> Takeover | None:
    """Until the agent hangs up (``None``) or transfers (the takeover that says how)."""
    if scripted is None or scripted.after >= talk:
        return await ctx.wait(talk, "blind", "atxfer", channel=a1.name)
    take = await ctx.wait(scripted.after, "blind", "atxfer", channel=a1.name)
    if take is not None:
        return take
    kind: Literal["blind", "atxfer"] = "blind" if scripted.kind == "blind" else "atxfer"
    return Takeover(kind, a1.name, scripted.target, CTI_TRANSFER if kind == "blind" else "")


async def blind_transfer(
    ctx: CallContext, one: Channel, two: Channel, a1: Channel, a2: Channel, bridge: Bridge,
    take: Takeover,
) -> None:  # fmt: skip
    """``BlindTransfer`` of the agent's channel: the caller leaves the bridge, the agent's
    leg hangs up, and the caller runs ``take.context`` (``cti-transfer``: it dials the
    target at ``cti-agents``)."""
    e = ctx.e
    target, context = take.exten, take.context or CTI_TRANSFER
    e.hold(a1, on=False)
    e.varset(one, "BLINDTRANSFER", a1.name)
    e.varset(a1, "BLINDTRANSFER", one.name)
    e.varset(a1, "BRIDGEPEER", "")
    blind_transfer_event(e, a1, one, bridge, context, target)
    e.varset(one, "BRIDGEPEER", "")
    e.goto(one, context, target)
    e.newexten(one, one.application, one.app_data)  # as sent: the app it was running
    e.bridge_leave(bridge, one)
    e.bridge_leave(bridge, a1)
    e.hanguprequest(a2)
    e.softhanguprequest(a2)
    e.hangup(a2)
    e.hangup(a1)
    e.bridge_destroy(bridge)
    e.varset(one, "DIALSTATUS", "ANSWER")
    phones = CTI_AGENTS if context == CTI_TRANSFER else AGENTS
    if context != CTI_TRANSFER:
        e.newexten(one, "NoOp", f"Blind transfer target {target}")
        e.newexten(one, "Dial", f"Local/{target}@{AGENTS},30", priority=2)
    dial_vars(e, one)
    dial_start = e.clock()
    t1, t2 = agent_pair(ctx, one, target, phones)
    ctx.slot("target.begun")
    prof = ctx.phone(phones, target)
    agent_rings(ctx, one, t1, t2, prof.ring_seconds, prof.answers, key="target")
    if not prof.answers:
        await ctx.sleep(30.0)
        e.dialend(one, t1, "NOANSWER")
        drop_leg(e, t1, t2, None)
        e.varset(one, "DIALSTATUS", "NOANSWER")
        e.newexten(one, "Hangup", "", priority=2 if context == CTI_TRANSFER else 3)
        caller_ends(ctx, one, two)
        return
    await ctx.sleep(prof.ring_seconds)
    ctx.defer("blind-clear", lambda: e.varset(one, "BLINDTRANSFER", ""))
    joined = agent_answers(ctx, one, t1, t2, prof.talk_seconds, key="target")
    ctx.due("blind-clear")
    answered_at = e.clock()
    await ctx.sleep(prof.talk_seconds)
    callee_hangs_up(ctx, one, two, t1, t2, joined, answered_at, dial_start)
