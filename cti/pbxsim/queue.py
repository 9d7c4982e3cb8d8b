"""The ``Queue()`` application: ringall over static Local members, as Asterisk 22 runs it.

Recordings: ``queue-answered`` (from-trunk 500, the shared lab), ``ivr-then-queue``
(cti-inbound 510), ``queue-timeout`` and ``queue-abandoned`` (cti-inbound 520, queue
``sales``). Every member rings; one answers (:mod:`cti.pbxsim.queue_answer`), or the queue
gives up at its timeout (``AgentRingNoAnswer``, ``QueueCallerAbandon`` all the same:
app_queue records a timeout as abandoned, then ``QUEUESTATUS=TIMEOUT``), or the caller hangs
up (``QueueCallerAbandon``, no ``QUEUESTATUS``). What the queue's own device-state thread
sends (``QueueMemberStatus``) is deferred to the slots its recordings show.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Literal

from cti.pbxsim.calls import CallContext, QueueState
from cti.pbxsim.channels import Channel, Emitter
from cti.pbxsim.dialplan import AGENTS
from cti.pbxsim.legs import Plan, quote_cid

Legs = dict[str, tuple[Channel, Channel]]
Outcome = Literal["answered", "timeout", "abandoned"]
#: the variables ``Queue()`` clears when it starts
JOIN_VARS = ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "QUEUEWAIT",
             "QUEUEWAIT_MS")  # fmt: skip


def member_name(ext: str) -> str:
    return f"Agent {ext}"


def interface(ext: str) -> str:
    return f"Local/{ext}@{AGENTS}"


def iface(q: QueueState, ext: str) -> str:
    """The member's ``Interface`` in ``q`` (as ``QueueAdd`` gave it, else the lab's)."""
    m = q.info.get(ext)
    return m.interface if m is not None and m.interface else interface(ext)


def label(q: QueueState, ext: str) -> str:
    """The member's ``MemberName`` in ``q``."""
    m = q.info.get(ext)
    return m.name if m is not None and m.name else member_name(ext)


def member_fields(e: Emitter, q: QueueState, ext: str, status: int, in_call: bool = False) -> str:
    """The member block app_queue puts in every ``QueueMember*`` event (Asterisk 22)."""
    m = q.member(ext)
    return (
        f"Queue: {q.name}\r\nMemberName: {label(q, ext)}\r\nInterface: {iface(q, ext)}\r\n"
        f"StateInterface: {iface(q, ext)}\r\nMembership: {m.membership}\r\n"
        f"Penalty: {m.penalty}\r\nCallsTaken: {q.calls_taken.get(ext, 0)}\r\n"
        f"LastCall: {q.last_call.get(ext, 0)}\r\nLastPause: {m.last_pause}\r\n"
        f"LoginTime: {m.login_time or int(e.clock())}\r\nInCall: {int(in_call)}\r\n"
        f"Status: {status}\r\nPaused: {int(m.paused)}\r\nPausedReason: {m.reason}\r\n"
        f"Ringinuse: {int(q.ringinuse)}\r\nWrapuptime: {int(q.wrapup)}\r\n"
    )


def member_event(
    e: Emitter, event: str, q: QueueState, ext: str, status: int, in_call: bool = False
) -> None:
    """``QueueMemberStatus`` / ``Added`` / ``Removed`` / ``Pause`` (status: the member's
    device state, 1 not in use, 2 in use, 6 ringing)."""
    e.raw(f"{e.head(event, 'agent,all')}{member_fields(e, q, ext, status, in_call)}\r\n")


def member_status(e: Emitter, q: QueueState, ext: str, status: int) -> None:
    """``QueueMemberStatus`` (device state: 1 not in use, 2 in use, 6 ringing)."""
    member_event(e, "QueueMemberStatus", q, ext, status)


def member_busy(e: Emitter, q: QueueState, ext: str) -> None:
    """A member's phone is in use; app_queue then sets the queue's ``_avail`` state (still
    available: ``ringinuse``), which Asterisk caches, so it is sent once."""
    member_status(e, q, ext, 2)
    e.queue_state(f"Queue:{q.name}_avail", "NOT_INUSE")


def queue_vars(e: Emitter, ch: Channel, q: QueueState, hold: int, talk: int) -> None:
    """``setqueuevar``: the queue's counters as variables."""
    values = (
        ("QUEUENAME", q.name),
        ("QUEUEMAX", "0"),
        ("QUEUESTRATEGY", "ringall"),
        ("QUEUECALLS", str(len(q.waiting))),
        ("QUEUEHOLDTIME", str(hold)),
        ("QUEUETALKTIME", str(talk)),
        ("QUEUECOMPLETED", str(q.completed)),
        ("QUEUEABANDONED", str(q.abandoned)),
        ("QUEUESRVLEVEL", "0"),
        ("QUEUESRVLEVELPERF", "0.0"),
    )
    for name, value in values:
        e.varset(ch, name, value)


def caller_event(e: Emitter, one: Channel, event: str, tail: str) -> None:
    e.chan_event(event, one, tail, "agent,all")


def join(ctx: CallContext, q: QueueState, one: Channel) -> float:
    """The caller enters the queue (slot ``queue.joined``); returns the time it joined."""
    e = ctx.e
    for name in JOIN_VARS:
        e.varset(one, name, "")
    q.waiting.append(one)
    e.queue_state(f"Queue:{q.name}", "RINGING")
    count = len(q.waiting)
    caller_event(e, one, "QueueCallerJoin",
                 f"Queue: {q.name}\r\nPosition: {count}\r\nCount: {count}\r\n")  # fmt: skip
    ctx.slot("queue.joined")
    return e.clock()


def leave(ctx: CallContext, q: QueueState, one: Channel) -> int:
    """The caller leaves the queue (slots ``queue.leaving`` / ``queue.left``)."""
    e = ctx.e
    position = q.waiting.index(one) + 1 if one in q.waiting else 1
    if one in q.waiting:
        q.waiting.remove(one)
    if not q.waiting:
        e.queue_state(f"Queue:{q.name}", "NOT_INUSE")
    ctx.slot("queue.leaving")
    tail = f"Queue: {q.name}\r\nPosition: {position}\r\nCount: {len(q.waiting)}\r\n"
    caller_event(e, one, "QueueCallerLeave", tail)
    e.varset(one, "QUEUEPOSITION", str(position))
    ctx.slot("queue.left")
    return position


def _member_pair(
    ctx: CallContext, q: QueueState, caller: Channel, ext: str
) -> tuple[Channel, Channel]:
    e = ctx.e
    m1, m2 = e.local_pair(ext, AGENTS, linkedid=caller.linkedid, call_id=caller.call_id)
    m1.agent = m2.agent = ext
    e.newchannel(m1)
    e.newchannel(m2)
    m1.cid_num, m1.cid_name = caller.cid_num, caller.cid_name
    e.newexten(m1, "AppQueue", "(Outgoing Line)")
    e.newcallerid(m1, caller.cid_num, caller.cid_name)
    ctx.slot(f"queue.calling.{ext}")
    e.varset(m1, "DIALEDPEERNUMBER", f"{ext}@{AGENTS}")
    e.varset(m2, "DIALEDPEERNUMBER", f"{ext}@{AGENTS}")
    m2.cl_num, m2.cl_name = caller.cid_num, caller.cid_name
    e.newcallerid(m2, caller.cid_num, caller.cid_name)
    e.newconnectedline(m2, caller.cid_num, caller.cid_name)
    e.localbridge(m1, m2)
    # AgentCalled shows the member leg as app_queue's outgoing attempt sees it
    seen = replace(m1, exten=caller.exten, cl_num=caller.cid_num, cl_name=caller.cid_name)
    caller_event(e, caller, "AgentCalled", seen.block("Dest") + member_tail(ext, q))
    e.dialbegin(caller, m1, interface(ext))
    m1.exten = caller.exten
    return m1, m2


def member_tail(ext: str, q: QueueState) -> str:
    return f"Queue: {q.name}\r\nInterface: {iface(q, ext)}\r\nMemberName: {label(q, ext)}\r\n"


def _rings(ctx: CallContext, one: Channel, m1: Channel, m2: Channel) -> None:
    e = ctx.e
    e.newexten(m2, "Ringing", "", priority=1)
    m1.cl_num, m1.cl_name = one.cid_num, one.cid_name
    e.newstate(m1, 5)
    e.newexten(m1, "AppQueue", "(Outgoing Line)")
    e.newconnectedline(m1, one.cid_num, one.cid_name)


def ring_members(
    ctx: CallContext, q: QueueState, one: Channel, answerer: str | None, plan: Plan
) -> Legs:
    """Every member's phone rings; ``answerer``'s answers after ``plan.ring`` (slots
    ``queue.members`` and ``queue.rung``; flag ``queue.grouped``: the phones' threads ran in
    the order queue-answered shows)."""
    e = ctx.e
    legs = {ext: _member_pair(ctx, q, one, ext) for ext in q.members}
    for ext in q.members:
        ctx.defer(f"qms.{ext}", partial(member_busy, e, q, ext))

    def wait(ext: str) -> None:
        prof = ctx.agent(ext)
        ring = plan.ring if ext == answerer else prof.ring_seconds if prof.answers else 120
        e.newexten(legs[ext][1], "Wait", f"{ring:g}", priority=2)

    if ctx.races.has("queue.grouped"):
        for ext in reversed(q.members):
            _rings(ctx, one, *legs[ext])
        if answerer in legs:
            wait(answerer)
        for ext in reversed(q.members):
            ctx.emit(f"qms.{ext}")
        for ext in reversed(q.members):
            if ext != answerer:
                wait(ext)
    else:
        for ext in q.members:
            _rings(ctx, one, *legs[ext])
            wait(ext)
    ctx.slot("queue.members")
    for ext in reversed(q.members):
        e.dialstate(one, legs[ext][0])
    ctx.slot("queue.rung")
    for ext in q.members:
        ctx.due(f"qms.{ext}")
    ctx.due("two-wait")
    return legs


def decide(plan: Plan, answerer: str | None, timeout: float | None) -> tuple[Outcome, float]:
    """What ends the ringing, and after how many seconds."""
    limit = plan.patience if timeout is None else min(plan.patience, timeout)
    if plan.answers and answerer is not None and plan.ring < limit:
        return "answered", plan.ring
    if timeout is not None and timeout <= plan.patience:
        return "timeout", timeout
    return "abandoned", plan.patience


def _dialend_members(e: Emitter, one: Channel, legs: Legs, status: str) -> None:
    for m1, _ in legs.values():
        e.dialend(one, m1, status)
        e.dialend(one, m1, "CANCEL")


def _stop_members(ctx: CallContext, q: QueueState, legs: Legs) -> None:
    """The queue hangs up every member's attempt (cause 0); their phones follow later."""
    e = ctx.e
    for ext, (m1, m2) in legs.items():
        e.hanguprequest(m2, 0)
        e.hangup(m1, 0)
        ctx.defer(f"phone-soft.{ext}", partial(e.softhanguprequest, m2))
        ctx.defer(f"phone-gone.{ext}", partial(e.hangup, m2, 0))
        ctx.defer(f"qfree.{ext}", partial(member_status, e, q, ext, 1))


def gives_up(ctx: CallContext, q: QueueState, one: Channel, legs: Legs, joined: float) -> None:
    """The queue's timeout: ``AgentRingNoAnswer`` then, as app_queue records a timeout,
    ``QueueCallerAbandon``; the caller leaves with ``QUEUESTATUS=TIMEOUT``."""
    e = ctx.e
    waited = e.clock() - joined
    for ext, (m1, _) in legs.items():
        tail = f"{m1.block('Dest')}{member_tail(ext, q)}RingTime: {int(waited * 1000)}\r\n"
        caller_event(e, one, "AgentRingNoAnswer", tail)
    _dialend_members(e, one, legs, "NOANSWER")
    _stop_members(ctx, q, legs)
    for ext in legs:
        ctx.due(f"phone-soft.{ext}")
    e.varset(one, "ABANDONED", "TRUE")
    _abandon_event(ctx, q, one, int(waited))
    _wait_vars(e, one, waited)
    ctx.slot("queue.abandoned")
    for ext in legs:
        ctx.due(f"phone-gone.{ext}")
        ctx.slot(f"queue.phone-gone.{ext}")
        ctx.due(f"qfree.{ext}")
    e.varset(one, "ANSWEREDTIME", "0")
    e.varset(one, "ANSWEREDTIME_MS", "0")
    leave(ctx, q, one)
    e.varset(one, "QUEUESTATUS", "TIMEOUT")


def caller_leaves(
    ctx: CallContext, q: QueueState, one: Channel, two: Channel, legs: Legs, joined: float
) -> None:
    """The caller hangs up while the members ring (queue-abandoned): the whole call ends."""
    e = ctx.e
    e.newexten(two, "Hangup", "", priority=3)
    e.softhanguprequest(two)
    e.hanguprequest(one)
    e.hangup(two)
    for m1, _ in legs.values():
        e.dialend(one, m1, "CANCEL")
        e.dialend(one, m1, "CANCEL")
    _stop_members(ctx, q, legs)
    waited = e.clock() - joined
    _wait_vars(e, one, waited)
    e.varset(one, "ANSWEREDTIME", "0")
    e.varset(one, "ANSWEREDTIME_MS", "0")
    e.varset(one, "ABANDONED", "TRUE")
    _abandon_event(ctx, q, one, int(waited))
    ctx.slot("queue.abandoned")
    leave(ctx, q, one)
    for ext in legs:
        ctx.due(f"qfree.{ext}")
    e.softhanguprequest(one)
    e.hangup(one)
    ctx.slot("queue.caller-gone")
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    e.cdr(two, source=src, caller_id=cid)
    for ext, (m1, m2) in legs.items():
        ctx.due(f"phone-soft.{ext}")
        ctx.due(f"phone-gone.{ext}")
        e.cdr(m2, source=src, caller_id=cid)
        e.cdr(one, source=src, caller_id=cid, dest_channel=m1.name, disposition="NO ANSWER")


def _wait_vars(e: Emitter, one: Channel, waited: float) -> None:
    ms = int(waited * 1000)
    for name, value in (("QUEUEWAIT", ms // 1000), ("QUEUEWAIT_MS", ms), ("DIALEDTIME", ms // 1000),
                        ("DIALEDTIME_MS", ms)):  # fmt: skip
        e.varset(one, name, str(value))


def _abandon_event(ctx: CallContext, q: QueueState, one: Channel, hold: int) -> None:
    position = q.waiting.index(one) + 1 if one in q.waiting else 1
    q.abandoned += 1
    caller_event(ctx.e, one, "QueueCallerAbandon",
                 f"Queue: {q.name}\r\nPosition: {position}\r\nOriginalPosition: {position}\r\n"
                 f"HoldTime: {hold}\r\n")  # fmt: skip
