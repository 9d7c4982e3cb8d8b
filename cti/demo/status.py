"""``cti demo``'s line a minute: what the demo did, so the person trying it sees it work.

Counts the calls that ended (by outcome) from the daemon's event bus, and reads how many
records the call log stored and who is logged in on the operator page.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from aiohttp import web

from cti.ami.events import CallEnded, CallEvent
from cti.daemon import CONSUMER, SetupHook
from cti.screenpop.http import HUB
from cti.web.keys import BUS

#: outcomes in the order a person reads them
OUTCOMES = ("answered", "missed", "abandoned", "busy", "no-answer", "failed")


class CallTally:
    """Calls that ended since the last line, by outcome."""

    def __init__(self) -> None:
        self.ended: Counter[str] = Counter()

    def on_event(self, event: CallEvent) -> None:
        if isinstance(event, CallEnded):
            self.ended[event.record.status] += 1

    def take(self) -> Counter[str]:
        taken, self.ended = self.ended, Counter()
        return taken


def status_line(
    now: datetime, ended: Counter[str], stored: int | None, operators: list[str]
) -> str:
    """One line: calls ended in the last period by outcome, records stored, who is online."""
    total = sum(ended.values())
    parts = ", ".join(f"{ended[o]} {o}" for o in OUTCOMES if ended[o])
    calls = f"{total} calls ended ({parts})" if total else "no calls ended"
    logged = f"{stored} call records stored" if stored is not None else "call log starting"
    online = ", ".join(operators) if operators else "nobody yet (open the page and log in)"
    return f"{now:%H:%M} {calls} · {logged} since start · logged in: {online}"


def status_hook(out: Callable[[str], None], every: float = 60.0) -> SetupHook:
    """A setup hook printing ``status_line`` every ``every`` seconds while the daemon runs."""

    def setup(app: web.Application) -> None:
        async def ctx(app: web.Application) -> AsyncIterator[None]:
            tally = CallTally()
            unsubscribe = app[BUS].subscribe(tally.on_event)
            task = asyncio.create_task(_report(app, tally, out, every), name="demo-status")
            try:
                yield
            finally:
                task.cancel()
                unsubscribe()

        app.cleanup_ctx.append(ctx)

    return setup


async def _report(
    app: web.Application, tally: CallTally, out: Callable[[str], None], every: float
) -> None:
    while True:
        await asyncio.sleep(every)
        consumer = app.get(CONSUMER)
        hub = app.get(HUB)
        operators = sorted({c.operator.username for c in hub.clients}) if hub else []
        stored = consumer.stored if consumer is not None else None
        out(status_line(datetime.now(), tally.take(), stored, operators))
