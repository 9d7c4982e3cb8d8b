"""One AMI client session of the simulator: parse actions, answer like Asterisk 22.

Actions: Login, Logoff, Ping, Events, Originate (async; refused at once when its
Context/Exten is not in the dialplan), Hangup, Redirect, BlindTransfer, Atxfer, Setvar,
CoreShowChannels, Command (``core show version`` / ``core show channels``), QueueStatus,
QueueAdd, QueueRemove, QueuePause (:mod:`cti.pbxsim.members`), Filter (:mod:`cti.pbxsim.filters`).
Anything else gets Asterisk's ``Invalid/unknown command``. Events go only to sessions that
logged in with events on; a session that vanishes mid-call just stops receiving them.
Asterisk writes a response at once but queues events; so an event an action causes comes
after its response, and ``Atxfer`` (queued, like ``Originate``) does not wait for events
other actions caused before it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cti.pbxsim import members, status
from cti.pbxsim.calls import Originate, Takeover
from cti.pbxsim.filters import EventFilter, parse_filter

if TYPE_CHECKING:
    from cti.pbxsim.server import PbxSimulator

log = logging.getLogger(__name__)

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
            "atxfer": self._atxfer,
            "setvar": self._setvar,
            "coreshowchannels": self._show_channels,
            "command": self._command,
            "queuestatus": self._queue_status,
            "queueadd": self._queue_add,
            "queueremove": self._queue_remove,
            "queuepause": self._queue_pause,
            "filter": self._filter,
        }
        self._closing = False
        #: this session's event filters (the Filter action); empty: every event
        self.filters: tuple[EventFilter, ...] = ()

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

    def _reply(self, text: str, *, flush: bool = True) -> None:
        if flush:
            self.sim.flush()
        if not self.writer.transport.is_closing():
            self.writer.write(text.encode())

    @staticmethod
    def _get(msg: Message, key: str, default: str = "") -> str:
        values = msg.get(key.lower())
        return values[0] if values else default

    def _response(
        self, aid: str, status: str, message: str, extra: str = "", *, flush: bool = True
    ) -> None:
        action = f"ActionID: {aid}\r\n" if aid else ""
        self._reply(f"Response: {status}\r\n{action}{extra}Message: {message}\r\n\r\n", flush=flush)

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
        if not self.sim.dialplan.exists(context, exten):
            self._response(aid, "Error", "Extension does not exist.")
            return
        num, name = parse_callerid(self._get(msg, "callerid"))
        req = Originate(
            channel, context, exten, num, name, aid or None, priority, timeout, tuple(variables),
            self._get(msg, "account"),
        )  # fmt: skip
        self._response(aid, "Success", "Originate successfully queued")
        self.sim.originate(req)

    def _take(
        self, msg: Message, aid: str, take: Takeover, ok: str, missing: str = "No such channel"
    ) -> None:
        found = self.sim.find_call(take.channel)
        if found is None:
            self._response(aid, "Error", missing)
            return
        queued = take.kind == "atxfer"
        self._response(aid, "Success", ok, flush=not queued)
        if not queued or take.kind in found[1].accepts:
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
        if self._transfer_checks(aid, take):
            self._take(msg, aid, take, "Transfer succeeded", "Channel specified does not exist")

    def _atxfer(self, msg: Message, aid: str) -> None:
        """Queue the attended-transfer feature; it works where the Dial gave the agent the
        transfer features (cti-inbound's ``tT``), elsewhere the digits just pass."""
        take = Takeover(
            "atxfer", self._get(msg, "channel"), self._get(msg, "exten"), self._get(msg, "context")
        )
        if self._transfer_checks(aid, take):
            self._take(msg, aid, take, "Atxfer successfully queued",
                       "Channel specified does not exist")  # fmt: skip

    def _transfer_checks(self, aid: str, take: Takeover) -> bool:
        if not take.channel:
            self._response(aid, "Error", "No channel specified")
            return False
        if not take.exten:
            self._response(aid, "Error", "No extension specified")
            return False
        return True

    def _filter(self, msg: Message, aid: str) -> None:
        """``Filter`` / ``Operation: Add``: narrow this session's events (Asterisk 22 wants
        ``write = system`` for it: the simulator's ``filter_allowed``)."""
        if not self.sim.filter_allowed:
            self._response(aid, "Error", "Permission denied")
            return
        if self._get(msg, "operation").lower() != "add":
            self._response(aid, "Error", "Unknown operation")
            return
        try:
            new = parse_filter(self._get(msg, "matchcriteria"), self._get(msg, "filter"))
        except ValueError as exc:
            text = "Filter did not compile." if "compile" in str(exc) else "Filter was formatted"
            self._response(aid, "Error", f"{text}  Check the syntax of the filter given.")
            return
        self.filters = (*self.filters, new)
        self._response(aid, "Success", "Success")

    def _setvar(self, msg: Message, aid: str) -> None:
        """Set a channel variable (its ``VarSet`` follows the response) or a global one."""
        name = self._get(msg, "variable")
        if not name:
            self._response(aid, "Error", "No variable specified")
            return
        channel = self._get(msg, "channel")
        value = self._get(msg, "value")
        if not channel:
            self.sim.globals[name] = value
            self._response(aid, "Success", "Variable Set")
            return
        ch = self.sim.emitter.channels.get(channel)
        if ch is None:
            self._response(aid, "Error", "No such channel")
            return
        self._response(aid, "Success", "Variable Set")
        self.sim.emitter.varset(ch, name, value)

    def _show_channels(self, msg: Message, aid: str) -> None:
        self._response(aid, "Success", "Channels will follow", "EventList: start\r\n")
        self._reply(status.channel_list(self.sim, aid))

    def _command(self, msg: Message, aid: str) -> None:
        command = " ".join(self._get(msg, "command").split()).lower()
        self._reply(status.command(self.sim, command, aid))

    def _queue_status(self, msg: Message, aid: str) -> None:
        self._response(aid, "Success", "Queue status will follow", "EventList: start\r\n")
        queue, member = self._get(msg, "queue"), self._get(msg, "member")
        self._reply(status.queue_status(self.sim, aid, queue, member))

    def _member(self, msg: Message, aid: str, missing: str) -> tuple[str, str] | None:
        """The action's ``Interface`` as a member extension (``Local/<ext>@agents``)."""
        iface = self._get(msg, "interface")
        ext = members.member_ext(iface)
        if not iface:
            self._response(aid, "Error", missing)
            return None
        if ext is None:
            self._response(
                aid, "Error", f"Interface {iface!r}: expected TECH/EXT or Local/EXT@CONTEXT"
            )
            return None
        return iface, ext

    def _queue_add(self, msg: Message, aid: str) -> None:
        name = self._get(msg, "queue")
        if not name:
            self._response(aid, "Error", "'Queue' not specified.")
            return
        found = self._member(msg, aid, "'Interface' not specified.")
        if found is None:
            return
        q = self.sim.queues.get(name)
        if q is None:
            self._response(aid, "Error", "Unable to add interface to queue: No such queue")
            return
        if found[1] in q.members:
            self._response(aid, "Error", "Unable to add interface: Already there")
            return
        try:
            penalty = int(self._get(msg, "penalty", "0") or 0)
        except ValueError:
            penalty = 0
        paused = _truthy(self._get(msg, "paused"))
        self._response(aid, "Success", "Added interface to queue")
        members.add(
            self.sim, q, found[1], iface=found[0], name=self._get(msg, "membername"),
            penalty=penalty, paused=paused, reason=self._get(msg, "reason"),
        )  # fmt: skip

    def _queue_remove(self, msg: Message, aid: str) -> None:
        name = self._get(msg, "queue")
        if not name:
            self._response(aid, "Error", "Need 'Queue' and 'Interface' parameters.")
            return
        found = self._member(msg, aid, "Need 'Queue' and 'Interface' parameters.")
        if found is None:
            return
        q = self.sim.queues.get(name)
        if q is None:
            self._response(aid, "Error", "Unable to remove interface from queue: No such queue")
        elif found[1] not in q.members:
            self._response(aid, "Error", "Unable to remove interface: Not there")
        elif q.member(found[1]).membership != "dynamic":
            self._response(aid, "Error", "Member not dynamic")
        else:
            self._response(aid, "Success", "Removed interface from queue")
            members.remove(self.sim, q, found[1])

    def _queue_pause(self, msg: Message, aid: str) -> None:
        """Pause in ``Queue`` or, without one, in every queue the member is in."""
        text = self._get(msg, "paused")
        found = self._member(msg, aid, "Need 'Interface' and 'Paused' parameters.")
        if found is None:
            return
        if not text:
            self._response(aid, "Error", "Need 'Interface' and 'Paused' parameters.")
            return
        name, paused = self._get(msg, "queue"), _truthy(text)
        queues = [q for q in self.sim.queues.values()
                  if found[1] in q.members and name in ("", q.name)]  # fmt: skip
        if not queues:
            self._response(aid, "Error", "Interface not found")
            return
        done = "paused" if paused else "unpaused"
        self._response(aid, "Success", f"Interface {done} successfully")
        for q in queues:
            members.pause(self.sim, q, found[1], paused, self._get(msg, "reason"))


def _truthy(value: str) -> bool:
    """Asterisk's ``ast_true``."""
    return value.strip().lower() in ("yes", "true", "y", "t", "1", "on")
