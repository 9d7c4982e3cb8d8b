"""``task.due`` reminders: push an operator's due tasks (callbacks too) to their screen.

A task is reminded once: after its frame is queued to at least one of the assignee's
connections, ``Task.reminded_at`` is set in the store, so a restart does not remind again.
A task whose assignee is offline stays due and is reminded when they connect (a new
connection wakes the loop). Queue callbacks (no single assignee) go to the operators the hub
has seen rung by that queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from cti.crm_store.schemas.tasks import TaskOut
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.screenpop.clients import Client
from cti.screenpop.hub import Hub
from cti.screenpop.routing import reminder_to

log = logging.getLogger(__name__)
BATCH = 200


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
        self.sent = 0
        hub.on_connect = self.poke

    def poke(self, _client: Client | None = None) -> None:
        """Check now (someone connected: their due tasks should not wait a whole interval)."""
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

    def _recipients(self, task: TaskOut) -> list[Client]:
        user_id, extensions = reminder_to(task.assignee_id, task.queue, self.hub.queue_agents)
        if user_id is not None:
            return self.hub.clients_of_user(user_id)
        return list(self.hub.clients_of(extensions))

    async def tick(self) -> int:
        """Remind every due, not yet reminded task whose operator is connected."""
        if not self.hub.clients:
            return 0
        now = self.clock()
        due = await self.tasks.due_reminders(now, limit=BATCH)
        delivered: list[int] = []
        for task in due:
            clients = self._recipients(task)
            if not clients:
                continue
            self.hub.send(
                clients,
                {
                    "type": "task.due",
                    "call_id": None,
                    "ts": now.isoformat(timespec="milliseconds"),
                    "task": {
                        "id": task.id,
                        "title": task.title,
                        "kind": task.kind,
                        "due_at": task.due_at.isoformat() if task.due_at else None,
                        "phone": task.phone,
                        "contact_id": task.contact_id,
                        "queue": task.queue,
                    },
                },
            )
            delivered.append(task.id)
            await asyncio.sleep(0)  # a pop that rang meanwhile goes out between two reminders
        if delivered:
            await self.tasks.mark_reminded(delivered, now)
            self.sent += len(delivered)
        return len(delivered)
