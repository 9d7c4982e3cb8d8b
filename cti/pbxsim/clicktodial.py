"""Click-to-dial: an ``Originate`` of ``Local/<agent>@agents`` into ``outbound`` (or cti's
``cti-outbound``): the agent's phone rings first; answered, the number is dialled.

Recordings: click-to-dial-answered (the agent hangs up first), click-to-dial-congestion
(the trunk says congestion) and click-to-dial-noroute (``cti-outbound``'s ``_X.``: no
route, ``Hangup(1)`` inside the PBX). The agent's phone goes on to its ``Wait`` on a
thread of its own (``agent-wait``): a call that fails at once never shows it.
"""

from __future__ import annotations

from cti.pbxsim.calls import CallContext, Originate, Outcome, Races
from cti.pbxsim.channels import Channel
from cti.pbxsim.dialplan import CTI_OUTBOUND, PSTN, matches
from cti.pbxsim.endings import callee_hangs_up, caller_ends, dialler_hangs_up
from cti.pbxsim.legs import Plan, agent_answers, agent_pair, agent_rings, dial_begin, dial_vars
from cti.pbxsim.outbound import leg_fails

#: thread interleavings of the three recordings (see ``Races``)
ANSWERED = Races(
    {"ctd.rung": ("dsc",), "ctd.answering": ("respond",), "ctd.dial-end": ("dsc2",),
     "pstn.waiting": ("dsc",), "pstn.callee-in": ("dsc2",), "dialled.gone": ("dsc3",)},
    frozenset({"pstn.late-begin"}),
)  # fmt: skip
CONGESTION = Races(
    {"ctd.ringing": ("dsc",), "ctd.set": ("respond", "dsc2"), "pstn.rejected": ("dsc",),
     "pstn.gone": ("dsc2",), "end.asked": ("end.two-soft", "end.one", "end.two")},
    frozenset({"ctd.wait-late"}),
)  # fmt: skip
NO_ROUTE = Races({"ctd.rung": ("dsc",), "ctd.up": ("dsc", "respond"), "ctd.dial-end": ("dsc",)})
#: what the trunk answers for a number that fails (``Busy``/``Congestion`` apps, Dial status)
_FAILURES = {"busy": ("Busy", "BUSY", 17), "congestion": ("Congestion", "CONGESTION", 34)}


def routed(context: str, number: str) -> bool:
    """Whether the click-to-dial context sends ``number`` out (else ``cti-outbound``'s
    no-route branch takes it)."""
    return context != CTI_OUTBOUND or matches("_7X.", number)


def races(req: Originate, outcome: Outcome) -> Races:
    """The recorded interleaving for this click-to-dial."""
    if not routed(req.context, req.exten):
        return NO_ROUTE
    return ANSWERED if outcome == "answer" else CONGESTION


async def click_to_dial(
    ctx: CallContext, req: Originate, a1: Channel, a2: Channel, outcome: Outcome, remote: Plan
) -> None:
    """Ring the agent; once it answers, ``req.context`` dials ``req.exten`` (``remote``:
    how the number rings and talks)."""
    e = ctx.e
    prof = ctx.agent(a1.exten)
    sends = routed(req.context, req.exten)
    e.newexten(a2, "Ringing", "")
    e.newstate(a1, 5)
    ctx.slot("ctd.ringing")
    if not ctx.races.has("ctd.wait-late"):
        e.newexten(a2, "Wait", f"{prof.ring_seconds:g}", priority=2)
    e.dialstate(None, a1)
    if ctx.races.has("ctd.wait-late"):
        e.newexten(a2, "Wait", f"{prof.ring_seconds:g}", priority=2)
    ctx.slot("ctd.rung")
    if not prof.answers:  # the agent's phone rings out: the Originate times out
        await ctx.sleep(req.timeout)
        leg_fails(ctx, req, a1, a2, "no-answer")
        return
    await ctx.sleep(prof.ring_seconds)
    ctx.slot("ctd.answering")
    e.newexten(a2, "Answer", "", priority=3)
    e.newstate(a2, 6)
    ctx.slot("ctd.up")
    e.newstate(a1, 6)
    e.dialend(None, a1, "ANSWER")
    ctx.slot("ctd.dial-end")
    ctx.due("respond")
    ctx.defer("agent-wait", lambda: e.newexten(a2, "Wait", f"{prof.talk_seconds:g}", priority=4))
    e.goto(a1, req.context, req.exten)
    if not sends:
        e.newexten(a1, "NoOp", f"No route to {req.exten}")
        e.newexten(a1, "Hangup", "1", priority=2)
        ctx.drop("agent-wait")
        caller_ends(ctx, a1, a2, cause=1)
        return
    priority = 1
    if req.context != CTI_OUTBOUND:
        e.newexten(a1, "NoOp", f"Click-to-call to {req.exten}")
        ctx.slot("ctd.noop")
        e.newexten(a1, "Set", "CDR(userfield)=click2call", priority=2)
        a1.userfield = "click2call"
        ctx.slot("ctd.set")
        priority = 3
    e.newexten(a1, "Dial", f"Local/{req.exten}@{PSTN},20", priority=priority)
    ctx.emit("respond")  # every recording had it by then
    dial_vars(e, a1)
    dial_start = e.clock()
    late = ctx.races.has("pstn.late-begin") or outcome in _FAILURES
    p1, p2 = agent_pair(ctx, a1, req.exten, PSTN, begin=not late)
    if outcome in _FAILURES:
        ctx.drop("agent-wait")
        _rejected(ctx, a1, p1, p2, outcome, priority)
        caller_ends(ctx, a1, a2)
        return
    answers = outcome == "answer"
    agent_rings(ctx, a1, p1, p2, remote.ring if answers else 120, answers, key="pstn")
    ctx.due("agent-wait")
    if not answers:
        await ctx.sleep(20.0)
        e.dialend(a1, p1, "NOANSWER")
        e.hanguprequest(p2)
        e.hangup(p1)
        e.softhanguprequest(p2)
        e.hangup(p2)
        e.varset(a1, "DIALSTATUS", "NOANSWER")
        _after_dial(ctx, a1, "NOANSWER", priority)
        caller_ends(ctx, a1, a2)
        return
    await ctx.sleep(remote.ring)
    bridge = agent_answers(ctx, a1, p1, p2, remote.talk, key="pstn")
    answered = e.clock()
    # the agent's Wait started when it answered, a ring ago
    agent_left = max(0.0, prof.talk_seconds - remote.ring)
    await ctx.sleep(min(agent_left, remote.talk))
    if agent_left <= remote.talk:
        dialler_hangs_up(ctx, a1, a2, p1, p2, bridge, answered, dial_start)
    else:
        callee_hangs_up(ctx, a1, a2, p1, p2, bridge, answered, dial_start)


def _rejected(
    ctx: CallContext, a1: Channel, p1: Channel, p2: Channel, outcome: Outcome, priority: int
) -> None:
    """The trunk refuses the number at once (click-to-dial-congestion)."""
    e = ctx.e
    app, status, cause = _FAILURES[outcome]
    e.newexten(p2, app, "5", priority=1)
    dial_begin(ctx, a1, p1)
    e.newstate(p2, 7)
    ctx.slot("pstn.rejected")
    e.dialend(a1, p1, status)
    e.hanguprequest(p2, 0)
    e.softhanguprequest(p2)
    e.hangup(p1, 0)
    e.varset(a1, "DIALSTATUS", status)
    _after_dial(ctx, a1, status, priority, cause, p2)


def _after_dial(
    ctx: CallContext, a1: Channel, status: str, priority: int, cause: int = 0,
    p2: Channel | None = None,
) -> None:  # fmt: skip
    """``Dial()`` returned: ``outbound`` logs the status, then both contexts hang up."""
    e = ctx.e
    if priority == 3:
        e.newexten(a1, "NoOp", f"DIALSTATUS={status}", priority=4)
    if p2 is not None:
        e.hangup(p2, cause)
        ctx.slot("pstn.gone")
    e.newexten(a1, "Hangup", "", priority=priority + 2 if priority == 3 else priority + 1)
