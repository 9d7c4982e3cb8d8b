"""What the simulator lists on request: ``CoreShowChannels``, ``Command``, ``QueueStatus``
(what cti reads after a reconnect to rebuild the calls it lost)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.pbxsim.queue import iface, label

if TYPE_CHECKING:
    from cti.pbxsim.server import PbxSimulator

VERSION = "Asterisk 22.10.1 built by pbxsim on a x86_64 running Linux"


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def channel_list(sim: PbxSimulator, aid: str) -> str:
    """``CoreShowChannel`` per live channel, then ``CoreShowChannelsComplete``."""
    now = sim.clock()
    parts = []
    channels = list(sim.emitter.channels.values())
    for ch in channels:
        parts.append(
            f"Event: CoreShowChannel\r\nActionID: {aid}\r\n{ch.block()}"
            f"BridgeId: {ch.bridge or ''}\r\nApplication: {ch.application}\r\n"
            f"ApplicationData: {ch.app_data}\r\nDuration: {_duration(now - ch.created)}\r\n\r\n"
        )
    parts.append(
        f"Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
        f"ListItems: {len(channels)}\r\n\r\n"
    )
    return "".join(parts)


def command(sim: PbxSimulator, command: str, aid: str) -> str:
    """The response to ``Command`` (``core show version`` / ``core show channels``)."""
    action = f"ActionID: {aid}\r\n" if aid else ""
    if command == "core show version":
        lines = [VERSION]
    elif command == "core show channels":
        channels = list(sim.emitter.channels.values())
        lines = ["Channel                                                          Location"]
        for ch in channels:
            where = f"{ch.exten}@{ch.context}:{ch.priority}"
            lines.append(f"{ch.name:<64} {where:<24} {ch.application}({ch.app_data})")
        lines.append(f"{len(channels)} active channels")
        lines.append(f"{len(sim.calls)} active calls")
    else:
        lines = [f"No such command '{command}' (type 'core show help {command}' for help)"]
        return (f"Response: Error\r\n{action}Message: Command output follows\r\n"
                + "".join(f"Output: {line}\r\n" for line in lines) + "\r\n")  # fmt: skip
    output = "".join(f"Output: {line}\r\n" for line in lines)
    return f"Response: Success\r\n{action}Message: Command output follows\r\n{output}\r\n"


def queue_status(sim: PbxSimulator, aid: str, only_queue: str, only_member: str) -> str:
    """``QueueParams``, ``QueueMember`` and ``QueueEntry`` events, then the list's end."""
    now = sim.clock()
    parts: list[str] = []
    for q in sim.queues.values():
        if only_queue and q.name != only_queue:
            continue
        parts.append(
            f"Event: QueueParams\r\nQueue: {q.name}\r\nMax: 0\r\nStrategy: ringall\r\n"
            f"Calls: {len(q.waiting)}\r\nHoldtime: 0\r\nTalkTime: 0\r\n"
            f"Completed: {q.completed}\r\nAbandoned: {q.abandoned}\r\nServiceLevel: 0\r\n"
            f"ServicelevelPerf: 0.0\r\nServicelevelPerf2: 0.0\r\nWeight: 0\r\n"
            f"ActionID: {aid}\r\n\r\n"
        )
        for ext in q.members:
            if only_member and only_member not in (ext, iface(q, ext), label(q, ext)):
                continue
            in_call = any(ch.agent == ext for ch in sim.emitter.channels.values())
            m = q.member(ext)
            parts.append(
                f"Event: QueueMember\r\nQueue: {q.name}\r\nName: {label(q, ext)}\r\n"
                f"Location: {iface(q, ext)}\r\nStateInterface: {iface(q, ext)}\r\n"
                f"Membership: {m.membership}\r\nPenalty: {m.penalty}\r\n"
                f"CallsTaken: {q.calls_taken.get(ext, 0)}\r\n"
                f"LastCall: {q.last_call.get(ext, 0)}\r\nLastPause: {m.last_pause}\r\n"
                f"LoginTime: {m.login_time}\r\n"
                f"InCall: {int(in_call)}\r\nStatus: {2 if in_call else 1}\r\n"
                f"Paused: {int(m.paused)}\r\nPausedReason: {m.reason}\r\n"
                f"Wrapuptime: {int(q.wrapup)}\r\nActionID: {aid}\r\n\r\n"
            )
        for pos, ch in enumerate(q.waiting, 1):
            parts.append(
                f"Event: QueueEntry\r\nQueue: {q.name}\r\nPosition: {pos}\r\n"
                f"Channel: {ch.name}\r\n"
                f"Uniqueid: {ch.uniqueid}\r\nCallerIDNum: {ch.cid_num}\r\n"
                f"CallerIDName: {ch.cid_name}\r\nConnectedLineNum: {ch.cl_num}\r\n"
                f"ConnectedLineName: {ch.cl_name}\r\nWait: {int(now - ch.created)}\r\n"
                f"Priority: 0\r\nActionID: {aid}\r\n\r\n"
            )
    parts.append(
        f"Event: QueueStatusComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
        f"ListItems: {len(parts)}\r\n\r\n"
    )
    return "".join(parts)
