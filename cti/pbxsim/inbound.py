"""Scenario scripts of the lab's ``from-trunk`` context: a customer calls an agent's DID
(``_1XX``), the support queue (500; ``Queue()`` itself is in :mod:`cti.pbxsim.queue`) or
the survey IVR (600).

Each script replays what Asterisk 22 did in the recorded lab (``asterisk22/*.ami`` of
``../shared/ami-traces``): the originated ``Local/hN@customer-phone;1`` half runs the
``from-trunk`` dialplan, the ``;2`` half is the customer's phone.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

from cti.pbxsim.calls import CallContext, Originate, QueueState, Races
from cti.pbxsim.channels import Bridge, Channel
from cti.pbxsim.dialplan import AGENTS
from cti.pbxsim.endings import callee_hangs_up, caller_ends, caller_gives_up
from cti.pbxsim.ivr_agi import LiveAgi, live_survey
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
from cti.pbxsim.queue_answer import run_queue

#: where the recordings show the ``OriginateResponse`` (inbound-answered, -missed, agi-survey)
ANSWERED = Races({"dial-end": ("respond",)})
MISSED = Races({"first": ("respond",)})
SURVEY = Races({"two-up": ("respond",)})
QUEUE = Races({"one-up": ("respond",)}, frozenset({"queue.grouped"}))


def races(plan: Plan) -> Races:
    """The recorded interleaving of a direct call: answered, or the caller gives up."""
    return ANSWERED if plan.answers and plan.ring < plan.patience else MISSED


async def direct_call(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, plan: Plan
) -> None:
    """``from-trunk`` ``_1XX``: ``Dial(Local/<ext>@agents,30)`` (inbound-answered / -missed).

    The agent answers after ``plan.ring`` unless the caller's patience runs out first.
    """
    e = ctx.e
    ext = req.exten
    cid = quote_cid(one.cid_num, one.cid_name)
    noop = f"Inbound call from {cid} to agent {ext}"
    customer_answers(ctx, req, one, two, ("NoOp", noop))
    customer_waits(ctx, two)
    e.newexten(one, "Set", "CDR(userfield)=inbound", priority=2)
    one.userfield = "inbound"
    e.newexten(one, "Dial", f"Local/{ext}@{AGENTS},30", priority=3)
    dial_vars(e, one)
    leg = await dial_agent(ctx, one, two, ext, AGENTS, plan)
    if leg is not None:
        await ctx.sleep(plan.talk)
        callee_hangs_up(ctx, one, two, *leg)


class AgentLeg(NamedTuple):
    """An answered agent: its Local pair, the bridge with the caller, and when."""

    a1: Channel
    a2: Channel
    bridge: Bridge
    answered_at: float
    dial_start: float


async def dial_agent(
    ctx: CallContext, one: Channel, two: Channel, ext: str, context: str, plan: Plan,
    *, begin: bool = True,
) -> AgentLeg | None:  # fmt: skip
    """``Dial()`` of ``ext@context``: the phone rings; the agent answers after ``plan.ring``
    (the caller is bridged with it) unless the caller's patience runs out first (``None``:
    the call is over)."""
    e = ctx.e
    a1, a2 = agent_pair(ctx, one, ext, context, begin=begin)
    answers = plan.answers and plan.ring < plan.patience
    agent_rings(ctx, one, a1, a2, plan.ring, answers)
    ctx.due("two-wait")
    dial_start = e.clock()
    if not answers:
        await ctx.sleep(plan.patience)
        caller_gives_up(ctx, one, two, a1, a2)
        return None
    await ctx.sleep(plan.ring)
    bridge = agent_answers(ctx, one, a1, a2, plan.talk)
    return AgentLeg(a1, a2, bridge, e.clock(), dial_start)


AGI_SCRIPT = (
    ("ANSWER", 200, "Success"),
    ('GET FULL VARIABLE "${CALLERID(all)}"', 200, "Success"),
    ("GET VARIABLE CHANNEL", 200, "Success"),
    ('STREAM FILE hello-world "0123456789#*"', -1, "Failure"),
    ('SAY NUMBER 42 "#"', -1, "Failure"),
    ("WAIT FOR DIGIT 1500", 200, "Success"),
    ('EXEC NoOp "survey-from-agi"', 200, "Success"),
    ("SET VARIABLE SURVEY_RESULT 5", 200, "Success"),
    ('VERBOSE "survey complete for ${CALLERID(num)}" 1', 200, "Success"),
    ("THIS IS NOT A COMMAND", 510, "Invalid or unknown command"),
)


async def ivr_call(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, seconds: float,
    live: LiveAgi | None = None,
) -> None:  # fmt: skip
    """``from-trunk`` 600: ``AGI(agi://…/survey)``; the survey's commands as AGIExec events
    (the recorded ones, or with ``live`` those of a real FastAGI server: :mod:`ivr_agi`)."""
    e = ctx.e
    hold = one.exten[1:]
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    noop = f"Inbound call from {cid} to survey IVR"
    customer_answers(ctx, req, one, two, ("NoOp", noop))
    if live is not None:
        target = live.target
        e.newexten(one, "AGI", ",".join((target.url, *target.args)), priority=2)
        await live_survey(ctx, one, two, live)
        return
    e.newexten(one, "AGI", "agi://127.0.0.1:4573/survey,campaign42,ru", priority=2)
    step = seconds / len(AGI_SCRIPT)
    for n, (command, code, result) in enumerate(AGI_SCRIPT):
        cmd_id = str(zlib.crc32(f"{one.uniqueid}/{n}".encode()) % 2_000_000_000)
        head = f"CommandId: {cmd_id}\r\nCommand: {command}\r\n"
        e.chan_event("AGIExecStart", one, head, "agi,all")
        if command.startswith("WAIT FOR DIGIT"):
            e.newexten(two, "Wait", hold, priority=2)
        if command.startswith("SET VARIABLE"):
            name, value = command.split()[2:4]
            e.varset(one, name, value)
        await ctx.sleep(step)
        e.chan_event(
            "AGIExecEnd", one, f"{head}ResultCode: {code}\r\nResult: {result}\r\n", "agi,all"
        )
    e.varset(one, "AGISTATUS", "FAILURE")
    e.newexten(one, "NoOp", "AGISTATUS=FAILURE SURVEY_RESULT=5", priority=3)
    e.newexten(one, "Hangup", "", priority=4)
    e.softhanguprequest(one)
    e.hanguprequest(two)
    e.cdr(one, source=src, caller_id=cid)
    e.hangup(one)
    e.cdr(two, source=src, caller_id=cid)
    e.softhanguprequest(two)
    e.hangup(two)


async def queue_call(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, q: QueueState, plan: Plan,
    answerer: str | None, queue_timeout: float | None = None,
) -> None:  # fmt: skip
    """``from-trunk`` 500: ``Answer()``, ``Queue(support,r,,,60)`` (queue-answered); after a
    timeout the dialplan logs ``QUEUESTATUS`` and hangs up."""
    e = ctx.e
    cid = quote_cid(one.cid_num, one.cid_name)
    customer_answers(ctx, req, one, two, ("NoOp", f"Inbound call from {cid} to queue {q.name}"))
    customer_waits(ctx, two)
    e.newexten(one, "Answer", "", priority=2)
    e.newexten(one, "Queue", f"{q.name},r,,,{queue_timeout or 60:g}", priority=3)
    one.application = "Queue"
    if await run_queue(ctx, q, one, two, plan, answerer, queue_timeout) == "timeout":
        e.newexten(one, "NoOp", "QUEUESTATUS=TIMEOUT", priority=4)
        e.newexten(one, "Hangup", "", priority=5)
        caller_ends(ctx, one, two)
