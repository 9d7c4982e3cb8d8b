"""Scenario scripts: dialer and click-to-dial calls, transfers, and AMI takeovers.

Dialer calls follow ``outbound-answered`` / ``-busy`` / ``-noanswer`` (the no-answer case
keeps Asterisk's quirk: a ``DialBegin`` that never gets its ``DialEnd``). Transfers have no
asterisk22 recording; their ``BlindTransfer`` / ``AttendedTransfer`` events take cacofonisk's
shapes, with Local channels as in the asterisk22 lab (the transferred caller re-enters the
``transfer-target`` context and dials the target, as the lab dialplan does).
"""

from __future__ import annotations

from cti.pbxsim.calls import REASON, CallContext, CallHandle, Originate, Outcome, TransferCall
from cti.pbxsim.channels import Bridge, Channel, Emitter
from cti.pbxsim.inbound import (
    AGENTS,
    Plan,
    agent_answers,
    agent_pair,
    agent_rings,
    callee_hangs_up,
    customer_answers,
    dial_done_vars,
    dial_vars,
    ms_since,
    quote_cid,
    respond,
)

PSTN = "pstn"
TRANSFER_CONTEXT = "transfer-target"
_DISPOSITION = {"busy": "BUSY", "congestion": "FAILED", "no-answer": "NO ANSWER"}


def _failed_leg(
    ctx: CallContext, req: Originate, p1: Channel, p2: Channel, outcome: Outcome
) -> None:
    """Busy / congestion / no-answer of an originated ``Local/<number>@pstn`` leg."""
    e = ctx.e
    reason = REASON[outcome]
    ctx.handle.reason = reason
    src, cid = p1.cid_num, quote_cid(p1.cid_num, p1.cid_name)
    disp = _DISPOSITION.get(outcome, "FAILED")
    if outcome == "no-answer":
        e.hanguprequest(p2, 19)
        e.softhanguprequest(p2)
        e.cdr(p2, source=src, caller_id=cid, disposition=disp)
        e.cdr(p1, source=src, caller_id=cid, disposition=disp)
        respond(e, req, None, reason)
        e.hangup(p2, 19)
        e.hangup(p1, 19)
        return
    e.hanguprequest(p2, 0)
    e.cdr(p2, source=src, caller_id=cid, disposition=disp)
    e.softhanguprequest(p2)
    e.cdr(p1, source=src, caller_id=cid, disposition=disp)
    respond(e, req, None, reason)
    e.hangup(p1, 0)
    e.hangup(p2, 17 if outcome == "busy" else 34)


async def dialer_call(
    ctx: CallContext, req: Originate, p1: Channel, p2: Channel, outcome: Outcome, plan: Plan
) -> None:
    """``Local/<number>@pstn`` answered → ``dialer-connected`` dials the agent (outbound-*)."""
    e = ctx.e
    if outcome in ("busy", "congestion"):
        app = "Busy" if outcome == "busy" else "Congestion"
        e.newexten(p2, app, "5")
        if outcome == "busy":
            e.newstate(p2, 7)
        e.dialend(None, p1, outcome.upper())
        _failed_leg(ctx, req, p1, p2, outcome)
        return
    e.newexten(p2, "Ringing", "")
    e.newstate(p1, 5)
    e.newexten(p2, "Wait", "120" if outcome == "no-answer" else f"{plan.ring:g}", priority=2)
    e.dialstate(None, p1)
    if outcome == "no-answer":
        await ctx.sleep(req.timeout)
        _failed_leg(ctx, req, p1, p2, outcome)
        return
    await ctx.sleep(plan.ring)
    e.newexten(p2, "Answer", "", priority=3)
    e.newstate(p2, 6)
    e.newstate(p1, 6)
    e.dialend(None, p1, "ANSWER")
    e.goto(p1, req.context, req.exten)
    e.newexten(p1, "NoOp", f"Dialer call answered by {p1.cid_num}, connecting agent")
    e.newexten(p1, "Set", "CDR(userfield)=outbound", priority=2)
    p1.userfield = "outbound"
    ctx.handle.reason = 4
    respond(e, req, p1, 4)
    agent = ctx.dialer_agent
    prof = ctx.agent(agent)
    e.newexten(p1, "Dial", f"Local/{agent}@{AGENTS},20", priority=3)
    dial_vars(e, p1)
    dial_start = e.clock()
    a1, a2 = agent_pair(ctx, p1, agent)
    agent_rings(ctx, p1, a1, a2, prof.ring_seconds, True)
    e.newexten(p2, "Wait", f"{plan.talk:g}", priority=4)
    await ctx.sleep(prof.ring_seconds)
    bridge = agent_answers(ctx, p1, a1, a2, prof.talk_seconds)
    answered = e.clock()
    await ctx.sleep(max(0.0, plan.talk - prof.ring_seconds))
    _customer_hangs_up(e, p1, p2, a1, a2, bridge, answered, dial_start)


def _customer_hangs_up(
    e: Emitter, p1: Channel, p2: Channel, a1: Channel, a2: Channel, bridge: Bridge,
    answered: float, dial_start: float,
) -> None:  # fmt: skip
    """The called party (``;2`` of the pstn leg) hangs up while bridged to the agent."""
    src, cid = p1.cid_num, quote_cid(p1.cid_num, p1.cid_name)
    e.newexten(p2, "Hangup", "", priority=5)
    e.softhanguprequest(p2)
    e.hanguprequest(p1)
    e.hangup(p2)
    e.cdr(p2, source=src, caller_id=cid)
    e.varset(p1, "BRIDGEPEER", "")
    e.varset(a1, "BRIDGEPEER", "")
    e.bridge_leave(bridge, p1)
    dial_done_vars(e, p1, ms_since(e, answered), ms_since(e, dial_start))
    e.varset(p1, "DIALSTATUS", "ANSWER")
    e.softhanguprequest(p1)
    e.hangup(p1)
    e.bridge_leave(bridge, a1)
    e.bridge_destroy(bridge)
    e.hanguprequest(a2)
    e.hangup(a1)
    e.cdr(p1, source=src, caller_id=cid, dest_channel=a1.name)
    e.cdr(a2, source=src, caller_id=cid)
    e.softhanguprequest(a2)
    e.hangup(a2)


async def click_to_dial(
    ctx: CallContext, req: Originate, a1: Channel, a2: Channel, outcome: Outcome, plan: Plan
) -> None:
    """``Local/<ext>@agents`` rings the agent; answered, ``req.context`` dials the number."""
    e = ctx.e
    prof = ctx.agent(a1.exten)
    e.newexten(a2, "Ringing", "")
    e.newstate(a1, 5)
    e.newexten(a2, "Wait", f"{prof.ring_seconds:g}", priority=2)
    e.dialstate(None, a1)
    await ctx.sleep(prof.ring_seconds)
    e.newexten(a2, "Answer", "", priority=3)
    e.newstate(a2, 6)
    e.newstate(a1, 6)
    e.dialend(None, a1, "ANSWER")
    ctx.handle.reason = 4
    respond(e, req, a1, 4)
    e.goto(a1, req.context, req.exten)
    e.newexten(a1, "NoOp", f"Click-to-call to {req.exten}")
    e.newexten(a1, "Set", "CDR(userfield)=click2call", priority=2)
    a1.userfield = "click2call"
    e.newexten(a1, "Dial", f"Local/{req.exten}@{PSTN},20", priority=3)
    e.newexten(a2, "Wait", "3600", priority=4)
    dial_vars(e, a1)
    dial_start = e.clock()
    p1, p2 = agent_pair(ctx, a1, req.exten, PSTN)
    src, cid = a1.cid_num, quote_cid(a1.cid_num, a1.cid_name)
    if outcome in ("busy", "congestion", "invalid"):
        e.newexten(p2, "Busy" if outcome == "busy" else "Congestion", "5", priority=1)
        status = "BUSY" if outcome == "busy" else "CONGESTION"
        e.dialend(a1, p1, status)
        e.hanguprequest(p2, 0)
        e.hangup(p1, 0)
        e.hangup(p2, 17 if outcome == "busy" else 34)
        e.varset(a1, "DIALSTATUS", status)
        e.newexten(a1, "NoOp", f"DIALSTATUS={status}", priority=4)
    else:
        answers = outcome == "answer"
        agent_rings(ctx, a1, p1, p2, plan.ring if answers else 120, answers)
        if not answers:
            await ctx.sleep(req.timeout)
            e.dialend(a1, p1, "NOANSWER")
            e.hanguprequest(p2)
            e.hangup(p1)
            e.softhanguprequest(p2)
            e.hangup(p2)
            e.varset(a1, "DIALSTATUS", "NOANSWER")
            e.newexten(a1, "NoOp", "DIALSTATUS=NOANSWER", priority=4)
        else:
            await ctx.sleep(plan.ring)
            bridge = agent_answers(ctx, a1, p1, p2, plan.talk)
            answered = e.clock()
            await ctx.sleep(plan.talk)
            callee_hangs_up(e, a1, a2, p1, p2, bridge, answered, dial_start)
            return
    e.newexten(a1, "Hangup", "", priority=5)
    e.softhanguprequest(a1)
    e.hanguprequest(a2)
    e.hangup(a1)
    e.cdr(a2, source=src, caller_id=cid)
    e.softhanguprequest(a2)
    e.hangup(a2)


def blind_transfer_event(
    e: Emitter, transferer: Channel, transferee: Channel, bridge: Bridge, exten: str
) -> None:
    """``BlindTransfer`` (Asterisk 12+ shape): transferer, transferee, bridge, destination."""
    e.raw(
        f"{e.head('BlindTransfer', 'call,all')}Result: Success\r\n"
        f"{transferer.block('Transferer')}{transferee.block('Transferee')}"
        f"{e.bridge_fields(bridge)}IsExternal: Yes\r\nContext: {TRANSFER_CONTEXT}\r\n"
        f"Extension: {exten}\r\n\r\n"
    )


def attended_transfer_event(
    e: Emitter,
    orig: Channel,
    b1: Bridge,
    second: Channel,
    b2: Bridge,
    transferee: Channel,
    target: Channel,
) -> None:
    """``AttendedTransfer`` joining the two bridges (DestType ``Bridge``)."""
    e.raw(
        f"{e.head('AttendedTransfer', 'call,all')}Result: Success\r\n"
        f"{orig.block('OrigTransferer')}{e.bridge_fields(b1, 'OrigBridge')}"
        f"{second.block('SecondTransferer')}{e.bridge_fields(b2, 'SecondBridge')}"
        f"DestType: Bridge\r\nDestBridgeUniqueid: {b1.uniqueid}\r\n"
        f"{transferee.block('Transferee')}{target.block('TransferTarget')}IsExternal: No\r\n\r\n"
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
        _end_caller(e, one, two)
        return
    await ctx.sleep(plan.ring)
    bridge = agent_answers(ctx, one, t1, t2, plan.talk)
    answered = e.clock()
    await ctx.sleep(plan.talk)
    callee_hangs_up(e, one, two, t1, t2, bridge, answered, dial_start)


def _end_caller(e: Emitter, one: Channel, two: Channel) -> None:
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    e.softhanguprequest(one)
    e.hanguprequest(two)
    e.hangup(one)
    e.cdr(one, source=src, caller_id=cid)
    e.cdr(two, source=src, caller_id=cid)
    e.softhanguprequest(two)
    e.hangup(two)


async def attended(
    ctx: CallContext,
    one: Channel,
    two: Channel,
    a1: Channel,
    a2: Channel,
    bridge: Bridge,
    target: str,
) -> None:
    """Agent ``a`` consults ``target`` (its own Dial), then joins the caller to the target."""
    e = ctx.e
    prof = ctx.agent(target)
    e.newexten(a2, "Dial", f"Local/{target}@{AGENTS},30", priority=5)
    t1, t2 = agent_pair(ctx, a2, target)
    agent_rings(ctx, a2, t1, t2, prof.ring_seconds, True)
    await ctx.sleep(prof.ring_seconds)
    second = agent_answers(ctx, a2, t1, t2, prof.talk_seconds)
    await ctx.sleep(1.0)
    attended_transfer_event(e, a1, bridge, a2, second, one, t1)
    e.bridge_leave(second, t1)
    e.bridge_enter(bridge, t1)
    e.bridge_leave(second, a2)
    e.bridge_destroy(second)
    e.varset(one, "BRIDGEPEER", t1.name)
    drop_leg(e, a1, a2, bridge)
    answered = e.clock()
    await ctx.sleep(prof.talk_seconds)
    callee_hangs_up(e, one, two, t1, t2, bridge, answered, answered)


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


def respond_invalid(e: Emitter, req: Originate, handle: CallHandle) -> None:
    """No channel could be created (unknown technology/context): Reason 0, nothing else."""
    handle.reason = 0
    respond(e, req, None, 0)


async def transfer_call(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, spec: TransferCall
) -> None:
    """Inbound call to ``spec.to``, answered, then transferred (blind/attended) to the target."""
    e = ctx.e
    cid = quote_cid(one.cid_num, one.cid_name)
    noop = f"Inbound call from {cid} to agent {req.exten}"
    customer_answers(ctx, req, one, two, "dial_end", ("NoOp", noop))
    e.newexten(one, "Set", "CDR(userfield)=inbound", priority=2)
    one.userfield = "inbound"
    e.newexten(one, "Dial", f"Local/{req.exten}@{AGENTS},30", priority=3)
    dial_vars(e, one)
    a1, a2 = agent_pair(ctx, one, req.exten)
    agent_rings(ctx, one, a1, a2, spec.ring_seconds, True)
    e.newexten(two, "Wait", two.exten[1:], priority=2)
    await ctx.sleep(spec.ring_seconds)
    bridge = agent_answers(ctx, one, a1, a2, 30)
    await ctx.sleep(spec.talk_seconds)
    if spec.kind == "attended":
        await attended(ctx, one, two, a1, a2, bridge, spec.target)
        return
    blind_transfer_event(e, a1, one, bridge, spec.target)
    drop_leg(e, a1, a2, bridge)
    e.bridge_leave(bridge, one)
    e.bridge_destroy(bridge)
    prof = ctx.agent(spec.target)
    plan = Plan(spec.ring_seconds, spec.talk_seconds, prof.answers, patience=30.0)
    await ring_target(ctx, one, two, spec.target, plan)
