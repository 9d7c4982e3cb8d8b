"""A campaign dialer's call: ``Originate`` of ``Local/<number>@pstn`` into ``cti-campaign``.

The dialplan is the campaign lab's (``extensions_campaign.conf``, where cti's campaign
recordings were made), with ``AMD()`` first when the route runs answering-machine
detection::

    [cti-campaign]
    exten => s,1,NoOp(Campaign ${CTI_CAMPAIGN} attempt ${CTI_ATTEMPT}: answered, queue ${CTI_QUEUE})
     same => n,Queue(${CTI_QUEUE},,,,${CTI_CONNECT_LIMIT})
     same => n,NoOp(No agent within ${CTI_CONNECT_LIMIT} s: QUEUESTATUS=${QUEUESTATUS})
     same => n,ExecIf($["${CTI_ABANDON_MESSAGE}" != ""]?Playback(${CTI_ABANDON_MESSAGE}))
     same => n,Hangup()

The number's callee comes from the simulator's :class:`~cti.pbxsim.population.Population`.
Busy, congestion and no answer fail the Originate as the dialer recordings show
(:mod:`cti.pbxsim.outbound`); an invalid number is the lab's unallocated one
(``Hangup(1)`` in ``[pstn]``: Reason 0). An answered call joins the queue and waits for a
free agent (:class:`~cti.pbxsim.members.Floor`) for at most the connect limit and the
callee's patience. A free agent is rung alone (``leastrecent``) and answers after
:attr:`Campaign.agent_answer`; the rest is queue-answered's shape (AgentCalled, DialBegin,
AgentConnect, the bridge, AgentComplete), the agent hanging up after the callee's talk
time, then wrapping up for the queue's ``wrapuptime``. No agent in time: the
campaign-abandoned shape (``QueueCallerAbandon``, ``QUEUESTATUS=TIMEOUT``), then the
abandon message and the PBX hangs up; the callee hanging up first: queue-abandoned's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cti.pbxsim.calls import CallContext, Originate, QueueState
from cti.pbxsim.channels import Channel
from cti.pbxsim.endings import caller_ends
from cti.pbxsim.legs import Plan, fail
from cti.pbxsim.outbound import leg_fails
from cti.pbxsim.population import Callee, Population
from cti.pbxsim.queue import caller_leaves, decide, gives_up, join, ring_members
from cti.pbxsim.queue_answer import answered

if TYPE_CHECKING:
    from cti.pbxsim.server import PbxSimulator

CAMPAIGN = "cti-campaign"


@dataclass(frozen=True, slots=True)
class Campaign:
    """How campaign calls play out: the called ``population``; ``agent_answer``: s an
    agent's phone rings before the agent answers (auto-answer headsets: short);
    ``message_seconds``: length of the abandon message; ``connect_limit``: the Queue()
    timeout when the Originate sets no ``CTI_CONNECT_LIMIT``; ``amd``: the route runs
    ``AMD()`` on every answered call (also when the Originate sets ``CTI_AMD=1``), which
    takes ``amd_seconds`` and sets ``AMDSTATUS``: a machine is hung up, a person queued."""

    population: Population = field(default_factory=Population)
    agent_answer: float = 0.5
    message_seconds: float = 5.0
    connect_limit: float = 2.0
    amd: bool = False
    amd_seconds: float = 2.5


def variables(req: Originate) -> dict[str, str]:
    return dict(req.variables)


def unallocated(ctx: CallContext, req: Originate, p1: Channel, p2: Channel) -> None:
    """The network refuses the number before any answer (campaign-invalid: the lab's
    ``Hangup(1)`` in ``[pstn]``): cause 1 on both halves, Reason 0."""
    e = ctx.e
    e.newexten(p2, "Hangup", "1")
    e.softhanguprequest(p2)
    e.hanguprequest(p1, 1)
    e.hangup(p2, 1)
    e.dialend(None, p1, "NOANSWER")
    fail(ctx, req, 0)
    e.hangup(p1, 1)


async def campaign_call(
    sim: PbxSimulator, ctx: CallContext, req: Originate, p1: Channel, p2: Channel, callee: Callee
) -> None:
    """Ring the callee; answered, run ``[cti-campaign]`` on ``p1`` (see the module doc)."""
    e = ctx.e
    outcome = callee.outcome
    if outcome == "invalid":
        unallocated(ctx, req, p1, p2)
        return
    if outcome == "answer" and callee.ring >= req.timeout:
        outcome = "no-answer"
    if outcome in ("busy", "congestion"):
        e.newexten(p2, "Busy" if outcome == "busy" else "Congestion", "5")
        e.newstate(p2, 7)
        ctx.slot("rejected")
        e.dialend(None, p1, outcome.upper())
        leg_fails(ctx, req, p1, p2, outcome)
        return
    e.newexten(p2, "Ringing", "")
    e.newstate(p1, 5)
    e.newexten(p2, "Wait", "120" if outcome == "no-answer" else f"{callee.ring:.3g}", priority=2)
    e.dialstate(None, p1)
    if outcome != "answer":
        await ctx.sleep(req.timeout)
        leg_fails(ctx, req, p1, p2, "no-answer")
        return
    await ctx.sleep(callee.ring)
    e.newexten(p2, "Answer", "", priority=3)
    e.newstate(p2, 6)
    e.newstate(p1, 6)
    e.dialend(None, p1, "ANSWER")
    e.goto(p1, req.context, req.exten)
    ctx.due("respond")
    names = variables(req)
    if sim.campaign.amd or names.get("CTI_AMD", "").lower() in ("1", "yes", "true"):
        e.newexten(p1, "AMD", "")
        await ctx.sleep(sim.campaign.amd_seconds)
        status, cause = ("MACHINE", "LONGGREETING-2000-1500") if callee.machine else (
            "HUMAN", "HUMAN-300-400")  # fmt: skip
        e.varset(p1, "AMDSTATUS", status)
        e.varset(p1, "AMDCAUSE", cause)
        if callee.machine:
            e.newexten(p1, "Hangup", "", priority=2)
            caller_ends(ctx, p1, p2)
            return
    await _connect(sim, ctx, req, p1, p2, callee)


def _limit(sim: PbxSimulator, value: str) -> float:
    try:
        limit = float(value)
    except ValueError:
        return sim.campaign.connect_limit
    return limit if limit > 0 else 1e9  # Queue()'s timeout 0 / empty: wait for ever


async def _connect(
    sim: PbxSimulator, ctx: CallContext, req: Originate, p1: Channel, p2: Channel, callee: Callee
) -> None:
    """``Queue(${CTI_QUEUE},,,,${CTI_CONNECT_LIMIT})`` and what follows it."""
    e = ctx.e
    names = variables(req)
    name = names.get("CTI_QUEUE", "")
    limit_text = names.get("CTI_CONNECT_LIMIT", "")
    limit = _limit(sim, limit_text) if limit_text else sim.campaign.connect_limit
    attempt = f"{names.get('CTI_CAMPAIGN', '')} attempt {names.get('CTI_ATTEMPT', '')}"
    e.newexten(p1, "NoOp", f"Campaign {attempt}: answered, queue {name}", priority=1)
    e.newexten(p1, "Queue", f"{name},,,,{limit_text}", priority=2)
    q = sim.queues.get(name)
    if q is None:  # Queue() of an unknown queue returns at once
        e.varset(p1, "QUEUESTATUS", "UNKNOWN")
        await _abandon_message(sim, ctx, p1, p2, names, "UNKNOWN")
        return
    joined = join(ctx, q, p1)
    e.newexten(p2, "Wait", f"{callee.talk + callee.patience:.3g}", priority=4)
    started = e.clock()
    try:
        agent = await sim.floor.acquire(ctx, q, min(limit, callee.patience))
        waited = e.clock() - started
        if agent is None:
            if callee.patience < limit:
                caller_leaves(ctx, q, p1, p2, {}, joined)
                return
            gives_up(ctx, q, p1, {}, joined)
            await _abandon_message(sim, ctx, p1, p2, names)
            return
        ended = "abandoned"
        try:
            ended = await _agent_rung(
                sim, ctx, q, p1, p2, callee, agent, joined, limit - waited,
                callee.patience - waited,
            )  # fmt: skip
        finally:
            # wrapuptime follows a call the agent took, not a ring the caller left
            sim.floor.release(agent, q.wrapup if ended == "answered" else 0.0)
        if ended == "timeout":
            await _abandon_message(sim, ctx, p1, p2, names)
    finally:
        if p1 in q.waiting:
            q.waiting.remove(p1)


async def _agent_rung(
    sim: PbxSimulator, ctx: CallContext, q: QueueState, p1: Channel,
    p2: Channel, callee: Callee, agent: str, joined: float, limit: float, patience: float,
) -> str:  # fmt: skip
    """Ring ``agent`` alone; it answers, or the limit / the callee's patience ends first;
    returns how ``Queue()`` ended (``answered``, ``timeout``, ``abandoned``)."""
    view = QueueState(
        q.name, [agent], q.set_vars, q.waiting, q.completed, q.abandoned,
        calls_taken=q.calls_taken, last_call=q.last_call, wrapup=q.wrapup, info=q.info,
        ringinuse=q.ringinuse,
    )  # fmt: skip
    plan = Plan(sim.campaign.agent_answer, callee.talk, True, patience)
    outcome, after = decide(plan, agent, limit)
    legs = ring_members(ctx, view, p1, agent if outcome == "answered" else None, plan)
    try:
        await ctx.sleep(after)
        if outcome == "answered":
            await answered(ctx, view, p1, p2, legs, agent, plan, joined)
        elif outcome == "timeout":
            gives_up(ctx, view, p1, legs, joined)
        else:
            caller_leaves(ctx, view, p1, p2, legs, joined)
        return outcome
    finally:
        q.completed, q.abandoned = view.completed, view.abandoned


async def _abandon_message(
    sim: PbxSimulator, ctx: CallContext, p1: Channel, p2: Channel, names: dict[str, str],
    status: str = "TIMEOUT",
) -> None:  # fmt: skip
    """``Queue()`` returned: the abandon message (if any), then ``Hangup()``."""
    e = ctx.e
    limit, message = names.get("CTI_CONNECT_LIMIT", ""), names.get("CTI_ABANDON_MESSAGE", "")
    e.newexten(p1, "NoOp", f"No agent within {limit} s: QUEUESTATUS={status}", priority=3)
    e.newexten(p1, "ExecIf", f"{int(bool(message))}?Playback({message})", priority=4)
    if message:  # the recording says FAILED: the lab has no sound files installed
        await ctx.sleep(sim.campaign.message_seconds)
        e.varset(p1, "PLAYBACKSTATUS", "SUCCESS")
    e.newexten(p1, "Hangup", "", priority=5)
    caller_ends(ctx, p1, p2)
