"""One WebSocket connection as the hub sees it: who it is, its bounded queue, its pump."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Protocol

from cti.ami.events import CallInfo

#: close code sent to a client dropped because it does not read fast enough
CLOSE_TOO_SLOW = 4429
SUPERVISOR_ROLES = frozenset({"supervisor", "manager"})


class Socket(Protocol):
    """The part of a WebSocket the hub uses (aiohttp's ``WebSocketResponse``)."""

    async def send_str(self, data: str, compress: int | None = None) -> None: ...

    async def close(self, *, code: int = ..., message: bytes = ..., drain: bool = ...) -> bool: ...


@dataclass(frozen=True, slots=True)
class Operator:
    """Who a connection belongs to (from the bearer token)."""

    user_id: int
    username: str
    role: str
    extensions: tuple[str, ...]

    @property
    def is_supervisor(self) -> bool:
        return self.role in SUPERVISOR_ROLES


_client_ids = itertools.count(1)


@dataclass(eq=False)
class Client:
    """One WebSocket connection: its bounded outgoing queue and its subscriptions."""

    operator: Operator
    ws: Socket
    queue: asyncio.Queue[str]
    id: int = field(default_factory=lambda: next(_client_ids))
    sub_all: bool = False
    sub_queues: set[str] = field(default_factory=set)
    closed: bool = False

    def wants(self, call: CallInfo) -> bool:
        """A supervisor subscription covers this call."""
        return self.sub_all or (call.queue is not None and call.queue in self.sub_queues)

    async def pump(self) -> None:
        """Send queued frames until the socket fails or the task is cancelled."""
        while True:
            frame = await self.queue.get()
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return
