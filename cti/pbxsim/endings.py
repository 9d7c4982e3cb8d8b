"""How a call ends: who hangs up first, and what Asterisk 22 sends for it.

The caller's Local channel runs out of dialplan (:func:`caller_ends`); the called phone
hangs up first (:func:`callee_hangs_up`); the phone of the side that ran ``Dial()`` hangs
up while bridged (:func:`dialler_hangs_up`); the caller gives up while the agent still
rings (:func:`caller_gives_up`). Steps other threads take are deferred, as in
:mod:`cti.pbxsim.legs`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from cti.pbxsim.calls import CallContext
from cti.pbxsim.channels import Bridge, Channel
from cti.pbxsim.legs import dial_done_vars, ms_since, quote_cid


def caller_ends(
    ctx: CallContext,
    one: Channel,
    two: Channel,
    cdrs: Callable[[], None] | None = None,
    cause: int = 16,
) -> None:
    """The originated channel's dialplan ends (``Hangup(cause)``): it hangs up, then its
    phone (``cdrs``: the call's other ``Cdr`` events, sent when ``;1`` is gone).

    Deferred ``end.one`` (``;1`` gone; slot ``end.one-gone`` after it), ``end.two-soft`` and
    ``end.two`` (the phone gone; slot ``end.two-gone``), in that order unless a recording's
    races put them at slot ``end.asked`` (after the phone was asked to hang up)."""
    e = ctx.e
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)

    def one_gone() -> None:
        e.hangup(one, cause)
        ctx.slot("end.one-gone")
        if cdrs is not None:
            cdrs()
        e.cdr(two, source=src, caller_id=cid)

    def two_gone() -> None:
        e.hangup(two, cause)
        ctx.slot("end.two-gone")

    e.softhanguprequest(one)
    e.hanguprequest(two, cause)
    ctx.defer("end.one", one_gone)
    ctx.defer("end.two-soft", partial(e.softhanguprequest, two))
    ctx.defer("end.two", two_gone)
    ctx.slot("end.asked")
    for name in ("end.one", "end.two-soft", "end.two"):
        ctx.due(name)


def callee_hangs_up(
    ctx: CallContext, one: Channel, two: Channel, a1: Channel, a2: Channel, bridge: Bridge,
    answered_at: float, dial_start: float,
) -> None:  # fmt: skip
    """The called phone hangs up first; then the caller's ``Dial()`` returns and it ends.

    Deferred: ``callee-gone`` (the callee's ``;1`` hangs up, due when it left the bridge)
    and ``destroy`` (the bridge goes, due when the caller left it); slots ``end.hangup``,
    ``end.unbridged``, ``end.done-vars``, ``end.dialstatus``, then :func:`caller_ends`."""
    e = ctx.e
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    e.newexten(a2, "Hangup", "", priority=5)
    ctx.slot("end.hangup")
    e.softhanguprequest(a2)
    e.hanguprequest(a1)
    e.hangup(a2)
    e.varset(a1, "BRIDGEPEER", "")
    e.varset(one, "BRIDGEPEER", "")
    ctx.slot("end.unbridged")
    e.bridge_leave(bridge, a1)
    ctx.defer("callee-gone", lambda: e.hangup(a1))
    ctx.due("callee-gone")
    e.cdr(a2, source=src, caller_id=cid)
    e.cdr(one, source=src, caller_id=cid, dest_channel=a1.name)
    e.bridge_leave(bridge, one)
    ctx.defer("destroy", lambda: e.bridge_destroy(bridge))
    ctx.due("destroy")
    dial_done_vars(e, one, ms_since(e, answered_at), ms_since(e, dial_start))
    ctx.slot("end.done-vars")
    e.varset(one, "DIALSTATUS", "ANSWER")
    ctx.slot("end.dialstatus")
    caller_ends(ctx, one, two)


def caller_gives_up(ctx: CallContext, one: Channel, two: Channel, a1: Channel, a2: Channel) -> None:
    """The customer hangs up while the agent's phone rings (inbound-missed)."""
    e = ctx.e
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
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


def dialler_hangs_up(
    ctx: CallContext, c1: Channel, c2: Channel, d1: Channel, d2: Channel, bridge: Bridge,
    answered_at: float, dial_start: float,
) -> None:  # fmt: skip
    """The phone of the channel that ran ``Dial()`` (``c1``/``c2``) hangs up while bridged
    with the dialled leg (``d1``/``d2``), which is then hung up (outbound-answered, where
    the called party leaves the agent, and click-to-dial-answered, where the agent leaves).
    Slot ``dialled.gone`` after the dialled ``;1`` hung up."""
    e = ctx.e
    src, cid = c1.cid_num, quote_cid(c1.cid_num, c1.cid_name)
    e.newexten(c2, "Hangup", "", priority=5)
    e.softhanguprequest(c2)
    e.hanguprequest(c1)
    e.hangup(c2)
    e.cdr(c2, source=src, caller_id=cid)
    e.varset(c1, "BRIDGEPEER", "")
    e.varset(d1, "BRIDGEPEER", "")
    e.bridge_leave(bridge, c1)
    dial_done_vars(e, c1, ms_since(e, answered_at), ms_since(e, dial_start))
    e.varset(c1, "DIALSTATUS", "ANSWER")
    e.softhanguprequest(c1)
    e.hangup(c1)
    e.bridge_leave(bridge, d1)
    e.bridge_destroy(bridge)
    e.hanguprequest(d2)
    e.hangup(d1)
    ctx.slot("dialled.gone")
    e.cdr(c1, source=src, caller_id=cid, dest_channel=d1.name)
    e.cdr(d2, source=src, caller_id=cid)
    e.softhanguprequest(d2)
    e.hangup(d2)
