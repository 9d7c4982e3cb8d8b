"""The survey IVR (``from-trunk`` 600) run for real: ``AGI()`` connects to a FastAGI server.

With ``PbxSimulator(agi=AgiTarget(...))`` an IVR call no longer replays the recorded
command list (:data:`cti.pbxsim.inbound.AGI_SCRIPT`): its channel connects to the server
(cti's daemon, ``[agi]``), a respondent drawn from ``respondents`` (seeded by the call's
uniqueid) answers the questions, and each command shows on AMI as ``AGIExecStart`` /
``AGIExecEnd`` as Asterisk 22 sends them. How the call ends follows who ended it:

* the server hung up (``HANGUP``): ``AGISTATUS=HANGUP`` and the channel is gone: the
  caller's channel ends (:func:`~cti.pbxsim.endings.caller_ends`);
* the respondent hung up: the customer's phone (``;2``) hangs up first, then ``;1``;
* the server closed the socket without hanging up: ``AGISTATUS=SUCCESS``, or ``FAILURE``
  when it could not be reached or a command failed (a missing sound file, as in the
  recording), then the dialplan's ``NoOp`` and ``Hangup()``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from cti.pbxsim.agi import AgiSession, AgiTarget, AsteriskAgi, ChannelInfo
from cti.pbxsim.calls import CallContext
from cti.pbxsim.channels import Channel
from cti.pbxsim.endings import caller_ends
from cti.pbxsim.legs import quote_cid
from cti.pbxsim.respondents import RespondentProfile


@dataclass(frozen=True)
class LiveAgi:
    """Where the IVR's ``AGI()`` goes and who answers (``PbxSimulator(agi=…)``)."""

    target: AgiTarget
    respondents: RespondentProfile = field(default_factory=RespondentProfile)
    #: the sound files the PBX has (``None``: every prompt plays; ``frozenset()``: the lab)
    sounds: frozenset[str] | None = None


async def live_survey(ctx: CallContext, one: Channel, two: Channel, live: LiveAgi) -> AgiSession:
    """Run ``AGI()`` of ``one`` against the server, then end the call as it went."""
    e = ctx.e
    count = 0

    def command_id(n: int) -> str:
        return str(zlib.crc32(f"{one.uniqueid}/{n}".encode()) % 2_000_000_000)

    def started(command: str) -> None:
        head = f"CommandId: {command_id(count)}\r\nCommand: {command}\r\n"
        e.chan_event("AGIExecStart", one, head, "agi,all")

    def ended(command: str, code: int, result: str) -> None:
        nonlocal count
        head = f"CommandId: {command_id(count)}\r\nCommand: {command}\r\n"
        e.chan_event(
            "AGIExecEnd", one, f"{head}ResultCode: {code}\r\nResult: {result}\r\n", "agi,all"
        )
        count += 1

    info = ChannelInfo(
        channel=one.name, uniqueid=one.uniqueid, callerid=one.cid_num,
        calleridname=one.cid_name, context=one.context, extension=one.exten, priority=2,
        accountcode=one.account,
    )  # fmt: skip
    agi = AsteriskAgi(
        live.target, info, live.respondents.respondent(one.uniqueid),
        time_scale=ctx.time_scale, on_start=started, on_command=ended, sounds=live.sounds,
    )  # fmt: skip
    session = await agi.run()
    src, cid = one.cid_num, quote_cid(one.cid_num, one.cid_name)
    if session.hung_up and session.caller_hung_up:
        e.newexten(two, "Hangup", "", priority=3)
        e.softhanguprequest(two)
        e.hanguprequest(one)
        e.hangup(two)
        e.varset(one, "AGISTATUS", "HANGUP")
        e.softhanguprequest(one)
        e.hangup(one)
        e.cdr(two, source=src, caller_id=cid)
        e.cdr(one, source=src, caller_id=cid)
    elif session.hung_up:
        e.varset(one, "AGISTATUS", "HANGUP")
        caller_ends(ctx, one, two, lambda: e.cdr(one, source=src, caller_id=cid))
    else:
        status = "FAILURE" if session.failed or session.command_failed else "SUCCESS"
        e.varset(one, "AGISTATUS", status)
        e.newexten(one, "NoOp", f"AGISTATUS={status} SURVEY_RESULT=", priority=3)
        e.newexten(one, "Hangup", "", priority=4)
        caller_ends(ctx, one, two, lambda: e.cdr(one, source=src, caller_id=cid))
    return session
