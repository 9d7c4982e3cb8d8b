"""One AMI client session of the simulator: parse actions, answer like Asterisk 22.

Actions: Login, Logoff, Ping, Events, Originate (async), Hangup, Redirect, BlindTransfer,
CoreShowChannels, Command (``core show version`` / ``core show channels``), QueueStatus.
Anything else gets Asterisk's ``Invalid/unknown command``. Events go only to sessions that
logged in with events on; a session that vanishes mid-call just stops receiving them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cti.pbxsim.calls import Originate, Takeover
from cti.pbxsim.queue import interface, member_name

if TYPE_CHECKING:
    from cti.pbxsim.server import PbxSimulator

log = logging.getLogger(__name__)

VERSION = "Asterisk 22.10.1 built by pbxsim on a x86_64 running Linux"
MAX_MESSAGE = 64 * 1024
#: a client whose unsent output exceeds this is too slow to keep: it is disconnected
MAX_BACKLOG = 32 * 1024 * 1024
_CID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')

Message = dict[str, list[str]]


def parse_callerid(value: str) -> tuple[str, str]:
    """``"Name" <num>`` → (num, name); a bare value is the number."""
    match = _CID.match(value)
    if match:
        return match.group(2).strip(), match.group(1).strip()
    return value.strip(), ""


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Session:
    """One TCP client: reads ``Key: Value`` blocks, writes responses and (once logged in) events."""

    def __init__(
        self, sim: PbxSimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.sim = sim
        self.reader = reader
        self.writer = writer
        self.user: str | None = None
        self.peer = writer.get_extra_info("peername")
        self._handlers: dict[str, Callable[[Message, str], None]] = {
            "login": self._login,
            "logoff": self._logoff,
            "ping": self._ping,
            "events": self._events,
            "originate": self._originate,
            "hangup": self._hangup,
            "redirect": self._redirect,
            "blindtransfer": self._blind,
            "coreshowchannels": self._show_channels,
            "command": self._command,
            "queuestatus": self._queue_status,
        }
        self._closing = False

    # -- I/O ----------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            self.writer.write(b"Asterisk Call Manager/11.0.0\r\n")
            while not self._closing:
                msg = await self._read_message()
                if msg is None:
                    break
                self._dispatch(msg)
                await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            raise
        finally:
            self.close()

    async def _read_message(self) -> Message | None:
        msg: Message = {}
        size = 0
        while True:
            line = await self.reader.readline()
            if not line:
                return None
            size += len(line)
            if size > MAX_MESSAGE:
                log.warning("pbxsim: %s sent an oversized message; closing", self.peer)
                return None
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if size > len(line):  # a block with content, even if none of it parsed
                    return msg
                size = 0
                continue
            key, sep, value = text.partition(":")
            if sep:
                msg.setdefault(key.strip().lower(), []).append(value.strip())

    def send_events(self, data: bytes) -> None:
        """Called by the simulator with a pre-encoded batch of events."""
        transport = self.writer.transport
        if transport.is_closing():
            self.sim.remove_client(self)
            return
        if transport.get_write_buffer_size() > MAX_BACKLOG:
            log.warning("pbxsim: client %s too slow (backlog); disconnecting", self.peer)
            self.close()
            return
        self.writer.write(data)

    def close(self) -> None:
        self._closing = True
        self.sim.remove_client(self)
        if not self.writer.transport.is_closing():
            self.writer.close()

    def _reply(self, text: str) -> None:
        self.sim.flush()
        if not self.writer.transport.is_closing():
            self.writer.write(text.encode())

    @staticmethod
    def _get(msg: Message, key: str, default: str = "") -> str:
        values = msg.get(key.lower())
        return values[0] if values else default

    def _response(self, aid: str, status: str, message: str, extra: str = "") -> None:
        action = f"ActionID: {aid}\r\n" if aid else ""
        self._reply(f"Response: {status}\r\n{action}{extra}Message: {message}\r\n\r\n")

    # -- dispatch -----------------------------------------------------------------------
    def _dispatch(self, msg: Message) -> None:
        name = self._get(msg, "action").lower()
        aid = self._get(msg, "actionid")
        if not name:
            self._response(aid, "Error", "Missing action in request")
            return
        if self.user is None and name not in ("login", "logoff", "challenge"):
            self._response(aid, "Error", "Authentication Required")
            return
        handler = self._handlers.get(name)
        if handler is None:
            self._response(aid, "Error", "Invalid/unknown command")
            return
        handler(msg, aid)

    def _login(self, msg: Message, aid: str) -> None:
        user = self._get(msg, "username")
        secret = self._get(msg, "secret")
        expected = self.sim.users.get(user)
        if expected is None or secret != expected:
            log.info("pbxsim: failed login for user %r from %s", user, self.peer)
            self._response(aid, "Error", "Authentication failed")
            self._closing = True
            return
        self.user = user
        self._response(aid, "Success", "Authentication accepted")
        uptime = int(time.time() - self.sim.started_at)
        boot = f"Uptime: {uptime}\r\nLastReload: {uptime}\r\nStatus: Fully Booted\r\n\r\n"
        # sent to this session only, not through the event queue: never a Timestamp
        self.writer.write(f"Event: FullyBooted\r\nPrivilege: system,all\r\n{boot}".encode())
        if self._get(msg, "events", "on").lower() not in ("off", "no", "false", "0"):
            self.sim.add_client(self)
        log.info("pbxsim: %s logged in from %s", user, self.peer)

    def _logoff(self, msg: Message, aid: str) -> None:
        action = f"ActionID: {aid}\r\n" if aid else ""
        self._reply(f"Response: Goodbye\r\n{action}Message: Thanks for all the fish.\r\n\r\n")
        self._closing = True

    def _ping(self, msg: Message, aid: str) -> None:
        action = f"ActionID: {aid}\r\n" if aid else ""
        self._reply(
            f"Response: Success\r\n{action}Ping: Pong\r\nTimestamp: {self.sim.clock():.6f}\r\n\r\n"
        )

    def _events(self, msg: Message, aid: str) -> None:
        mask = self._get(msg, "eventmask", "on").lower()
        if mask in ("off", "no", "false", "0", "none"):
            self.sim.remove_client(self)
            self._reply(f"Response: Success\r\nActionID: {aid}\r\nEvents: Off\r\n\r\n")
        else:
            self.sim.add_client(self)
            self._reply(f"Response: Success\r\nActionID: {aid}\r\nEvents: On\r\n\r\n")

    def _originate(self, msg: Message, aid: str) -> None:
        channel = self._get(msg, "channel")
        if not channel:
            self._response(aid, "Error", "Channel not specified")
            return
        if "application" in msg:
            self._response(aid, "Error", "pbxsim supports Originate to Context/Exten only")
            return
        exten = self._get(msg, "exten")
        context = self._get(msg, "context")
        if not exten or not context:
            self._response(aid, "Error", "Exten and Context are required")
            return
        try:
            timeout = int(self._get(msg, "timeout", "30000")) / 1000.0
            priority = int(self._get(msg, "priority", "1"))
        except ValueError:
            self._response(aid, "Error", "Invalid timeout or priority")
            return
        variables: list[tuple[str, str]] = []
        for raw in msg.get("variable", []):
            for item in raw.split(","):
                key, sep, value = item.partition("=")
                if sep and key.strip():
                    variables.append((key.strip(), value))
        num, name = parse_callerid(self._get(msg, "callerid"))
        req = Originate(
            channel, context, exten, num, name, aid or None, priority, timeout, tuple(variables),
            self._get(msg, "account"),
        )  # fmt: skip
        self._response(aid, "Success", "Originate successfully queued")
        self.sim.originate(req)

    def _take(self, msg: Message, aid: str, take: Takeover, ok: str) -> None:
        found = self.sim.find_call(take.channel)
        if found is None:
            self._response(aid, "Error", "No such channel")
            return
        self._response(aid, "Success", ok)
        found[1].interrupt(take)

    def _hangup(self, msg: Message, aid: str) -> None:
        try:
            cause = int(self._get(msg, "cause", "16"))
        except ValueError:
            cause = 16
        take = Takeover("hangup", self._get(msg, "channel"), cause=cause)
        self._take(msg, aid, take, "Channel Hungup")

    def _redirect(self, msg: Message, aid: str) -> None:
        take = Takeover(
            "redirect",
            self._get(msg, "channel"),
            self._get(msg, "exten"),
            self._get(msg, "context"),
        )
        if not take.exten:
            self._response(aid, "Error", "Exten not specified")
            return
        self._take(msg, aid, take, "Redirect successful")

    def _blind(self, msg: Message, aid: str) -> None:
        take = Takeover(
            "blind", self._get(msg, "channel"), self._get(msg, "exten"), self._get(msg, "context")
        )
        if not take.exten:
            self._response(aid, "Error", "No extension specified")
            return
        self._take(msg, aid, take, "Transfer succeeded")

    def _show_channels(self, msg: Message, aid: str) -> None:
        self._response(aid, "Success", "Channels will follow", "EventList: start\r\n")
        now = self.sim.clock()
        parts = []
        channels = list(self.sim.emitter.channels.values())
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
        self._reply("".join(parts))

    def _command(self, msg: Message, aid: str) -> None:
        command = " ".join(self._get(msg, "command").split()).lower()
        action = f"ActionID: {aid}\r\n" if aid else ""
        if command == "core show version":
            lines = [VERSION]
        elif command == "core show channels":
            channels = list(self.sim.emitter.channels.values())
            lines = ["Channel                                                          Location"]
            for ch in channels:
                where = f"{ch.exten}@{ch.context}:{ch.priority}"
                lines.append(f"{ch.name:<64} {where:<24} {ch.application}({ch.app_data})")
            lines.append(f"{len(channels)} active channels")
            lines.append(f"{len(self.sim.calls)} active calls")
        else:
            lines = [f"No such command '{command}' (type 'core show help {command}' for help)"]
            self._reply(f"Response: Error\r\n{action}Message: Command output follows\r\n"
                        + "".join(f"Output: {line}\r\n" for line in lines) + "\r\n")  # fmt: skip
            return
        output = "".join(f"Output: {line}\r\n" for line in lines)
        self._reply(f"Response: Success\r\n{action}Message: Command output follows\r\n{output}\r\n")

    def _queue_status(self, msg: Message, aid: str) -> None:
        only_queue = self._get(msg, "queue")
        only_member = self._get(msg, "member")
        self._response(aid, "Success", "Queue status will follow", "EventList: start\r\n")
        now = self.sim.clock()
        parts: list[str] = []
        for q in self.sim.queues.values():
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
                if only_member and only_member not in (ext, interface(ext), member_name(ext)):
                    continue
                in_call = any(ch.agent == ext for ch in self.sim.emitter.channels.values())
                parts.append(
                    f"Event: QueueMember\r\nQueue: {q.name}\r\nName: {member_name(ext)}\r\n"
                    f"Location: {interface(ext)}\r\nStateInterface: {interface(ext)}\r\n"
                    "Membership: static\r\nPenalty: 0\r\n"
                    f"CallsTaken: {q.calls_taken.get(ext, 0)}\r\n"
                    f"LastCall: {q.last_call.get(ext, 0)}\r\nLastPause: 0\r\nLoginTime: 0\r\n"
                    f"InCall: {int(in_call)}\r\nStatus: {2 if in_call else 1}\r\nPaused: 0\r\n"
                    f"PausedReason: \r\nWrapuptime: 0\r\nActionID: {aid}\r\n\r\n"
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
        self._reply("".join(parts))
