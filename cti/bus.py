"""In-process fan-out of tracker domain events to their consumers.

``publish`` is synchronous and never blocks: a subscriber does only quick work in its
handler (the screen-pop hub writes frames; the call log appends to its journal) and leaves
anything slow to a task of its own, so one slow consumer (the store on a busy disk) never
delays another (the screen-pop), and a failing handler costs only itself.
"""

from __future__ import annotations

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

    def publish(self, event: CallEvent) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, type(event).__name__)
