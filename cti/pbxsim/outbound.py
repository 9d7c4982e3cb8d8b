"""Scenario scripts of outbound calls: the dialer's ``Originate`` of ``Local/<number>@pstn``.

Dialer calls follow ``outbound-answered`` / ``-busy`` / ``-noanswer`` of the shared lab
(the no-answer case keeps Asterisk's quirk: a ``DialBegin`` that never gets its
``DialEnd``) and cti's ``outbound-congestion`` / ``outbound-invalid``.
"""

from __future__ import annotations

from cti.pbxsim.calls import REASON, CallContext, CallHandle, Originate, Outcome, Races
from cti.pbxsim.channels import Channel, Emitter
from cti.pbxsim.dialplan import AGENTS
from cti.pbxsim.endings import dialler_hangs_up
from cti.pbxsim.legs import (
    Plan,
    agent_answers,
    agent_pair,
    agent_rings,
    dial_vars,
    fail,
    quote_cid,
    respond,
)

_DISPOSITION = {"busy": "BUSY", "congestion": "FAILED", "no-answer": "NO ANSWER"}
#: outbound-congestion: the device-state thread ran after the busy state and each hangup
CONGESTION = Races({"rejected": ("dsc",), "one-gone": ("dsc",)})


def races(outcome: Outcome) -> Races:
    """The recorded interleaving of a dialer call with this outcome."""
    return CONGESTION if outcome == "congestion" else Races()


def leg_fails(ctx: CallContext, req: Originate, p1: Channel, p2: Channel, outcome: Outcome) -> None:
    """Busy / congestion / no-answer of an originated Local pair (the dialer's number, or
    the phone click-to-dial rings first): the Originate fails with the matching Reason."""
    e = ctx.e
    reason = REASON[outcome]
    src, cid = p1.cid_num, quote_cid(p1.cid_num, p1.cid_name)
    disp = _DISPOSITION.get(outcome, "FAILED")
    if outcome == "no-answer":
        e.hanguprequest(p2, 19)
        e.softhanguprequest(p2)
        e.cdr(p2, source=src, caller_id=cid, disposition=disp)
        e.cdr(p1, source=src, caller_id=cid, disposition=disp)
        fail(ctx, req, reason)
        e.hangup(p2, 19)
        e.hangup(p1, 19)
        return
    e.hanguprequest(p2, 0)
    e.cdr(p2, source=src, caller_id=cid, disposition=disp)
    if outcome == "busy":  # outbound-busy; outbound-congestion saw the phone's side later
        e.softhanguprequest(p2)
    e.cdr(p1, source=src, caller_id=cid, disposition=disp)
    fail(ctx, req, reason)
    e.hangup(p1, 0)
    ctx.slot("one-gone")
    if outcome != "busy":
        e.softhanguprequest(p2)
    e.hangup(p2, 17 if outcome == "busy" else 34)


async def dialer_call(
    ctx: CallContext, req: Originate, p1: Channel, p2: Channel, outcome: Outcome, plan: Plan
) -> None:
    """``Local/<number>@pstn`` answered → ``dialer-connected`` dials the agent (outbound-*)."""
    e = ctx.e
    if outcome in ("busy", "congestion"):
        e.newexten(p2, "Busy" if outcome == "busy" else "Congestion", "5")
        e.newstate(p2, 7)  # both apps set the state Busy on a channel not yet up
        ctx.slot("rejected")
        e.dialend(None, p1, outcome.upper())
        leg_fails(ctx, req, p1, p2, outcome)
        return
    e.newexten(p2, "Ringing", "")
    e.newstate(p1, 5)
    e.newexten(p2, "Wait", "120" if outcome == "no-answer" else f"{plan.ring:g}", priority=2)
    e.dialstate(None, p1)
    if outcome == "no-answer":
        await ctx.sleep(req.timeout)
        leg_fails(ctx, req, p1, p2, outcome)
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
    ctx.due("respond")
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
    dialler_hangs_up(ctx, p1, p2, a1, a2, bridge, answered, dial_start)


def respond_invalid(e: Emitter, req: Originate, handle: CallHandle) -> None:
    """No channel could be created (unknown technology): Reason 0, nothing else."""
    handle.reason = 0
    respond(e, req, None, 0)


def missing_extension(ctx: CallContext, req: Originate, one: Channel, two: Channel) -> None:
    """``Local/<exten>@<context>`` whose extension does not exist (outbound-invalid): the
    pair was set up, but dialling it fails at once and both halves go (cause 0)."""
    e = ctx.e
    e.hangup(two, 0)
    fail(ctx, req, 0)
    e.hangup(one, 0)
