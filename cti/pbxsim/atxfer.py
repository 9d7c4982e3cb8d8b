"""Asterisk 22's feature-based attended transfer (AMI ``Atxfer``): attended-transfer and
blonde-transfer.

``Atxfer`` queues the transfer code (``*2``, cti's features.conf) on the agent's channel:
the agent is put on hold (``Hold``, never ``Unhold``), the target is dialled in the
caller's Linkedid with no ``DialBegin`` (only ``DialState``/``DialEnd`` without a caller)
into a consultation bridge the agent moves to, and the digits queued after the code reach
the target as DTMF. When the agent hangs up, the bridges merge (``BridgeMerge``), the
target moves to the caller's bridge and ``AttendedTransfer`` names that bridge
(``DestType: Bridge``, no target); a target that still rings joins it ringing and answers
there (the blonde shape). Deferred: ``xfer.soft``/``xfer.gone`` (the agent's phone goes),
``xfer.ncl-target``, ``xfer.done`` (the consultation bridge and the agent's channel go),
``target-callerid`` and ``two-callerid`` (the caller ids the transfer swapped).
"""

from __future__ import annotations

from functools import partial

from cti.pbxsim.calls import AgentProfile, CallContext, Takeover
from cti.pbxsim.channels import Bridge, Channel, Emitter
from cti.pbxsim.dialplan import CTI_AGENTS
from cti.pbxsim.endings import callee_hangs_up, caller_ends

ATXFER_CODE = "*2"
#: features.conf ``atxfernoanswertimeout``: a consultation nobody answers ends after it
NO_ANSWER_TIMEOUT = 15.0


def attended_transfer_event(
    e: Emitter, transferer: Channel, merged: Bridge, consult: Bridge, transferee: Channel
) -> None:
    """``AttendedTransfer`` as recorded: one transferer twice, no target, ``DestType: Bridge``."""
    e.raw(
        f"{e.head('AttendedTransfer', 'call,all')}Result: Success\r\n"
        f"{transferer.block('OrigTransferer')}{e.bridge_fields(merged, 'OrigBridge')}"
        f"{transferer.block('SecondTransferer')}{e.bridge_fields(consult, 'SecondBridge')}"
        f"{transferee.block('Transferee')}IsExternal: No\r\nDestType: Bridge\r\n"
        f"DestBridgeUniqueid: {merged.uniqueid}\r\n\r\n"
    )


async def attended_transfer(
    ctx: CallContext, one: Channel, two: Channel, a1: Channel, a2: Channel, b1: Bridge,
    take: Takeover, answered_at: float, dial_start: float, hangup_after: float | None = None,
    blonde: bool = False,
) -> None:  # fmt: skip
    """Agent ``a1`` (bridged with the caller in ``b1``) consults ``take.exten``; the
    transfer completes when the agent hangs up (AMI ``Hangup``; when the simulator plays
    the agent, ``hangup_after`` seconds after the target answered, or, ``blonde``, while it
    still rings: after ``hangup_after`` seconds, at most half its ring)."""
    e = ctx.e
    target, context = take.exten, take.context or CTI_AGENTS
    prof = ctx.phone(context, target)
    t1, t2, b2 = _consult(ctx, a1, b1, target, context, prof)
    ringing_since = e.clock()
    ring = prof.ring_seconds if prof.answers else NO_ANSWER_TIMEOUT
    early = None if hangup_after is None or not blonde else min(hangup_after, ring / 2)
    if await _agent_leaves(ctx, a1, ring, early):
        _complete(ctx, one, two, a1, a2, b1, b2, t1, t2, ringing=True)
        if not prof.answers:
            await ctx.sleep(max(0.0, ring - (e.clock() - ringing_since)))
            _target_gives_up(ctx, one, two, t1, t2, b1)
            return
        await ctx.sleep(max(0.0, prof.ring_seconds - (e.clock() - ringing_since)))
        _answers(ctx, one, t1, t2, prof.talk_seconds, blonde=True)
        await ctx.sleep(prof.talk_seconds)
        callee_hangs_up(ctx, one, two, t1, t2, b1, answered_at, dial_start)
        return
    if not prof.answers:
        e.dialend(None, t1, "NOANSWER")
        _consult_ends(ctx, one, a1, b1, b2, t1, t2)
        await _agent_resumes(ctx, one, two, a1, a2, b1, answered_at, dial_start)
        return
    _answers(ctx, a1, t1, t2, prof.talk_seconds, blonde=False)
    target_answered = e.clock()
    if await _agent_leaves(ctx, a1, prof.talk_seconds, None if blonde else hangup_after):
        _complete(ctx, one, two, a1, a2, b1, b2, t1, t2, ringing=False)
        await ctx.sleep(max(0.0, prof.talk_seconds - (e.clock() - target_answered)))
        callee_hangs_up(ctx, one, two, t1, t2, b1, answered_at, dial_start)
        return
    e.newexten(t2, "Hangup", "", priority=5)
    _consult_ends(ctx, one, a1, b1, b2, t1, t2)
    await _agent_resumes(ctx, one, two, a1, a2, b1, answered_at, dial_start)


async def _agent_leaves(
    ctx: CallContext, a1: Channel, seconds: float, scripted: float | None
) -> bool:
    """Whether the agent hangs up within ``seconds`` (AMI ``Hangup`` of its channel, or at
    ``scripted`` seconds when the simulator plays the agent)."""
    if scripted is not None and scripted < seconds:
        await ctx.wait(scripted, "hangup", channel=a1.name)
        return True
    return await ctx.wait(seconds, "hangup", channel=a1.name) is not None


def _dtmf(e: Emitter, a1: Channel, t1: Channel, t2: Channel, digit: str) -> None:
    """A digit the agent sends while consulting: received, passed on to the target."""
    e.dtmf(a1, digit, "Received")
    e.dtmf(t1, digit, "Sent", end=False)
    e.dtmf(t2, digit, "Received", end=False)
    e.dtmf(t1, digit, "Sent")
    e.dtmf(t2, digit, "Received")


def _consult(
    ctx: CallContext, a1: Channel, b1: Bridge, target: str, context: str, prof: AgentProfile
) -> tuple[Channel, Channel, Bridge]:
    """The transfer code: hold, dial the target into a new bridge, the agent moves there."""
    e = ctx.e
    e.varset(a1, "TRANSFER_CONTEXT", context)
    for digit in ATXFER_CODE:
        e.dtmf(a1, digit, "Received")
    e.hold(a1)
    t1, t2 = e.local_pair(target, context, linkedid=a1.linkedid, call_id=a1.call_id)
    t1.agent = t2.agent = target
    t1.dialed = t2.dialed = f"{target}@{context}"
    e.newchannel(t1)
    e.newchannel(t2)
    e.varset(t1, "TRANSFERERNAME", a1.name)
    e.varset(t1, "ATTENDEDTRANSFER", a1.name)
    b2 = e.bridge_create()
    e.varset(t2, "ATTENDEDTRANSFER", a1.name)
    e.varset(t2, "TRANSFERERNAME", a1.name)
    e.newcallerid(t2, a1.cid_num, a1.cid_name)
    e.localbridge(t1, t2)
    e.newexten(t2, "Ringing", "", priority=1)
    e.newstate(t1, 5)
    e.newconnectedline(t1, a1.cid_num, a1.cid_name)
    e.newexten(t2, "Wait", f"{prof.ring_seconds if prof.answers else 120:g}", priority=2)
    e.bridge_enter(b2, t1)
    e.varset(t1, "ATTENDEDTRANSFER", "")
    e.dialstate(None, t1)
    ctx.slot("consult.rung")
    e.bridge_leave(b1, a1)
    e.bridge_enter(b2, a1)
    e.varset(t1, "BRIDGEPEER", a1.name)
    e.varset(a1, "BRIDGEPEER", t1.name)
    e.newconnectedline(a1, target, t2.cid_name)
    for digit in target:
        _dtmf(e, a1, t1, t2, digit)
    return t1, t2, b2


def _answers(
    ctx: CallContext, peer: Channel, t1: Channel, t2: Channel, talk: float, *, blonde: bool
) -> None:
    """The target answers, bridged with ``peer`` (the agent; the caller when ``blonde``)."""
    e = ctx.e
    e.newexten(t2, "Answer", "", priority=3)
    if blonde:
        ctx.slot("blonde.answer")
    else:
        e.newstate(t2, 6)
    e.newstate(t1, 6)
    e.dialend(None, t1, "ANSWER")
    first, second = (peer, t1) if blonde else (t1, peer)
    e.varset(first, "BRIDGEPEER", second.name)
    e.varset(second, "BRIDGEPEER", first.name)
    if blonde:
        e.newstate(t2, 6)
        ctx.slot("blonde.up")
        ctx.due("xfer.done")
    else:
        ctx.slot("consult.answered")
    e.newexten(t2, "Wait", f"{talk:g}", priority=4)


def _complete(
    ctx: CallContext, one: Channel, two: Channel, a1: Channel, a2: Channel, b1: Bridge,
    b2: Bridge, t1: Channel, t2: Channel, *, ringing: bool,
) -> None:  # fmt: skip
    """The agent hung up: the consultation bridge merges into the caller's."""
    e = ctx.e
    e.varset(a1, "BRIDGEPEER", "")
    e.bridge_leave(b2, a1)
    e.bridge_merge(b1, b2)
    ctx.defer("xfer.soft", partial(e.softhanguprequest, a2))
    ctx.defer("xfer.gone", partial(_phone_gone, e, a2, one))
    ctx.defer("xfer.ncl-target", partial(e.newconnectedline, t1, one.cid_num, one.cid_name))
    ctx.defer("xfer.done", partial(_consult_gone, e, b2, a1))
    if ringing:
        e.hanguprequest(a2)
        ctx.slot("xfer.cut")
        e.bridge_leave(b2, t1)
    else:
        e.bridge_leave(b2, t1)
        e.hanguprequest(a2)
        ctx.slot("xfer.cut")
    e.bridge_enter(b1, t1)
    e.varset(one, "BRIDGEPEER", t1.name)
    e.varset(t1, "BRIDGEPEER", one.name)
    ctx.slot("xfer.joined")
    attended_transfer_event(e, a1, b1, b2, one)
    e.newconnectedline(one, t1.agent or t1.exten, one.cid_name)
    for name in ("xfer.soft", "xfer.ncl-target", "xfer.gone", "xfer.done"):
        ctx.due(name)
    ctx.defer("target-callerid", partial(e.newcallerid, t2, one.cid_num, one.cid_name))
    ctx.defer("two-callerid", partial(e.newcallerid, two, t1.agent or t1.exten, one.cid_name))


def _phone_gone(e: Emitter, a2: Channel, one: Channel) -> None:
    e.hangup(a2)
    e.newcallerid(a2, one.cid_num, one.cid_name)


def _consult_gone(e: Emitter, b2: Bridge, a1: Channel) -> None:
    e.bridge_destroy(b2)
    e.hangup(a1)


def _target_gives_up(
    ctx: CallContext, one: Channel, two: Channel, t1: Channel, t2: Channel, b1: Bridge
) -> None:
    """A transferred target that never answers: its dial times out, the caller is left
    alone and hangs up."""
    e = ctx.e
    e.dialend(None, t1, "NOANSWER")
    e.hanguprequest(t2)
    e.bridge_leave(b1, t1)
    e.hangup(t1)
    e.softhanguprequest(t2)
    e.hangup(t2)
    e.bridge_leave(b1, one)
    e.bridge_destroy(b1)
    caller_ends(ctx, one, two)


def _consult_ends(
    ctx: CallContext, one: Channel, a1: Channel, b1: Bridge, b2: Bridge, t1: Channel,
    t2: Channel,
) -> None:  # fmt: skip
    """The target hung up (or never answered) before the agent: the agent is back."""
    e = ctx.e
    e.softhanguprequest(t2)
    e.hanguprequest(t1)
    e.hangup(t2)
    e.varset(a1, "BRIDGEPEER", "")
    e.bridge_leave(b2, t1)
    e.hangup(t1)
    e.bridge_leave(b2, a1)
    e.bridge_destroy(b2)
    e.bridge_enter(b1, a1)
    e.hold(a1, on=False)
    e.varset(a1, "BRIDGEPEER", one.name)
    e.varset(one, "BRIDGEPEER", a1.name)


async def _agent_resumes(
    ctx: CallContext, one: Channel, two: Channel, a1: Channel, a2: Channel, b1: Bridge,
    answered_at: float, dial_start: float,
) -> None:  # fmt: skip
    """Back with the caller after a failed consultation: the agent finishes its talk."""
    left = ctx.phone(CTI_AGENTS, a1.agent or "").talk_seconds - (ctx.e.clock() - answered_at)
    await ctx.sleep(max(0.0, left))
    callee_hangs_up(ctx, one, two, a1, a2, b1, answered_at, dial_start)
