"""In-process fan-out of tracker domain events to their consumers.

``publish`` is synchronous and never blocks: each subscriber owns a bounded queue and its
own task (started/stopped by whoever owns the subscriber), so one slow consumer (the store
on a busy disk) never delays another (the screen-pop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from cti.ami.events import CallEvent

log = logging.getLogger(__name__)

Handler = Callable[[CallEvent], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for every published event; returns an unsubscribe function."""
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def subscribe_queue(
        self, maxsize: int = 10_000, *, kinds: tuple[type[CallEvent], ...] | None = None
    ) -> asyncio.Queue[CallEvent]:
        """A queue that receives every event, or only those of ``kinds`` (the owner drains
        it in its own task, which then wakes only for what it uses)."""
        queue: asyncio.Queue[CallEvent] = asyncio.Queue(maxsize=maxsize)

        def put(event: CallEvent) -> None:
            if kinds is not None and not isinstance(event, kinds):
                return
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.error("event queue full, dropping %s", type(event).__name__)

        self.subscribe(put)
        return queue

    def publish(self, event: CallEvent) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, type(event).__name__)
