"""Scenario scripts of cti's ``cti-inbound`` numbers that no agent dials straight away.

700: the PBX answers and plays a message for a few seconds, then hangs up (ivr-answered);
510: an IVR menu (3 s), then the ``support`` queue (ivr-then-queue), which the caller may
leave during the menu (ivr-caller-hangs-up); 520: the ``sales`` queue with an 8 s timeout
and a member who never answers (queue-timeout, queue-abandoned). The ``_1XX`` agent DIDs
are in :mod:`cti.pbxsim.features`. The customer's phone (``Local/hN@customer-phone``)
stays N seconds after its ``Wait`` starts; where the PBX answers the call itself, that is
half a second after the phone answered (its ``Answer()`` waits for media that long).
"""

from __future__ import annotations

from cti.pbxsim.calls import CallContext, Originate, QueueState, Races
from cti.pbxsim.channels import Channel
from cti.pbxsim.dialplan import IVR_QUEUE
from cti.pbxsim.dialplan import MESSAGE as MESSAGE_NUMBER
from cti.pbxsim.endings import caller_ends
from cti.pbxsim.legs import Plan, customer_answers, customer_waits
from cti.pbxsim.queue_answer import run_queue

#: the customer phone's ``Answer()`` returns (and its ``Wait`` starts) this much later
ANSWER_DELAY = 0.5
#: thread interleavings of the recordings, the default of each path (see ``Races``)
MESSAGE = Races({"pair": ("respond",)})
MENU_LEFT = Races({"local-bridge": ("respond",)})
MENU_QUEUE = Races({
    "two-up": ("dsc",), "one-up": ("dsc",), "dial-end": ("respond",),
    "queue.rung": ("qms.201", "dsc2", "qms.202"), "queue.up": ("dsc",), "queue.up1": ("dsc",),
    "queue.others-cut": ("others-soft.202",), "queue.agent-var.2": ("others-gone.202",),
    "queue.leaving": ("dsc",), "queue.left": ("others-free.202",), "queue.waited": ("dsc",),
    "queue.unbridging": ("agent-gone",), "end.one-gone": ("destroy", "member-gone"),
    "end.two-gone": ("dsc3", "member-free"),
})  # fmt: skip
QUEUE_TIMEOUT = Races({
    "queue.joined": ("dsc2",), "queue.calling.102": ("respond",), "queue.rung": ("qms.102",
    "dsc"), "queue.abandoned": ("dsc",), "queue.phone-gone.102": ("dsc",),
})  # fmt: skip
QUEUE_ABANDONED = Races(
    {"queue.members": ("respond", "dsc3", "qms.102"), "queue.abandoned": ("dsc2",),
     "queue.caller-gone": ("dsc",)},
    frozenset({"one-up-first"}),
)  # fmt: skip


def races(exten: str, stay: float, menu: float = 3.0, queue_timeout: float = 8.0) -> Races:
    """The recorded interleaving for number ``exten`` when the caller stays ``stay`` s."""
    if exten == MESSAGE_NUMBER:
        return MESSAGE
    if exten == IVR_QUEUE:
        return MENU_QUEUE if stay > menu - ANSWER_DELAY else MENU_LEFT
    return QUEUE_TIMEOUT if queue_timeout <= stay else QUEUE_ABANDONED


def patience(two: Channel, spent: float = 0.0) -> float:
    """How long the caller (its phone: ``two``) still stays once its ``Wait`` has run
    ``spent`` seconds."""
    hold = two.exten[1:]
    stay = float(hold) if hold.isdigit() else 30.0
    return max(0.0, stay - spent)


def _caller_hangs_up(ctx: CallContext, one: Channel, two: Channel) -> None:
    e = ctx.e
    e.newexten(two, "Hangup", "", priority=3)
    e.softhanguprequest(two)
    e.hanguprequest(one)
    e.hangup(two)
    e.softhanguprequest(one)
    e.hangup(one)


async def _answered_by_pbx(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, wait: float
) -> bool:
    """``Answer()``, ``Wait(wait)``; False when the caller hung up before it ended."""
    e = ctx.e
    customer_answers(ctx, req, one, two, ("Answer", ""))
    customer_waits(ctx, two)
    e.newexten(one, "Wait", f"{wait:g}", priority=2)
    ctx.slot("menu")
    await ctx.sleep(ANSWER_DELAY)
    ctx.due("two-wait")
    stay = patience(two)
    if stay < wait - ANSWER_DELAY:
        await ctx.sleep(stay)
        _caller_hangs_up(ctx, one, two)
        return False
    await ctx.sleep(wait - ANSWER_DELAY)
    return True


async def message(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, seconds: float = 4.0
) -> None:
    """700: ``Answer()``, ``Wait(4)``, ``Hangup()``: the PBX answers and hangs up."""
    if await _answered_by_pbx(ctx, req, one, two, seconds):
        ctx.e.newexten(one, "Hangup", "", priority=3)
        caller_ends(ctx, one, two)


async def menu_then_queue(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, q: QueueState,
    plan: Plan, answerer: str | None, menu: float = 3.0,
) -> None:  # fmt: skip
    """510: ``Answer()``, ``Wait(3)`` (the menu), ``Queue(support,r,,,60)``, ``Hangup()``."""
    e = ctx.e
    if not await _answered_by_pbx(ctx, req, one, two, menu):
        return
    e.newexten(one, "Queue", f"{q.name},r,,,60", priority=3)
    plan = Plan(plan.ring, plan.talk, plan.answers, patience(two, menu - ANSWER_DELAY))
    if await run_queue(ctx, q, one, two, plan, answerer, None) == "timeout":
        e.newexten(one, "Hangup", "", priority=4)
        caller_ends(ctx, one, two)


async def queue_with_timeout(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, q: QueueState,
    plan: Plan, answerer: str | None, queue_timeout: float = 8.0,
) -> None:  # fmt: skip
    """520: ``Answer()``, ``Queue(sales,r,,,8)``, ``NoOp(QUEUESTATUS=…)``, ``Hangup()``."""
    e = ctx.e
    plan = Plan(plan.ring, plan.talk, plan.answers, patience(two))
    customer_answers(ctx, req, one, two, ("Answer", ""))
    customer_waits(ctx, two)
    e.newexten(one, "Queue", f"{q.name},r,,,{queue_timeout:g}", priority=2)
    if await run_queue(ctx, q, one, two, plan, answerer, queue_timeout) == "timeout":
        e.newexten(one, "NoOp", "QUEUESTATUS=TIMEOUT", priority=3)
        e.newexten(one, "Hangup", "", priority=4)
        caller_ends(ctx, one, two)
