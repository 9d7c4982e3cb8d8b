"""Wiring: ``setup(app)`` adds the screen-pop to a cti aiohttp application.

The hub subscribes to the app's event bus for the app's lifetime (a ``cleanup_ctx``), the
card source is built once the store is open, open WebSockets are closed on shutdown, and
the task reminder loop runs as an owned task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

from aiohttp import WSCloseCode, web

from cti.ami.actions import ActionSender
from cti.screenpop.cards import CardBuilder, CardSource
from cti.screenpop.clients import CLOSE_SESSION_ENDED, DEFAULT_BACKLOG, Client
from cti.screenpop.dial import ClickToDial
from cti.screenpop.http import (
    HUB,
    ROUTES,
    SCRIPTS,
    STATIC_DIR,
    favicon_handler,
    index_handler,
    ws_handler,
)
from cti.screenpop.hub import Hub
from cti.screenpop.reminders import Reminders
from cti.screenpop.scripts import ScriptBook
from cti.web.auth import USERS, allow_public
from cti.web.keys import AMI, BUS, GC_POLICY, SESSION_EVENTS, SETTINGS, STORE, TASK_EVENTS

log = logging.getLogger(__name__)

DIALER = web.AppKey("screenpop_dialer", ClickToDial)
REMINDERS = web.AppKey("screenpop_reminders", Reminders)
#: how long a pop may wait for the caller's match before it goes out with the call info only
#: (the rest of the card, one store call, follows as ``pop.update``)
DEFAULT_BUDGET = 0.002

SourceFactory = Callable[[web.Application], CardSource]


def _store_source(app: web.Application) -> CardSource:
    from cti.screenpop.source import StoreCardSource

    return StoreCardSource(app[STORE])


def _connected_pbxes(app: web.Application) -> Mapping[str, ActionSender]:
    connections = app.get(AMI)
    if connections is None:
        return {}
    return {name: conn for name, conn in connections.items() if conn.connected}


async def _sweep_sessions(app: web.Application, hub: Hub, every: float) -> None:
    """Close sockets whose token is no longer good (ended on another daemon, expired)."""
    while True:
        await asyncio.sleep(every)
        if STORE not in app or not hub.clients:
            continue
        checked = hub.clients  # those connected now: one that connects meanwhile waits
        try:
            live = await app[USERS].live_tokens([c.operator.token_hash for c in checked])
        except Exception:  # the store may be down for a while: the next round checks again
            log.exception("session sweep failed")
            continue
        ended = "session ended: token no longer valid"
        for client in checked:
            if not client.closed and client.operator.token_hash not in live:
                hub.close_client(client, CLOSE_SESSION_ENDED, ended)


def setup(
    app: web.Application,
    *,
    budget: float = DEFAULT_BUDGET,
    card_budget: float = 0.0,
    backlog: int = DEFAULT_BACKLOG,
    campaigns_dir: Path | None = None,
    source: SourceFactory | None = _store_source,
    reminder_interval: float = 30.0,
) -> None:
    """Add ``/ws``, ``POST /api/dial``, the operator page at ``/`` and the hub's lifecycle.

    ``source=None`` pops without store facts (call info only); tests pass their own.
    """
    scripts = ScriptBook.load(campaigns_dir)  # a broken script fails at start, not mid-call
    app[SCRIPTS] = scripts
    settings = app[SETTINGS]
    app[DIALER] = ClickToDial(
        lambda: _connected_pbxes(app),
        region=settings.phone.default_region,
        routes={name: pbx.dial for name, pbx in settings.pbx.items()},
    )
    app.router.add_get("/ws", ws_handler)
    app.router.add_get("/", index_handler)
    app.router.add_get("/favicon.ico", favicon_handler)
    app.router.add_static("/static/screenpop/", STATIC_DIR, name="screenpop-static")
    allow_public(app, "/ws")  # the handler checks the token itself (close 4401)
    ROUTES.install(app)

    async def hub_ctx(app: web.Application) -> AsyncIterator[None]:
        card_source = source(app) if source is not None else None
        hub = Hub(
            CardBuilder(card_source, scripts),
            budget=budget,
            card_budget=card_budget,
            backlog=backlog,
            max_per_user=settings.auth.max_sockets_per_user,
        )
        app[HUB] = hub
        policy = app.get(GC_POLICY)
        if policy is not None:
            hub.on_disconnect = policy.garbage
        unsubscribe = app[BUS].subscribe(hub.handle)
        unsubscribe_sessions = app[SESSION_EVENTS].subscribe(hub.end_sessions)
        sweeper = asyncio.create_task(
            _sweep_sessions(app, hub, settings.auth.session_sweep_seconds), name="ws-sessions"
        )
        reminders: Reminders | None = None
        task: asyncio.Task[None] | None = None
        if STORE in app and reminder_interval > 0:
            reminders = Reminders(app[STORE], hub, interval=reminder_interval)
            app[REMINDERS] = reminders
            unsubscribe_tasks = app[TASK_EVENTS].subscribe(reminders.task_changed)
            task = asyncio.create_task(reminders.run(), name="screenpop-reminders")
        try:
            yield
        finally:
            unsubscribe()
            unsubscribe_sessions()
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
            if reminders is not None:
                unsubscribe_tasks()
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await hub.close()
            close = getattr(card_source, "close", None)
            if callable(close):
                close()

    async def close_sockets(app: web.Application) -> None:
        hub = app.get(HUB)
        if hub is None:
            return

        async def close(client: Client) -> None:
            hub.disconnect(client)
            with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
                await asyncio.wait_for(
                    client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown"), 1.0
                )

        await asyncio.gather(*(close(c) for c in hub.clients))

    app.cleanup_ctx.append(hub_ctx)
    app.on_shutdown.append(close_sockets)
