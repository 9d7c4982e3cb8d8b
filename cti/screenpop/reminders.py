"""Due tasks on the operator's screen: the ``task.due`` push, and the list of what is due.

* **The push** (``task.due``, with a toast on the page) goes out once per task and due time:
  the loop *claims* what fell due in the store (:meth:`TaskService.claim_due`, one atomic
  ``UPDATE … RETURNING``), so a restart or a second daemon never pushes it again, and sends it
  to every connection of its operator (for a queue's callback nobody owns: the agents seen
  rung by that queue). A claimed task whose operator is offline is simply not pushed; claims
  take every due task in turn, so no pile of offline operators' tasks can hold back an online
  operator's reminder.
* **The list** (``tasks.due``): every connection gets its operator's open due tasks when it
  connects, and again whenever the list changed (a task done, snoozed to a later due time,
  reassigned, created; closed by the call log when the number was called back): on every
  device and after every reload, until each task is done or snoozed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cti.crm_store.schemas.tasks import TaskOut
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.screenpop.clients import Client
from cti.screenpop.hub import Hub
from cti.screenpop.routing import reminder_to

log = logging.getLogger(__name__)
#: tasks claimed per round trip to the store (the loop goes on until none is left)
BATCH = 200
#: due tasks listed per operator at most (the oldest due first)
LIST_LIMIT = 200


def task_json(task: TaskOut) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "kind": task.kind,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "phone": task.phone,
        "contact_id": task.contact_id,
        "queue": task.queue,
        "assignee_id": task.assignee_id,
    }


class Reminders:
    def __init__(
        self,
        store: Store,
        hub: Hub,
        *,
        interval: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        from cti.crm_store.services.tasks import TaskService

        self.tasks = TaskService(store)
        self.hub = hub
        self.interval = interval
        self.clock = clock
        self._wake = asyncio.Event()
        #: connections that need their list (new ones, or whose operator's tasks changed)
        self._stale: deque[Client] = deque()
        #: the task ids each connection shows now (to refresh only what changed)
        self._shown: dict[int, tuple[int, ...]] = {}
        self.sent = 0
        hub.on_connect = self._connected

    def _connected(self, client: Client) -> None:
        self._stale.append(client)
        self._wake.set()

    def poke(self) -> None:
        """Check now rather than at the next interval."""
        self._wake.set()

    def task_changed(self, task: TaskOut) -> None:
        """A task was created, changed or deleted (the REST API): the lists it may be on
        are refreshed at once, on every connection of its operator."""
        user_id, extensions = reminder_to(task.assignee_id, task.queue, self.hub.queue_agents)
        clients = self.hub.clients_of_user(user_id) if user_id is not None else []
        clients += [c for c in self.hub.clients_of(extensions) if c not in clients]
        clients += [c for c in self.hub.clients if task.id in self._shown.get(c.id, ())]
        self._stale.extend(dict.fromkeys(clients))
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the store may be down for a while; try again next round
                log.exception("task reminders failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    async def tick(self) -> int:
        """Push what fell due (claimed once), then refresh the lists that may have changed:
        those asked for, and, every round, those that show anything (a task may have been
        closed by the call log or on another daemon). Returns the pushes sent."""
        now = self.clock()
        sent = 0
        while True:
            claimed = await self.tasks.claim_due(now, BATCH)
            for task in claimed:
                clients = self._recipients(task)
                if clients:
                    self.hub.send(clients, _frame("task.due", now, task=task_json(task)))
                    sent += 1
                    await asyncio.sleep(0)  # a pop that rang meanwhile goes out first
                self._stale.extend(c for c in clients if c not in self._stale)
            if len(claimed) < BATCH:
                break
        self.sent += sent
        showing = [c for c in self.hub.clients if self._shown.get(c.id)]
        await self._refresh([*self._stale, *showing], now)
        self._stale.clear()
        return sent

    def _recipients(self, task: TaskOut) -> list[Client]:
        user_id, extensions = reminder_to(task.assignee_id, task.queue, self.hub.queue_agents)
        if user_id is not None:
            return self.hub.clients_of_user(user_id)
        return list(self.hub.clients_of(extensions))

    def _queues_of(self, client: Client) -> list[str]:
        mine = set(client.operator.extensions)
        return [q for q, agents in self.hub.queue_agents.items() if mine & set(agents)]

    async def _refresh(self, clients: list[Client], now: datetime) -> None:
        """Send each connection its operator's due list when it differs from what it shows
        (one read per operator)."""
        lists: dict[tuple[int, tuple[str, ...]], list[TaskOut]] = {}
        for client in dict.fromkeys(clients):
            if client.closed:
                self._shown.pop(client.id, None)
                continue
            queues = tuple(sorted(self._queues_of(client)))
            key = (client.operator.user_id, queues)
            if key not in lists:
                lists[key] = await self.tasks.due_for(key[0], queues, now, LIST_LIMIT)
            due = lists[key]
            ids = tuple(t.id for t in due)
            if self._shown.get(client.id, ()) == ids:  # a new connection starts empty
                self._shown[client.id] = ids
                continue
            self._shown[client.id] = ids
            self.hub.send([client], _frame("tasks.due", now, tasks=[task_json(t) for t in due]))
        for gone in set(self._shown) - {c.id for c in self.hub.clients}:
            del self._shown[gone]


def _frame(kind: str, now: datetime, **body: Any) -> dict[str, Any]:
    return {"type": kind, "call_id": None, "ts": now.isoformat(timespec="milliseconds"), **body}
