"""One WebSocket connection as the hub sees it: who it is, its subscriptions, its socket.

Frames are written straight to the connection's transport the moment the hub routes them:
no per-client queue or task sits between an AMI event and the kernel, so a pop leaves in the
same event-loop step as the ``DialBegin`` that caused it. The transport's own write buffer is
the client's backlog: a client whose unsent bytes pass its limit is too slow and is dropped.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from typing import Protocol

from cti.ami.events import CallInfo
from cti.crm_store.rules.visibility import sees_everything
from cti.screenpop.routing import watches

#: close code sent to a client dropped because it does not read fast enough
CLOSE_TOO_SLOW = 4429
#: close code of a connection whose session ended (logout, user disabled, password changed)
CLOSE_SESSION_ENDED = 4401
#: close code of a user's oldest connection when they open one more than allowed
CLOSE_TOO_MANY = 4408
#: unsent bytes a client may have before it counts as too slow (≈ 250 full pops)
DEFAULT_BACKLOG = 1 << 20

_TEXT = 0x81  # FIN + text opcode (RFC 6455 §5.2)


def text_frame(text: str) -> bytes:
    """``text`` as one unmasked, uncompressed WebSocket text frame (server to client)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", _TEXT, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", _TEXT, 126, size)
    else:
        head = struct.pack("!BBQ", _TEXT, 127, size)
    return head + payload


class Transport(Protocol):
    """The part of the connection's transport the hub writes to (``asyncio.Transport``)."""

    def write(self, data: bytes) -> None: ...

    def get_write_buffer_size(self) -> int: ...

    def is_closing(self) -> bool: ...

    def abort(self) -> None: ...


class Socket(Protocol):
    """The part of a WebSocket the hub closes (aiohttp's ``WebSocketResponse``)."""

    async def close(self, *, code: int = ..., message: bytes = ..., drain: bool = ...) -> bool: ...


@dataclass(frozen=True, slots=True)
class Operator:
    """Who a connection belongs to (from the bearer token)."""

    user_id: int
    username: str
    role: str
    extensions: tuple[str, ...]
    #: SHA-256 of the token the connection was opened with (a logout ends it)
    token_hash: str = ""

    @property
    def is_supervisor(self) -> bool:
        return sees_everything(self.role)


_client_ids = itertools.count(1)


@dataclass(eq=False)
class Client:
    """One WebSocket connection: where its frames go and what it subscribed to.

    The WebSocket must not compress (aiohttp ``compress=False``): the hub writes whole
    uncompressed frames to ``transport`` beside aiohttp's own pings, pongs and close frame.
    """

    operator: Operator
    ws: Socket
    transport: Transport
    backlog: int = DEFAULT_BACKLOG
    id: int = field(default_factory=lambda: next(_client_ids))
    sub_all: bool = False
    sub_queues: set[str] = field(default_factory=set)
    closed: bool = False

    def wants(self, call: CallInfo) -> bool:
        """A supervisor subscription covers this call."""
        return watches(self.sub_all, self.sub_queues, call.queue)

    def write(self, frame: bytes) -> bool:
        """Send one encoded frame now; False when the client is too slow to keep."""
        transport = self.transport
        if transport.is_closing():
            return True  # going away: its handler unregisters it
        transport.write(frame)
        return transport.get_write_buffer_size() <= self.backlog
