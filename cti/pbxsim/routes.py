"""Which scenario script plays a call: an AMI ``Originate`` by the lab dialplan, or a spec.

An ``Originate`` of ``Local/<exten>@<context>`` first announces the Local pair; an extension
the dialplan lacks is torn down at once (outbound-invalid). Then the channel's context says
who is called (the customer's phone, a remote number, an agent's phone) and the Originate's
context what the answered channel runs. A call spec is turned into the Originate the lab
would have received for it and played the same way.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cti.pbxsim import clicktodial, cti_inbound, inbound, outbound
from cti.pbxsim.calls import (
    CallContext,
    CallSpec,
    ClickToDialCall,
    InboundCall,
    IvrCall,
    MessageCall,
    Originate,
    OutboundCall,
    Outcome,
    QueueCall,
    QueueState,
    Races,
    TransferCall,
    hold_seconds,
)
from cti.pbxsim.campaign import CAMPAIGN, campaign_call
from cti.pbxsim.channels import Channel
from cti.pbxsim.clicktodial import click_to_dial
from cti.pbxsim.dialplan import (
    AGENTS,
    CTI_AGENTS,
    CTI_INBOUND,
    CTI_OUTBOUND,
    CUSTOMER,
    FROM_TRUNK,
    IVR_QUEUE,
    MESSAGE,
    OUTBOUND,
    PSTN,
    SALES_QUEUE,
)
from cti.pbxsim.features import ATTENDED, Transfer, agent_call
from cti.pbxsim.features import RACES as TRANSFER_RACES
from cti.pbxsim.legs import Plan, originate_prologue
from cti.pbxsim.outbound import dialer_call, missing_extension, respond_invalid

if TYPE_CHECKING:
    from cti.pbxsim.server import PbxSimulator

Script = Coroutine[Any, Any, None]
#: how the lab's remote numbers ring and talk once answered
REMOTE = Plan(1.0, 4.0)
#: the recorded lab's queue of cti-inbound 520 and its Queue() timeout
SALES, SALES_TIMEOUT = "sales", 8.0


def originate_script(sim: PbxSimulator, ctx: CallContext, req: Originate) -> Script | None:
    """Emit the Originate's first events now; return the coroutine that plays the rest."""
    trunk = req.trunk_call
    if trunk is not None and req.context == CAMPAIGN and trunk[1] in sim.trunks:
        # the simulator's trunks lead to its PSTN: played as the lab's Local pair
        req = replace(req, channel=f"Local/{trunk[0]}@{PSTN}", requested=req.channel)
    local = req.local
    if local is None or local[1] not in (CUSTOMER, PSTN, AGENTS):
        respond_invalid(sim.emitter, req, ctx.handle)
        return None
    exten, context = local
    if req.context == CAMPAIGN and context == PSTN:
        callee = sim.dialled.draw(exten)
        if exten in sim.pstn:  # a number the simulator was told about keeps its outcome
            callee = replace(callee, outcome=sim.pstn[exten])
        one, two = _prologue(sim, ctx, req, outbound.races(callee.outcome))
        return campaign_call(sim, ctx, req, one, two, callee)
    if not sim.dialplan.exists(context, exten):
        _missing(sim, ctx, req)
        return None
    if context == PSTN:
        outcome = sim.dialplan.remote(exten)
        one, two = _prologue(sim, ctx, req, outbound.races(outcome))
        return dialer_call(ctx, req, one, two, outcome, REMOTE)
    if context == AGENTS:
        outcome = sim.dialplan.remote(req.exten)
        one, two = _prologue(sim, ctx, req, clicktodial.races(req, outcome))
        return click_to_dial(ctx, req, one, two, outcome, REMOTE)
    stay = float(exten[1:]) if exten[1:].isdigit() else 30.0
    if req.context == CTI_INBOUND:
        return _cti_inbound(sim, ctx, req, stay)
    if req.exten in sim.queue_numbers:
        state = sim.queues[sim.queue_numbers[req.exten]]
        answerer, plan = _queue_plan(ctx, state, stay)
        one, two = _prologue(sim, ctx, req, inbound.QUEUE)
        return inbound.queue_call(ctx, req, one, two, state, plan, answerer)
    if req.exten == sim.ivr_number:
        one, two = _prologue(sim, ctx, req, inbound.SURVEY)
        return inbound.ivr_call(ctx, req, one, two, 2.0, sim.live_agi)
    prof = ctx.agent(req.exten)
    plan = Plan(prof.ring_seconds, prof.talk_seconds, prof.answers, stay)
    one, two = _prologue(sim, ctx, req, inbound.races(plan))
    return inbound.direct_call(ctx, req, one, two, plan)


def _prologue(
    sim: PbxSimulator, ctx: CallContext, req: Originate, races: Races
) -> tuple[Channel, Channel]:
    """Take the call's interleaving, announce its Local pair, register the call."""
    ctx.use(races)
    one, two = originate_prologue(ctx, req)
    sim.register(ctx.handle, one)
    return one, two


def _missing(sim: PbxSimulator, ctx: CallContext, req: Originate) -> None:
    """``Local/<exten>@<context>`` whose extension is not in the dialplan (outbound-invalid)."""
    one, two = originate_prologue(ctx, req, dial=False)
    sim.register(ctx.handle, one)
    missing_extension(ctx, req, one, two)


def _queue_plan(ctx: CallContext, state: QueueState, patience: float) -> tuple[str | None, Plan]:
    """The first member whose phone answers picks up (ringall)."""
    answerer = next((m for m in state.members if ctx.agent(m).answers), None)
    prof = ctx.agent(answerer or "")
    return answerer, Plan(prof.ring_seconds, prof.talk_seconds, answerer is not None, patience)


def _queue(sim: PbxSimulator, name: str) -> QueueState:
    """The lab's queue ``name`` (else the simulator's first queue, so the number works)."""
    if name in sim.queues:
        return sim.queues[name]
    if not sim.queues:
        raise ValueError(f"no queue for {name!r}: the simulator has no queues")
    return next(iter(sim.queues.values()))


def _cti_inbound(sim: PbxSimulator, ctx: CallContext, req: Originate, stay: float) -> Script:
    """cti-inbound: 510 menu then queue, 520 sales queue, 700 message, else an agent."""
    if req.exten in (MESSAGE, IVR_QUEUE, SALES_QUEUE):
        one, two = _prologue(sim, ctx, req, cti_inbound.races(req.exten, stay))
        if req.exten == MESSAGE:
            return cti_inbound.message(ctx, req, one, two)
        state = _queue(sim, "support" if req.exten == IVR_QUEUE else SALES)
        answerer, plan = _queue_plan(ctx, state, stay)
        if req.exten == IVR_QUEUE:
            return cti_inbound.menu_then_queue(ctx, req, one, two, state, plan, answerer)
        return cti_inbound.queue_with_timeout(
            ctx, req, one, two, state, plan, answerer, SALES_TIMEOUT
        )
    prof = ctx.phone(CTI_AGENTS, req.exten)
    plan = Plan(prof.ring_seconds, prof.talk_seconds, prof.answers, stay)
    one, two = _prologue(sim, ctx, req, ATTENDED)
    return agent_call(ctx, req, one, two, plan)


def spec_script(sim: PbxSimulator, ctx: CallContext, spec: CallSpec) -> Script | None:
    """Emit the spec'd call's first events now; return the coroutine that plays the rest."""
    if isinstance(spec, QueueCall) and spec.queue not in sim.queues:
        raise ValueError(f"unknown queue {spec.queue!r}")
    if isinstance(spec, OutboundCall):
        req = Originate(
            f"Local/{spec.number}@{PSTN}", "dialer-connected", "s", spec.caller_id,
            spec.caller_name, spec.action_id, timeout=spec.timeout, variables=spec.variables,
            account=spec.account,
        )  # fmt: skip
        if spec.outcome == "invalid":
            _missing(sim, ctx, req)
            return None
        p1, p2 = _prologue(sim, ctx, req, outbound.races(spec.outcome))
        plan = Plan(spec.ring_seconds, spec.talk_seconds)
        return dialer_call(ctx, req, p1, p2, spec.outcome, plan)
    if isinstance(spec, ClickToDialCall):
        context = CTI_OUTBOUND if spec.outcome == "no-route" else OUTBOUND
        req = Originate(
            f"Local/{spec.agent}@{AGENTS}", context, spec.number, spec.number, spec.number,
            spec.action_id, variables=(("CTI_CLICK2DIAL", spec.agent),),
        )  # fmt: skip
        outcome: Outcome = "answer" if spec.outcome == "no-route" else spec.outcome
        a1, a2 = _prologue(sim, ctx, req, clicktodial.races(req, outcome))
        plan = Plan(spec.ring_seconds, spec.talk_seconds)
        return click_to_dial(ctx, req, a1, a2, outcome, plan)
    return _inbound_spec(sim, ctx, spec)


def _inbound_spec(
    sim: PbxSimulator,
    ctx: CallContext,
    spec: InboundCall | QueueCall | IvrCall | TransferCall | MessageCall,
) -> Script:
    """A customer's call: the Originate of its phone into from-trunk or cti-inbound."""
    if isinstance(spec, InboundCall):
        patience = 1e9 if spec.answer else spec.ring_seconds
        plan = Plan(spec.ring_seconds, spec.talk_seconds, spec.answer, patience)
        stay = spec.ring_seconds + spec.talk_seconds + 1 if spec.answer else spec.ring_seconds
        req, one, two = _customer(sim, ctx, spec, FROM_TRUNK, spec.to, stay, inbound.races(plan))
        return inbound.direct_call(ctx, req, one, two, plan)
    if isinstance(spec, QueueCall):
        return _queue_spec(sim, ctx, spec)
    if isinstance(spec, IvrCall):
        stay = spec.seconds + 1
        req, one, two = _customer(sim, ctx, spec, FROM_TRUNK, spec.number, stay, inbound.SURVEY)
        return inbound.ivr_call(ctx, req, one, two, spec.seconds, sim.live_agi)
    if isinstance(spec, MessageCall):
        exten = IVR_QUEUE if spec.menu else MESSAGE
        stay = spec.seconds if spec.menu else spec.seconds + 1
        races = cti_inbound.races(exten, stay)
        req, one, two = _customer(sim, ctx, spec, CTI_INBOUND, exten, stay, races)
        if spec.menu:
            state = _queue(sim, "support")
            answerer, plan = _queue_plan(ctx, state, stay)
            return cti_inbound.menu_then_queue(ctx, req, one, two, state, plan, answerer)
        return cti_inbound.message(ctx, req, one, two, spec.seconds)
    stay = spec.ring_seconds + spec.talk_seconds + 60  # long enough for the target's part too
    races = TRANSFER_RACES[spec.kind]
    req, one, two = _customer(sim, ctx, spec, CTI_INBOUND, spec.to, stay, races)
    # the agent stays on the line until it has transferred the caller
    plan = Plan(spec.ring_seconds, spec.talk_seconds + 30.0)
    scripted = Transfer(spec.kind, spec.target, spec.talk_seconds, spec.consult_seconds)
    return agent_call(ctx, req, one, two, plan, scripted)


def _customer(
    sim: PbxSimulator, ctx: CallContext,
    spec: InboundCall | QueueCall | IvrCall | TransferCall | MessageCall,
    context: str, exten: str, stay: float, races: Races,
) -> tuple[Originate, Channel, Channel]:  # fmt: skip
    """Originate the customer's phone (staying ``stay`` s) into ``exten@context``."""
    req = Originate(
        f"Local/h{hold_seconds(stay)}@{CUSTOMER}", context, exten, spec.caller,
        spec.caller_name, spec.action_id,
    )  # fmt: skip
    return (req, *_prologue(sim, ctx, req, races))


def _queue_spec(sim: PbxSimulator, ctx: CallContext, spec: QueueCall) -> Script:
    state = sim.queues[spec.queue]
    answerer = spec.answered_by or (state.members[0] if state.members else None)
    waits = spec.ring_seconds + spec.talk_seconds + 1 if spec.answer else spec.ring_seconds
    stay = spec.ivr_seconds + waits
    patience = 1e9 if spec.answer else spec.ring_seconds
    plan = Plan(spec.ring_seconds, spec.talk_seconds, spec.answer, patience)
    if spec.ivr_seconds:
        races = cti_inbound.races(IVR_QUEUE, stay, menu=spec.ivr_seconds)
        req, one, two = _customer(sim, ctx, spec, CTI_INBOUND, IVR_QUEUE, stay, races)
        menu = cti_inbound.menu_then_queue
        return menu(ctx, req, one, two, state, plan, answerer, spec.ivr_seconds)
    if spec.timeout is not None:
        races = cti_inbound.races(SALES_QUEUE, stay, queue_timeout=spec.timeout)
        req, one, two = _customer(sim, ctx, spec, CTI_INBOUND, SALES_QUEUE, stay, races)
        timeout = cti_inbound.queue_with_timeout
        return timeout(ctx, req, one, two, state, plan, answerer, spec.timeout)
    req, one, two = _customer(sim, ctx, spec, FROM_TRUNK, spec.number, stay, inbound.QUEUE)
    return inbound.queue_call(ctx, req, one, two, state, plan, answerer)
