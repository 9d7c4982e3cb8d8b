"""Building blocks of every scenario script: the originated Local pair, one ``Dial()`` leg.

A Local channel pair is ``;1`` (the side that runs the dialplan of the Originate's context,
or of the dialled context) and ``;2`` (the phone). The blocks emit what Asterisk 22 emits
for each step, in the recorded order; ``ctx.slot(...)`` marks where events of other
Asterisk threads (``OriginateResponse``, ``DeviceStateChange``) landed in a recording, and
``ctx.races`` flags choose between the orders different recordings show (see ``Races``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cti.pbxsim.calls import CallContext, Originate
from cti.pbxsim.channels import Bridge, Channel, Emitter
from cti.pbxsim.dialplan import AGENTS, CTI_AGENTS

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


@dataclass(frozen=True, slots=True)
class Plan:
    """How a leg behaves: rings ``ring`` s, talks ``talk`` s; ``patience``: caller gives up."""

    ring: float
    talk: float
    answers: bool = True
    patience: float = 1e9


def quote_cid(num: str, name: str) -> str:
    return f'"{name}" <{num}>' if name else f"<{num}>"


def originate_prologue(
    ctx: CallContext, req: Originate, *, dial: bool = True
) -> tuple[Channel, Channel]:
    """Create and announce the originated Local pair, up to its ``DialBegin`` (``dial``:
    the pair is bridged and dialled; else the extension is missing and it stops there)."""
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

    def answered() -> None:
        ctx.handle.reason = 4
        respond(e, req, one, 4)

    ctx.defer("respond", answered)
    if dial:
        ctx.slot("pair")
        e.localbridge(one, two)
        ctx.slot("local-bridge")
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
            req.action_id, req.requested or req.channel, req.context, req.exten, reason,
            "<unknown>",
            req.caller_num or "<unknown>", req.caller_name or "<unknown>",
        )  # fmt: skip


def fail(ctx: CallContext, req: Originate, reason: int) -> None:
    """The originated call never came up: ``OriginateResponse`` ``Failure`` with ``reason``."""
    ctx.drop("respond")
    ctx.handle.reason = reason
    respond(ctx.e, req, None, reason)


def pair_answers(ctx: CallContext, one: Channel, two: Channel) -> None:
    """The phone (``;2``) answers, then ``;1`` is up: ``DialEnd ANSWER`` of the Originate.

    Slots ``two-up``, ``one-up``, ``dial-end``; flag ``one-up-first`` (``;1`` is seen up
    before ``;2``)."""
    e = ctx.e
    e.newexten(two, "Answer", "")
    if ctx.races.has("one-up-first"):
        e.newstate(one, 6)
        ctx.slot("one-up")
        e.newstate(two, 6)
        ctx.slot("two-up")
    else:
        e.newstate(two, 6)
        ctx.slot("two-up")
        e.newstate(one, 6)
        ctx.slot("one-up")
    e.dialend(None, one, "ANSWER")
    ctx.slot("dial-end")


def customer_answers(
    ctx: CallContext, req: Originate, one: Channel, two: Channel, first: tuple[str, str]
) -> None:
    """The customer phone answers; ``;1`` enters ``req.context`` and runs ``first`` (slot
    ``first`` after it); the ``OriginateResponse`` is due by then."""
    pair_answers(ctx, one, two)
    ctx.e.goto(one, req.context, req.exten, 1)
    ctx.e.newexten(one, *first)
    ctx.slot("first")
    ctx.due("respond")


def customer_waits(ctx: CallContext, two: Channel) -> None:
    """Defer the customer phone's ``Wait(N)`` as ``two-wait`` (``customer-phone`` answers,
    then waits N seconds and hangs up; its ``Answer()`` returns half a second later)."""
    ctx.defer("two-wait", lambda: ctx.e.newexten(two, "Wait", two.exten[1:], priority=2))


def dial_vars(e: Emitter, ch: Channel, names: tuple[str, ...] = DIAL_VARS) -> None:
    for name in names:
        e.varset(ch, name, "")


def agent_pair(
    ctx: CallContext, caller: Channel, ext: str, context: str = AGENTS, *, begin: bool = True
) -> tuple[Channel, Channel]:
    """``Dial(Local/<ext>@<context>)``: announce the callee's Local pair up to ``DialBegin``
    (``begin=False``: the caller's ``DialBegin`` comes later, :func:`dial_begin`)."""
    e = ctx.e
    a1, a2 = e.local_pair(ext, context, linkedid=caller.linkedid, call_id=caller.call_id)
    if context in (AGENTS, CTI_AGENTS):
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
    if begin:
        e.dialbegin(caller, a1, a1.dialed)
    return a1, a2


def dial_begin(ctx: CallContext, caller: Channel, a1: Channel) -> None:
    ctx.e.dialbegin(caller, a1, a1.dialed)


def agent_rings(
    ctx: CallContext,
    caller: Channel,
    a1: Channel,
    a2: Channel,
    ring: float,
    answers: bool,
    *,
    key: str = "agent",
) -> None:
    """The agent phone rings; the caller's ``Dial`` sees ``RINGING``.

    Slots ``<key>.ringing`` (after the ``Newstate``) and ``<key>.rung`` (after
    ``DialState``); flags ``<key>.late-begin`` (the caller's ``DialBegin`` comes after the
    phone's first steps: pass ``begin=False`` to :func:`agent_pair`) and
    ``<key>.wait-late`` (the phone's ``Wait`` comes after the ``RINGTIME`` variables)."""
    e = ctx.e
    e.newexten(a2, "Ringing", "", priority=1)
    e.newstate(a1, 5)
    ctx.slot(f"{key}.ringing")
    late_wait = ctx.races.has(f"{key}.wait-late")
    if answers and not late_wait:
        e.newexten(a2, "Wait", f"{ring:g}", priority=2)
        ctx.slot(f"{key}.waiting")
    if ctx.races.has(f"{key}.late-begin"):
        dial_begin(ctx, caller, a1)
    e.varset(caller, "RINGTIME", "0")
    e.varset(caller, "RINGTIME_MS", "0")
    if answers and late_wait:
        e.newexten(a2, "Wait", f"{ring:g}", priority=2)
    e.dialstate(caller, a1)
    ctx.slot(f"{key}.rung")
    if not answers:
        e.newexten(a2, "Wait", "120", priority=2)


def agent_answers(
    ctx: CallContext,
    caller: Channel,
    a1: Channel,
    a2: Channel,
    talk: float,
    *,
    key: str = "agent",
) -> Bridge:
    """The agent answers: ``DialEnd ANSWER``, both legs bridged, the agent's timer starts.

    Slots ``<key>.up`` (after the phone's ``Newstate``), ``<key>.answered`` (after the
    ``DIALSTATUS`` variable), ``<key>.peer`` (after ``DIALEDPEERNUMBER``),
    ``<key>.dial-end``, ``<key>.bridge`` (after ``BridgeCreate``), ``<key>.callee-in`` /
    ``<key>.entered`` (after each ``BridgeEnter``) and ``<key>.bridged`` (after
    ``BRIDGEPEER``)."""
    e = ctx.e
    e.newexten(a2, "Answer", "", priority=3)
    e.newstate(a2, 6)
    ctx.slot(f"{key}.up")
    e.newstate(a1, 6)
    e.varset(caller, "DIALSTATUS", "ANSWER")
    ctx.slot(f"{key}.answered")
    e.varset(caller, "DIALEDPEERNAME", a1.name)
    e.varset(caller, "DIALEDPEERNUMBER", a1.dialed)
    ctx.slot(f"{key}.peer")
    a1.exten = ""
    e.dialend(caller, a1, "ANSWER")
    ctx.slot(f"{key}.dial-end")
    bridge = e.bridge_create()
    ctx.slot(f"{key}.bridge")
    e.newexten(a1, "AppDial", "(Outgoing Line)")
    e.bridge_enter(bridge, a1)
    ctx.slot(f"{key}.callee-in")
    e.bridge_enter(bridge, caller)
    ctx.slot(f"{key}.entered")
    e.varset(a1, "BRIDGEPEER", caller.name)
    e.varset(caller, "BRIDGEPEER", a1.name)
    ctx.slot(f"{key}.bridged")
    e.newexten(a2, "Wait", f"{talk:g}", priority=4)
    return bridge


def dial_done_vars(e: Emitter, ch: Channel, answered_ms: int, dialed_ms: int) -> None:
    e.varset(ch, "ANSWEREDTIME", str(answered_ms // 1000))
    e.varset(ch, "ANSWEREDTIME_MS", str(answered_ms))
    e.varset(ch, "DIALEDTIME", str(dialed_ms // 1000))
    e.varset(ch, "DIALEDTIME_MS", str(dialed_ms))


def ms_since(e: Emitter, t: float | None) -> int:
    return 0 if t is None else max(0, int((e.clock() - t) * 1000))
