"""The screen-pop hub: holds the operators' connections and sends them their calls' frames.

Who gets an event is decided by :func:`cti.screenpop.routing.route` (never a broadcast: the
operators of the extensions a call involved, and the supervisors watching it); the hub maps
those extensions to connections, builds the frames and writes them. Handling is synchronous
(the bus calls :meth:`Hub.handle`): each frame is serialized and framed once for all its
recipients. A pop is written to the sockets at
once, in the same event-loop step as the AMI event; the other call frames (answered, ended,
transferred …) wait for the end of that step, so a burst of AMI traffic does not hold back
the pop behind it with their JSON and socket writes. Each client still gets its frames in
order: a pop first writes what waits for that client. A slow or dead client never delays
anyone: its unsent bytes wait in its own transport buffer, and past its backlog limit it is
dropped and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cti.ami.events import (
    AgentRinging,
    AgentStoppedRinging,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallInfo,
    CallQueued,
    CallStarted,
    CallTransferred,
    DeviceStateChanged,
    OriginateFailed,
    PbxRestarted,
    QueueMemberChanged,
)
from cti.screenpop import frames
from cti.screenpop.cards import CardBuilder, CardJob
from cti.screenpop.clients import (
    CLOSE_SESSION_ENDED,
    CLOSE_TOO_MANY,
    CLOSE_TOO_SLOW,
    DEFAULT_BACKLOG,
    Client,
    Operator,
    Socket,
    Transport,
    text_frame,
)
from cti.screenpop.routing import Ring, route, shown_on_connect
from cti.web.sessions import Ended

log = logging.getLogger(__name__)
#: events whose own frame goes out as it is (:func:`cti.screenpop.frames.event`)
_FRAMED = (AgentStoppedRinging, CallQueued, CallTransferred, CallEnded)


@dataclass(eq=False)
class LiveCall:
    info: CallInfo
    #: who the call involves (ringing, rung, answered by): what routing decides from
    ring: Ring = field(default_factory=Ring)
    seen_by: set[int] = field(default_factory=set)  # client ids that got call.ringing
    #: events that arrived while the first pop waited for its card (replayed in order)
    deferred: list[CallEvent] | None = None
    update_pending: bool = False  # a pop.update is scheduled


@dataclass(eq=False)
class _Later:
    """A frame written at the end of the loop step, to one or more clients."""

    message: dict[str, Any]
    frame: bytes | None = None

    def encoded(self) -> bytes:
        if self.frame is None:
            self.frame = text_frame(json.dumps(self.message))
        return self.frame


@dataclass
class HubStats:
    pops: int = 0
    frames: int = 0
    dropped_clients: int = 0
    late_pops: int = 0  # pops sent before the card was complete (a pop.update followed)


class Hub:
    """Connections and live calls; sends each event to the clients its route names.

    ``budget`` is how long a pop may wait for the caller's match (a few indexed reads);
    ``card_budget`` how much longer it may wait for the rest of the card (deals, tickets,
    history, tasks: one store call). Past them the pop goes out with what is
    known and ``pop.update`` follows. ``backlog`` bounds each client's unsent bytes.
    """

    def __init__(
        self,
        cards: CardBuilder,
        *,
        budget: float = 0.002,
        card_budget: float = 0.0,
        backlog: int = DEFAULT_BACKLOG,
        max_per_user: int = 0,
    ) -> None:
        self.cards = cards
        #: live connections one user may hold (0: no limit); one more closes the oldest
        self.max_per_user = max_per_user
        self.budget = budget
        self.card_budget = card_budget
        self.backlog = backlog
        self.stats = HubStats()
        self.calls: dict[str, LiveCall] = {}
        self._by_ext: dict[str, set[Client]] = {}
        self._by_user: dict[int, dict[int, Client]] = {}  # user id → client id → client
        self._clients: dict[int, Client] = {}
        #: clients with a supervisor subscription (scanned per event: operators never are)
        self._watchers: set[Client] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        #: per client id, the frames that wait for the end of the loop step (in order)
        self._later: dict[int, tuple[Client, list[_Later]]] = {}
        self._flush_at_end: asyncio.Handle | None = None
        self.on_drop: Callable[[Client], None] | None = None
        self.on_connect: Callable[[Client], None] | None = None
        #: told of every closed connection (the daemon's GC policy counts their garbage)
        self.on_disconnect: Callable[[int], None] | None = None
        #: extensions seen rung by each queue (who gets the queue's callback reminders)
        self.queue_agents: dict[str, set[str]] = {}

    # -- connections -----------------------------------------------------------------
    @property
    def clients(self) -> list[Client]:
        return list(self._clients.values())

    def connect(self, operator: Operator, ws: Socket, transport: Transport) -> Client:
        """Register a connection, send its ``hello`` and the calls live for it now. At the
        user's limit (:attr:`max_per_user`) their oldest connection closes, saying why (a
        browser that reloads in a loop, a script that leaks sockets)."""
        if self.max_per_user > 0:
            mine = self.clients_of_user(operator.user_id)
            for old in mine[: max(0, len(mine) - self.max_per_user + 1)]:
                self.close_client(old, CLOSE_TOO_MANY, "too many connections: the oldest closed")
        client = Client(operator, ws, transport, self.backlog)
        self._clients[client.id] = client
        for ext in operator.extensions:
            self._by_ext.setdefault(ext, set()).add(client)
        self._by_user.setdefault(operator.user_id, {})[client.id] = client
        self._push(client, text_frame(json.dumps(frames.hello(operator))))
        for live in list(self.calls.values()):
            if shown_on_connect(live.ring, operator.extensions):
                self._replay(client, live)
        if self.on_connect is not None:
            self.on_connect(client)
        return client

    def disconnect(self, client: Client) -> None:
        if client.closed:
            return
        client.closed = True
        if self.on_disconnect is not None:
            self.on_disconnect(1)
        self._clients.pop(client.id, None)
        self._later.pop(client.id, None)
        self._watchers.discard(client)
        mine = self._by_user.get(client.operator.user_id)
        if mine is not None:
            mine.pop(client.id, None)
            if not mine:
                del self._by_user[client.operator.user_id]
        for ext in client.operator.extensions:
            group = self._by_ext.get(ext)
            if group is not None:
                group.discard(client)
                if not group:
                    del self._by_ext[ext]

    def end_sessions(self, ended: Ended) -> int:
        """Close every connection of a session that ended (see :mod:`cti.web.sessions`)."""
        gone = [c for c in self.clients if ended.covers(c.operator.token_hash, c.operator.user_id)]
        for client in gone:
            self.close_client(client, CLOSE_SESSION_ENDED, f"session ended: {ended.reason}")
        return len(gone)

    def close_client(self, client: Client, code: int, reason: str) -> None:
        """Unregister ``client`` now (no frame reaches it any more) and close it, saying why."""
        self.disconnect(client)
        self._spawn(self._close(client, code, reason), f"ws-close:{client.id}")

    @staticmethod
    async def _close(client: Client, code: int, reason: str) -> None:
        message = frames.closing(reason)
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            client.transport.write(text_frame(json.dumps(message)))
            await asyncio.wait_for(client.ws.close(code=code, message=reason.encode()[:120]), 1.0)
        if not client.transport.is_closing():
            client.transport.abort()

    def subscribe(self, client: Client, *, all_calls: bool, queue: str | None) -> None:
        """A supervisor follows all calls or a queue; the matching live calls come at once."""
        if all_calls:
            client.sub_all = True
        if queue is not None:
            client.sub_queues.add(queue)
        self._watchers.add(client)
        for live in list(self.calls.values()):
            if client.wants(live.info) and client.id not in live.seen_by:
                self._replay(client, live)

    def unsubscribe(self, client: Client, *, all_calls: bool, queue: str | None) -> None:
        if all_calls:
            client.sub_all = False
        if queue is not None:
            client.sub_queues.discard(queue)
        if not client.sub_all and not client.sub_queues:
            self._watchers.discard(client)

    def send(self, clients: Iterable[Client], message: dict[str, Any]) -> None:
        """Serialize and frame ``message`` once and write it to each client."""
        frame = text_frame(json.dumps(message))
        for client in clients:
            self._push(client, frame)

    def send_later(self, clients: Iterable[Client], message: dict[str, Any]) -> None:
        """Like :meth:`send`, at the end of this loop step, or before the client's next
        :meth:`send` (its frames keep their order)."""
        item = _Later(message)
        for client in clients:
            if client.closed:
                continue
            queued = self._later.get(client.id)
            if queued is None:
                self._later[client.id] = (client, [item])
            else:
                queued[1].append(item)
        if self._later and self._flush_at_end is None:
            self._flush_at_end = asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write every frame :meth:`send_later` holds."""
        self._flush_at_end = None
        waiting, self._later = self._later, {}
        for client, items in waiting.values():
            self._write(client, b"".join([item.encoded() for item in items]), len(items))

    def clients_of(self, extensions: Iterable[str]) -> set[Client]:
        found: set[Client] = set()
        for ext in extensions:
            found |= self._by_ext.get(ext, set())
        return found

    def clients_of_user(self, user_id: int) -> list[Client]:
        """The user's connections, oldest first."""
        return list(self._by_user.get(user_id, {}).values())

    def _push(self, client: Client, frame: bytes) -> None:
        queued = self._later.pop(client.id, None)
        if queued is None:
            self._write(client, frame, 1)
        else:  # what send_later holds for this client goes first
            items = queued[1]
            self._write(client, b"".join([*(i.encoded() for i in items), frame]), len(items) + 1)

    def _write(self, client: Client, frames: bytes, count: int) -> None:
        if client.closed:
            return
        if client.write(frames):
            self.stats.frames += count
        else:
            self._drop(client)

    def _drop(self, client: Client) -> None:
        """A client that cannot keep up: unregister now, close in the background."""
        log.warning(
            "dropping slow WebSocket client of %s (%d bytes unsent)",
            client.operator.username,
            client.transport.get_write_buffer_size(),
        )
        self.stats.dropped_clients += 1
        self.disconnect(client)
        if self.on_drop is not None:
            self.on_drop(client)
        self._spawn(self._close_slow(client), f"ws-drop:{client.id}")

    @staticmethod
    async def _close_slow(client: Client) -> None:
        # the close frame queues behind the backlog; whatever the client makes of it, the
        # connection and its buffered bytes are gone half a second later
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(
                client.ws.close(code=CLOSE_TOO_SLOW, message=b"too slow", drain=False), 0.5
            )
        if not client.transport.is_closing():
            client.transport.abort()

    def _spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel the hub's own tasks (pending pops, closes) and the card builds."""
        if self._flush_at_end is not None:
            self._flush_at_end.cancel()
            self.flush()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.cards.close()

    def _answered(self, live: LiveCall, when: datetime | None) -> dict[str, Any]:
        agent = live.ring.answered_by
        names = sorted({c.operator.username for c in self.clients_of([agent])}) if agent else []
        return frames.answered(live.info.call_id, when, agent, names)

    def _pop(self, live: LiveCall, clients: Iterable[Client]) -> None:
        fresh = [c for c in clients if c.id not in live.seen_by]
        if not fresh:
            return
        job = self.cards.start(live.info)
        self.send(fresh, frames.ringing(live.info, live.ring, job.card.to_json()))
        live.seen_by.update(c.id for c in fresh)
        self.stats.pops += len(fresh)
        if not job.card.complete and not live.update_pending:
            live.update_pending = True  # one pop.update per call, to everyone popped by then
            self.stats.late_pops += 1
            self._spawn(self._send_update(live, job), f"pop-update:{live.info.call_id}")

    def _replay(self, client: Client, live: LiveCall) -> None:
        self._pop(live, [client])
        if live.ring.answered_by is not None:
            self.send([client], self._answered(live, None))

    def _recipients(self, live: LiveCall, extensions: Iterable[str], watchers: bool) -> set[Client]:
        """The clients of ``extensions``, and the watchers of the call when ``watchers``."""
        found = self.clients_of(extensions)
        if watchers:
            found.update(c for c in self._watchers if c.wants(live.info))
        return found

    # -- events ------------------------------------------------------------------------
    def handle(self, event: CallEvent) -> None:
        """Route one tracker event (synchronous: called by the bus as events arrive)."""
        if isinstance(event, OriginateFailed | DeviceStateChanged | QueueMemberChanged):
            return  # no call to pop (the dialer follows these)
        if isinstance(event, PbxRestarted):
            for call_id, live in list(self.calls.items()):
                if live.info.pbx == event.pbx:
                    to = route(live.ring, event)
                    audience = self._recipients(live, to.notify, to.watchers)
                    self.send_later(audience, frames.lost(call_id, event.ts))
                    self._end(call_id)
            return
        found = self.calls.get(event.call.call_id)
        if found is None:
            if isinstance(event, CallEnded):
                self.cards.forget(event.call.call_id)
                return
            live = self.calls[event.call.call_id] = LiveCall(info=event.call)
        else:
            live = found
            live.info = event.call
        if live.deferred is not None:
            live.deferred.append(event)
            return
        self._apply(live, event)

    def _apply(self, live: LiveCall, event: CallEvent) -> None:
        call_id = live.info.call_id
        if isinstance(event, CallStarted):
            if live.info.external_number:
                # prefetch the caller's match while the call routes (IVR, queue …); the rest
                # of the card is loaded only if an agent's phone rings
                self.cards.start(live.info, details=False)
            return
        to = route(live.ring, event)
        live.ring = to.ring
        if isinstance(event, AgentRinging):
            if live.info.queue is not None:
                self.queue_agents.setdefault(live.info.queue, set()).add(event.agent)
            targets = self._recipients(live, to.pop, to.watchers)
            if not targets:
                # nobody is logged in to see it: look up the caller only (a reconnecting
                # operator's replay loads the rest)
                self.cards.start(live.info, details=False)
                return
            job = self.cards.start(live.info)
            ready = job.card.complete or (job.matched.is_set() and self.card_budget <= 0)
            if ready or self.budget <= 0:
                self._pop(live, targets)
            else:
                live.deferred = []
                self._spawn(self._pop_within_budget(live, job, targets), f"pop:{call_id}")
        elif isinstance(event, CallAnswered):
            if to.pop:  # e.g. a pickup: never rang
                self._pop(live, self.clients_of(to.pop))
            self.send_later(
                self._recipients(live, to.notify, to.watchers), self._answered(live, event.ts)
            )
        elif isinstance(event, _FRAMED):
            self.send_later(self._recipients(live, to.notify, to.watchers), frames.event(event))
            if to.pop:  # a transfer's target sees who it gets
                self._pop(live, self.clients_of(to.pop))
            if isinstance(event, CallEnded):
                self._end(call_id)

    def _end(self, call_id: str) -> None:
        self.calls.pop(call_id, None)
        self.cards.forget(call_id)

    async def _pop_within_budget(self, live: LiveCall, job: CardJob, targets: set[Client]) -> None:
        """Wait up to the budget for the card, pop, then replay what arrived meanwhile."""
        try:
            if await job.wait(self.budget, full=False) and self.card_budget > 0:
                await job.wait(self.card_budget)
        finally:
            self._pop(live, [c for c in targets if not c.closed])
            deferred, live.deferred = live.deferred or [], None
            for event in deferred:
                if live.deferred is not None:  # a replayed ringing started another wait
                    live.deferred.append(event)
                elif self.calls.get(live.info.call_id) is live or isinstance(event, CallEnded):
                    self._apply(live, event)

    async def _send_update(self, live: LiveCall, job: CardJob) -> None:
        await job.done.wait()
        clients = [self._clients[i] for i in live.seen_by if i in self._clients]
        self.send(clients, frames.pop_update(live.info.call_id, job.card.to_json()))
