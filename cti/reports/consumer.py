"""The agent session consumer: the PBX's queue member and device events → session
intervals in the store (the I/O edge around :mod:`cti.crm_store.rules.sessions`).

A bus subscriber only queues the event (no I/O on the bus); its own task applies them in
order. The last device state per phone is kept in memory (a wrap-up starts when a phone
leaves a call): after a restart the first call's end may start no wrap-up, nothing worse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from cti.ami.events import CallEvent, DeviceStateChanged, QueueMemberChanged
from cti.crm_store.repos.sessions import SessionRepo
from cti.crm_store.rules.sessions import device_ops, member_ops
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow

log = logging.getLogger(__name__)


class SessionConsumer:
    def __init__(
        self,
        store: Store,
        *,
        wrap_up_seconds: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = SessionRepo(store)
        self.wrap_up_seconds = wrap_up_seconds
        self.clock = clock
        self._events: asyncio.Queue[QueueMemberChanged | DeviceStateChanged] = asyncio.Queue()
        self._devices: dict[tuple[str, str], str] = {}

    def on_event(self, event: CallEvent) -> None:
        """The bus subscriber: keep the agent events for the task."""
        if isinstance(event, QueueMemberChanged | DeviceStateChanged) and event.extension:
            self._events.put_nowait(event)

    async def run(self) -> None:
        while True:
            event = await self._events.get()
            try:
                await self.handle(event)
            except Exception:  # one bad event must not stop the sessions
                log.exception("agent sessions: could not apply %s", type(event).__name__)

    async def handle(self, event: QueueMemberChanged | DeviceStateChanged) -> None:
        extension = event.extension
        if extension is None:
            return
        at = event.ts or self.clock()
        if isinstance(event, QueueMemberChanged):
            await self.repo.apply(
                "pbx",
                event.pbx,
                extension,
                at,
                lambda open_: member_ops(
                    open_,
                    queue=event.queue,
                    change=event.change,
                    paused=event.paused,
                    reason=event.reason,
                    at=at,
                ),
            )
            return
        key = (event.pbx, extension)
        before = self._devices.get(key)
        self._devices[key] = event.state
        await self.repo.apply(
            "pbx",
            event.pbx,
            extension,
            at,
            lambda open_: device_ops(
                open_,
                before=before,
                state=event.state,
                at=at,
                wrap_up_seconds=self.wrap_up_seconds,
            ),
        )
