"""The ``Queue()`` scenario: ringall over static Local members (queue-answered trace).

Answered: every member rings, one answers, the others get ``DialEnd CANCEL`` and hang up
with cause 26 (answered elsewhere). Abandoned (no recording in asterisk22; event shapes from
Asterisk's app_queue and cacofonisk's ``queue_a_cancel``): the caller hangs up while the
members ring → ``QueueCallerAbandon`` then ``QueueCallerLeave``.
"""

from __future__ import annotations

from dataclasses import replace

from cti.pbxsim.calls import CallContext, Originate, QueueState
from cti.pbxsim.channels import Channel, Emitter
from cti.pbxsim.inbound import AGENTS, Plan, customer_answers, dial_done_vars, ms_since, quote_cid

Legs = dict[str, tuple[Channel, Channel]]
MEMBER_VARS = ("MEMBERCALLS", "MEMBERLASTCALL", "MEMBERPENALTY", "MEMBERDYNAMIC", "MEMBERREALTIME")


def member_name(ext: str) -> str:
    return f"Agent {ext}"


def interface(ext: str) -> str:
    return f"Local/{ext}@{AGENTS}"


def member_status(e: Emitter, q: QueueState, ext: str, status: int) -> None:
    """``QueueMemberStatus`` (device state: 1 not in use, 2 in use, 6 ringing)."""
    e.raw(
        f"{e.head('QueueMemberStatus', 'agent,all')}Queue: {q.name}\r\n"
        f"MemberName: {member_name(ext)}\r\nInterface: {interface(ext)}\r\n"
        f"StateInterface: {interface(ext)}\r\nMembership: static\r\nPenalty: 0\r\n"
        f"CallsTaken: {q.calls_taken.get(ext, 0)}\r\nLastCall: {q.last_call.get(ext, 0)}\r\n"
        f"LastPause: 0\r\nLoginTime: {int(e.clock())}\r\nInCall: 0\r\nStatus: {status}\r\n"
        "Paused: 0\r\nPausedReason: \r\nRinginuse: 1\r\nWrapuptime: 0\r\n\r\n"
    )


def queue_vars(e: Emitter, ch: Channel, q: QueueState, hold: int, talk: int) -> None:
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
    e.varset(m1, "DIALEDPEERNUMBER", f"{ext}@{AGENTS}")
    e.varset(m2, "DIALEDPEERNUMBER", f"{ext}@{AGENTS}")
    m2.cl_num, m2.cl_name = caller.cid_num, caller.cid_name
    e.newcallerid(m2, caller.cid_num, caller.cid_name)
    e.newconnectedline(m2, caller.cid_num, caller.cid_name)
    e.localbridge(m1, m2)
    # AgentCalled shows the member leg as app_queue's outgoing attempt sees it
    seen = replace(m1, exten=caller.exten, cl_num=caller.cid_num, cl_name=caller.cid_name)
    tail = f"Queue: {q.name}\r\nInterface: {interface(ext)}\r\nMemberName: {member_name(ext)}\r\n"
    e.chan_event("AgentCalled", caller, seen.block("Dest") + tail, "agent,all")
    e.dialbegin(caller, m1, interface(ext))
    m1.exten = caller.exten
    return m1, m2


async def queue_call(
    ctx: CallContext,
    req: Originate,
    one: Channel,
    two: Channel,
    q: QueueState,
    plan: Plan,
    answerer: str | None,
) -> None:
    """``from-trunk`` 500: ``Answer()``, ``Queue(support,r,,,60)``; ``answerer`` picks up."""
    e = ctx.e
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    noop = f"Inbound call from {cid} to queue {q.name}"
    customer_answers(ctx, req, one, two, "one_up", ("NoOp", noop))
    e.newexten(one, "Answer", "", priority=2)
    e.newexten(one, "Queue", f"{q.name},r,,,60", priority=3)
    one.application = "Queue"
    for name in (
        "ANSWEREDTIME",
        "ANSWEREDTIME_MS",
        "DIALEDTIME",
        "DIALEDTIME_MS",
        "QUEUEWAIT",
        "QUEUEWAIT_MS",
    ):
        e.varset(one, name, "")
    q.waiting.append(one)
    position = len(q.waiting)
    e.chan_event(
        "QueueCallerJoin",
        one,
        f"Queue: {q.name}\r\nPosition: {position}\r\nCount: {position}\r\n",
        "agent,all",
    )
    joined = e.clock()
    legs = {ext: _member_pair(ctx, q, one, ext) for ext in q.members}
    for ext in reversed(q.members):
        m1, m2 = legs[ext]
        e.newexten(m2, "Ringing", "", priority=1)
        m1.cl_num, m1.cl_name = one.cid_num, one.cid_name
        e.newstate(m1, 5)
        e.newexten(m1, "AppQueue", "(Outgoing Line)")
        e.newconnectedline(m1, one.cid_num, one.cid_name)
    answers = plan.answers and answerer in legs and plan.ring < plan.patience
    if answers and answerer is not None:
        e.newexten(legs[answerer][1], "Wait", f"{plan.ring:g}", priority=2)
    for ext in reversed(q.members):
        member_status(e, q, ext, 2)
    for ext in reversed(q.members):
        if not (answers and ext == answerer):
            prof = ctx.agent(ext)
            e.newexten(
                legs[ext][1], "Wait", f"{prof.ring_seconds if prof.answers else 120:g}", priority=2
            )
    for ext in reversed(q.members):
        e.dialstate(one, legs[ext][0])
    e.newexten(two, "Wait", two.exten[1:], priority=2)
    try:
        if not answers or answerer is None:
            await ctx.sleep(plan.patience)
            _abandon(e, q, one, two, legs, joined, src, cid)
            return
        await ctx.sleep(plan.ring)
        await _answered(ctx, q, one, two, legs, answerer, plan, joined, src, cid)
    finally:
        if one in q.waiting:
            q.waiting.remove(one)


def _abandon(
    e: Emitter, q: QueueState, one: Channel, two: Channel, legs: Legs,
    joined: float, src: str, cid: str,
) -> None:  # fmt: skip
    e.newexten(two, "Hangup", "", priority=3)
    e.softhanguprequest(two)
    e.hanguprequest(one)
    e.hangup(two)
    for m1, _ in legs.values():
        e.dialend(one, m1, "CANCEL")
    for m1, m2 in legs.values():
        e.hanguprequest(m2)
        e.hangup(m1)
    position = q.waiting.index(one) + 1 if one in q.waiting else 1
    hold = int(e.clock() - joined)
    q.abandoned += 1
    e.chan_event(
        "QueueCallerAbandon", one,
        f"Queue: {q.name}\r\nPosition: {position}\r\nOriginalPosition: {position}\r\n"
        f"HoldTime: {hold}\r\n",
        "agent,all",
    )  # fmt: skip
    if one in q.waiting:
        q.waiting.remove(one)
    e.chan_event(
        "QueueCallerLeave",
        one,
        f"Queue: {q.name}\r\nPosition: {position}\r\nCount: {len(q.waiting)}\r\n",
        "agent,all",
    )
    for ext in legs:
        member_status(e, q, ext, 1)
    e.softhanguprequest(one)
    e.hangup(one)
    e.cdr(two, source=src, caller_id=cid)
    for m1, m2 in legs.values():
        e.softhanguprequest(m2)
        e.hangup(m2)
        e.cdr(m2, source=src, caller_id=cid)
        e.cdr(
            one,
            source=src,
            caller_id=cid,
            dest_channel=m1.name,
            disposition="NO ANSWER",
        )


async def _answered(
    ctx: CallContext, q: QueueState, one: Channel, two: Channel, legs: Legs, answerer: str,
    plan: Plan, joined: float, src: str, cid: str,
) -> None:  # fmt: skip
    e = ctx.e
    x1, x2 = legs[answerer]
    others = [ext for ext in q.members if ext != answerer]
    e.newexten(x2, "Answer", "", priority=3)
    e.newstate(x2, 6)
    e.newstate(x1, 6)
    e.dialend(one, x1, "ANSWER")
    for ext in others:
        e.dialend(one, legs[ext][0], "CANCEL")
        e.dialend(one, legs[ext][0], "CANCEL")
    for ext in others:
        e.hanguprequest(legs[ext][1], 26)
        e.hangup(legs[ext][0], 26)
    hold = int(e.clock() - joined)
    member = (
        ("MEMBERINTERFACE", interface(answerer)),
        ("MEMBERNAME", member_name(answerer)),
        *((name, "0") for name in MEMBER_VARS),
    )
    for ch in (one, x1):
        for name, value in member:
            e.varset(ch, name, value)
    for ch in (one, x1):
        e.varset(ch, "QEHOLDTIME", str(hold))
        e.varset(ch, "QEORIGINALPOS", "1")
    for ch in (one, x1):
        queue_vars(e, ch, q, hold, 0)
    for ext in others:
        e.softhanguprequest(legs[ext][1])
    position = q.waiting.index(one) + 1 if one in q.waiting else 1
    if one in q.waiting:
        q.waiting.remove(one)
    e.chan_event(
        "QueueCallerLeave",
        one,
        f"Queue: {q.name}\r\nPosition: {position}\r\nCount: {len(q.waiting)}\r\n",
        "agent,all",
    )
    e.varset(one, "QUEUEPOSITION", str(position))
    e.varset(one, "QUEUEWAIT", str(hold))
    e.varset(one, "QUEUEWAIT_MS", str(ms_since(e, joined)))
    member_tail = (
        f"Queue: {q.name}\r\nInterface: {interface(answerer)}\r\n"
        f"MemberName: {member_name(answerer)}\r\n"
    )
    ring = int(plan.ring)
    e.chan_event(
        "AgentConnect",
        one,
        f"{x1.block('Dest')}{member_tail}HoldTime: {hold}\r\nRingTime: {ring}\r\n",
        "agent,all",
    )
    bridge = e.bridge_create()
    e.bridge_enter(bridge, x1)
    for ext in others:
        e.hangup(legs[ext][1], 26)
        member_status(e, q, ext, 1)
        e.cdr(legs[ext][1], source=src, caller_id=cid)
    e.bridge_enter(bridge, one)
    e.varset(x1, "BRIDGEPEER", one.name)
    e.varset(one, "BRIDGEPEER", x1.name)
    e.newexten(x2, "Wait", f"{plan.talk:g}", priority=4)
    answered = e.clock()
    await ctx.sleep(plan.talk)
    talk = int(e.clock() - answered)
    e.newexten(x2, "Hangup", "", priority=5)
    e.softhanguprequest(x2)
    e.hanguprequest(x1)
    e.hangup(x2)
    e.chan_event(
        "AgentComplete", one,
        f"{x1.block('Dest')}{member_tail}HoldTime: {hold}\r\nTalkTime: {talk}\r\nReason: agent\r\n",
        "agent,all",
    )  # fmt: skip
    e.varset(x1, "BRIDGEPEER", "")
    e.varset(one, "BRIDGEPEER", "")
    e.bridge_leave(bridge, x1)
    e.hangup(x1)
    q.completed += 1
    q.calls_taken[answerer] = q.calls_taken.get(answerer, 0) + 1
    q.last_call[answerer] = int(e.clock())
    member_status(e, q, answerer, 1)
    e.bridge_leave(bridge, one)
    e.bridge_destroy(bridge)
    queue_vars(e, one, q, hold, talk)
    dial_done_vars(e, one, ms_since(e, answered), ms_since(e, joined))
    queue_vars(e, one, q, hold, talk)
    e.softhanguprequest(one)
    e.hanguprequest(two)
    e.hangup(one)
    e.cdr(x2, source=src, caller_id=cid)
    e.cdr(one, source=src, caller_id=cid, dest_channel=x1.name)
    for ext in others:
        e.cdr(
            one, source=src, caller_id=cid, dest_channel=legs[ext][0].name, disposition="NO ANSWER"
        )
    e.cdr(two, source=src, caller_id=cid)
    e.softhanguprequest(two)
    e.hangup(two)
