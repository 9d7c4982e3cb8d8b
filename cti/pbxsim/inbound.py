"""Scenario scripts for calls that start with an ``Originate`` of a Local channel.

Each script replays what Asterisk 22 did in the recorded lab (``asterisk22/*.ami``): the
originated ``Local/…;1`` half runs the ``from-trunk`` (or ``dialer-connected``) dialplan,
the ``;2`` half is the far-end phone. Where two threads raced in the real PBX (e.g. where
``OriginateResponse`` lands relative to the dialplan), the script keeps the order the
recording shows for that scenario.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal

from cti.pbxsim.calls import CallContext, Originate
from cti.pbxsim.channels import Bridge, Channel, Emitter

#: the variables ``Dial()`` / ``Queue()`` clear before they start
DIAL_VARS = (
    "DIALSTATUS",
    "DIALEDPEERNUMBER",
    "DIALEDPEERNAME",
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "RINGTIME",
    "RINGTIME_MS",
    "PROGRESSTIME",
    "PROGRESSTIME_MS",
)
AGENTS = "agents"
#: where the Originate response is emitted relative to the customer phone answering
ResponseAt = Literal["two_up", "one_up", "dial_end", "first_exten", "second_exten"]


@dataclass(frozen=True, slots=True)
class Plan:
    """How a leg behaves: rings ``ring`` s, talks ``talk`` s; ``patience``: caller gives up."""

    ring: float
    talk: float
    answers: bool = True
    patience: float = 1e9


def quote_cid(num: str, name: str) -> str:
    return f'"{name}" <{num}>' if name else f"<{num}>"


def originate_prologue(ctx: CallContext, req: Originate) -> tuple[Channel, Channel]:
    """Create and announce the originated Local pair, up to its ``DialBegin``."""
    e = ctx.e
    local = req.local
    if local is None:
        raise ValueError(f"not a Local channel: {req.channel}")
    exten, context = local
    one, two = e.local_pair(exten, context, call_id=ctx.handle.linkedid)
    if not ctx.handle.linkedid:
        ctx.handle.linkedid = one.linkedid
        one.call_id = two.call_id = one.linkedid
    e.newchannel(one)
    e.newchannel(two)
    e.newexten(one, "AppDial2", "(Outgoing Line)")
    for name, value in reversed(req.variables):
        e.varset(one, name, value)
    if req.account:
        e.newaccountcode(one, req.account)
    num, cname = req.caller_num, req.caller_name
    e.newcallerid(one, num, cname)
    e.newconnectedline(one, num, cname)
    for name, value in req.variables:
        e.varset(two, name, value)
    two.cl_num, two.cl_name = num, cname
    two.account = req.account
    e.newcallerid(two, num, cname)
    if req.account:
        e.newaccountcode(two, req.account, old="")
    e.newconnectedline(two, num, cname)
    e.localbridge(one, two)
    e.dialbegin(None, one, f"{exten}@{context}")
    return one, two


def respond(e: Emitter, req: Originate, one: Channel | None, reason: int) -> None:
    """``OriginateResponse`` as Asterisk sends it (``<unknown>`` ids when never up)."""
    if one is not None and reason == 4:
        e.originate_response(
            req.action_id,
            one.name,
            req.context,
            req.exten,
            4,
            one.uniqueid,
            one.cid_num,
            one.cid_name,
        )
    else:
        e.originate_response(
            req.action_id, req.channel, req.context, req.exten, reason, "<unknown>",
            req.caller_num or "<unknown>", req.caller_name or "<unknown>",
        )  # fmt: skip


def customer_answers(
    ctx: CallContext,
    req: Originate,
    one: Channel,
    two: Channel,
    at: ResponseAt,
    first: tuple[str, str],
) -> None:
    """The customer phone (``;2``) answers; ``;1`` enters ``req.context`` and runs ``first``."""
    e = ctx.e
    ctx.handle.reason = 4
    e.newexten(two, "Answer", "")
    e.newstate(two, 6)
    if at == "two_up":
        respond(e, req, one, 4)
    e.newstate(one, 6)
    if at == "one_up":
        respond(e, req, one, 4)
    e.dialend(None, one, "ANSWER")
    if at == "dial_end":
        respond(e, req, one, 4)
    e.goto(one, req.context, req.exten, 1)
    e.newexten(one, *first)
    if at == "first_exten":
        respond(e, req, one, 4)


def dial_vars(e: Emitter, ch: Channel, names: tuple[str, ...] = DIAL_VARS) -> None:
    for name in names:
        e.varset(ch, name, "")


def agent_pair(
    ctx: CallContext, caller: Channel, ext: str, context: str = AGENTS
) -> tuple[Channel, Channel]:
    """``Dial(Local/<ext>@<context>)``: announce the callee's Local pair up to ``DialBegin``."""
    e = ctx.e
    a1, a2 = e.local_pair(ext, context, linkedid=caller.linkedid, call_id=caller.call_id)
    if context == AGENTS:
        a1.agent = a2.agent = ext
    a1.dialed = a2.dialed = f"{ext}@{context}"
    e.newchannel(a1)
    e.newchannel(a2)
    e.varset(a1, "DIALEDPEERNUMBER", a1.dialed)
    a1.account = caller.account
    a1.cid_num, a1.cid_name = caller.exten, caller.cid_name
    a1.cl_num, a1.cl_name = caller.cid_num, caller.cid_name
    a1.exten = caller.exten
    e.newexten(a1, "AppDial", "(Outgoing Line)")
    e.newcallerid(a1, caller.exten, caller.cid_name)
    if caller.account:
        e.newaccountcode(a1, caller.account, old="")
    e.newconnectedline(a1, caller.cid_num, caller.cid_name)
    e.varset(a2, "DIALEDPEERNUMBER", a1.dialed)
    a2.cl_num, a2.cl_name = caller.exten, caller.cid_name
    a2.account = caller.account
    e.newcallerid(a2, caller.cid_num, caller.cid_name)
    if caller.account:
        e.newaccountcode(a2, caller.account, old="")
    e.newconnectedline(a2, caller.exten, caller.cid_name)
    e.localbridge(a1, a2)
    e.dialbegin(caller, a1, a1.dialed)
    return a1, a2


def agent_rings(
    ctx: CallContext, caller: Channel, a1: Channel, a2: Channel, ring: float, answers: bool
) -> None:
    """The agent phone rings; the caller's ``Dial`` sees ``RINGING``."""
    e = ctx.e
    e.newexten(a2, "Ringing", "", priority=1)
    e.newstate(a1, 5)
    if answers:
        e.newexten(a2, "Wait", f"{ring:g}", priority=2)
    e.varset(caller, "RINGTIME", "0")
    e.varset(caller, "RINGTIME_MS", "0")
    e.dialstate(caller, a1)
    if not answers:
        e.newexten(a2, "Wait", "120", priority=2)


def agent_answers(
    ctx: CallContext, caller: Channel, a1: Channel, a2: Channel, talk: float
) -> Bridge:
    """The agent answers: ``DialEnd ANSWER``, both legs bridged, the agent's timer starts."""
    e = ctx.e
    e.newexten(a2, "Answer", "", priority=3)
    e.newstate(a2, 6)
    e.newstate(a1, 6)
    e.varset(caller, "DIALSTATUS", "ANSWER")
    e.varset(caller, "DIALEDPEERNAME", a1.name)
    e.varset(caller, "DIALEDPEERNUMBER", a1.dialed)
    a1.exten = ""
    e.dialend(caller, a1, "ANSWER")
    bridge = e.bridge_create()
    e.newexten(a1, "AppDial", "(Outgoing Line)")
    e.bridge_enter(bridge, a1)
    e.bridge_enter(bridge, caller)
    e.varset(a1, "BRIDGEPEER", caller.name)
    e.varset(caller, "BRIDGEPEER", a1.name)
    e.newexten(a2, "Wait", f"{talk:g}", priority=4)
    return bridge


def dial_done_vars(e: Emitter, ch: Channel, answered_ms: int, dialed_ms: int) -> None:
    e.varset(ch, "ANSWEREDTIME", str(answered_ms // 1000))
    e.varset(ch, "ANSWEREDTIME_MS", str(answered_ms))
    e.varset(ch, "DIALEDTIME", str(dialed_ms // 1000))
    e.varset(ch, "DIALEDTIME_MS", str(dialed_ms))


def ms_since(e: Emitter, t: float | None) -> int:
    return 0 if t is None else max(0, int((e.clock() - t) * 1000))


def end_pair(e: Emitter, one: Channel, two: Channel, source: str, cid: str) -> None:
    """The originated customer channel hangs up after its peer left (tail of every call)."""
    e.softhanguprequest(one)
    e.hanguprequest(two)
    e.hangup(one)
    e.cdr(two, source=source, caller_id=cid)
    e.softhanguprequest(two)
    e.hangup(two)


async def direct_call(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, plan: Plan
) -> None:
    """``from-trunk`` ``_1XX``: ``Dial(Local/<ext>@agents,30)`` (inbound-answered / -missed).

    The agent answers after ``plan.ring`` unless the caller's patience runs out first.
    """
    e = ctx.e
    ext = req.exten
    hold = one.exten[1:]
    answers = plan.answers and plan.ring < plan.patience
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    noop = f"Inbound call from {cid} to agent {ext}"
    customer_answers(ctx, req, one, two, "dial_end" if answers else "first_exten", ("NoOp", noop))
    e.newexten(one, "Set", "CDR(userfield)=inbound", priority=2)
    one.userfield = "inbound"
    e.newexten(one, "Dial", f"Local/{ext}@{AGENTS},30", priority=3)
    dial_vars(e, one)
    a1, a2 = agent_pair(ctx, one, ext)
    agent_rings(ctx, one, a1, a2, plan.ring, answers)
    e.newexten(two, "Wait", hold, priority=2)
    dial_start = e.clock()
    if not answers:
        await ctx.sleep(plan.patience)
        e.newexten(two, "Hangup", "", priority=3)
        e.softhanguprequest(two)
        e.hanguprequest(one)
        e.hangup(two)
        e.dialend(one, a1, "CANCEL")
        e.hanguprequest(a2)
        e.hangup(a1)
        e.varset(one, "DIALSTATUS", "CANCEL")
        e.softhanguprequest(one)
        e.hangup(one)
        e.cdr(two, source=src, caller_id=cid)
        e.softhanguprequest(a2)
        e.cdr(one, source=src, caller_id=cid, dest_channel=a1.name, disposition="NO ANSWER")
        e.cdr(a2, source=src, caller_id=cid)
        e.hangup(a2)
        return
    await ctx.sleep(plan.ring)
    bridge = agent_answers(ctx, one, a1, a2, plan.talk)
    answered_at = e.clock()
    await ctx.sleep(plan.talk)
    callee_hangs_up(e, one, two, a1, a2, bridge, answered_at, dial_start)


def callee_hangs_up(
    e: Emitter, one: Channel, two: Channel, a1: Channel, a2: Channel, bridge: Bridge,
    answered_at: float, dial_start: float,
) -> None:  # fmt: skip
    """The agent's phone hangs up first; then the caller's ``Dial()`` returns and it ends."""
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    e.newexten(a2, "Hangup", "", priority=5)
    e.softhanguprequest(a2)
    e.hanguprequest(a1)
    e.hangup(a2)
    e.varset(a1, "BRIDGEPEER", "")
    e.varset(one, "BRIDGEPEER", "")
    e.bridge_leave(bridge, a1)
    e.hangup(a1)
    e.cdr(a2, source=src, caller_id=cid)
    e.cdr(one, source=src, caller_id=cid, dest_channel=a1.name)
    e.bridge_leave(bridge, one)
    e.bridge_destroy(bridge)
    dial_done_vars(e, one, ms_since(e, answered_at), ms_since(e, dial_start))
    e.varset(one, "DIALSTATUS", "ANSWER")
    end_pair(e, one, two, src, cid)


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
    ctx: CallContext, req: Originate, one: Channel, two: Channel, seconds: float
) -> None:
    """``from-trunk`` 600: ``AGI(agi://…/survey)``; the survey's commands as AGIExec events."""
    e = ctx.e
    hold = one.exten[1:]
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    noop = f"Inbound call from {cid} to survey IVR"
    customer_answers(ctx, req, one, two, "two_up", ("NoOp", noop))
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
