"""The daemon: store + web + call log + one AMI connection per PBX, wired and supervised.

Every long-lived task is owned by an aiohttp ``cleanup_ctx`` entry: started when the app
starts, cancelled *and awaited* when it stops. Order matters on the way down (cleanup runs in
reverse): the AMI connections stop first (no new events), then the call log consumer stores
what is still in its journal (bounded by a grace period; what is left stays in the journal
on disk for the next start) through its writer thread (:mod:`cti.calllog.writer`: the ORM
work stays off the event loop that pops), then the store closes. ``cti serve`` turns
SIGINT/SIGTERM into that graceful shutdown; a ``kill -9`` loses no finished call either (see
:mod:`cti.calllog.journal`).

Features that add routes or pages (screen-pop ``/ws``, operator pages) plug in through
``extra_setup`` hooks, called with the app after the built-in parts; ``cti serve`` loads the
hooks listed in :data:`SETUP_HOOKS` (``"module:function"``).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer
from aiohttp import web

from cti.agi import AGI_FLOWS, AGI_SERVER
from cti.agi.server import FastAgiServer, no_flows
from cti.ami.connection import AmiConnection, AmiConnections
from cti.calllog import http as calllog_http
from cti.calllog.consumer import CallLogConsumer, CallWriter
from cti.calllog.http import CALLLOG
from cti.calllog.journal import CallJournal
from cti.calllog.writer import CallLogWriter
from cti.config import Settings, mask_url
from cti.crm_store.db import log_sql_parameters
from cti.crm_store.repos.sqlite_direct import sqlite_file
from cti.crm_store.store import Store
from cti.errors import ConfigError, FileAccessError, ListenError
from cti.runtime import SWITCH_INTERVAL, GcPolicy
from cti.web.accesslog import TokenSafeAccessLogger
from cti.web.app import create_app
from cti.web.keys import AMI, BUS, GC_POLICY, STORE

log = logging.getLogger(__name__)

SetupHook = Callable[[web.Application], None]
#: hooks ``cti serve`` adds to the app, as ``"module:function"`` (features append theirs)
SETUP_HOOKS: tuple[str, ...] = (
    "cti.screenpop:setup",
    "cti.dialer:setup",
    "cti.surveys:setup",
    "cti.reports:setup",
)
CONSUMER = web.AppKey("calllog_consumer", CallLogConsumer)
#: seconds the call log may take at shutdown to store what is still in its journal
SHUTDOWN_GRACE = 10.0


def build_app(
    settings: Settings,
    *,
    store: Store | None = None,
    extra_setup: Sequence[SetupHook] = (),
    store_retry: tuple[float, float] = (0.5, 30.0),
) -> web.Application:
    """The whole daemon as one aiohttp application (run it with any aiohttp runner).

    ``store``: use this open store instead of opening ``settings.database_url``.
    ``store_retry``: (min, max) seconds between call log retries while the store is down.
    """
    app = create_app(settings, store=store)
    calllog_http.setup(app)

    async def calllog_ctx(app: web.Application) -> AsyncIterator[None]:
        # the writes run on a thread of their own, off the event loop the pops share; an
        # in-memory SQLite store (or a ``file:`` URI) is written in place: a second engine
        # might not see the same database
        store = app[STORE]
        writer: CallWriter = app[CALLLOG]
        own: CallLogWriter | None = None
        if not (store.is_sqlite and sqlite_file(store.url) is None):
            writer = own = CallLogWriter(store.url, store.phone)
            await own.start()
        journal = open_journal(settings, store)
        consumer = CallLogConsumer(
            writer, journal, retry_min=store_retry[0], retry_max=store_retry[1]
        )
        app[CONSUMER] = consumer
        # before the AMI connections start (their context comes after this one): no
        # finished call is published before the journal takes it
        unsubscribe = app[BUS].subscribe(consumer.add)
        task = asyncio.create_task(consumer.run(), name="calllog-consumer")
        try:
            yield
        finally:
            if not task.done():
                left = await consumer.drain(SHUTDOWN_GRACE)
                if left and journal.directory is not None:
                    log.info("call log: %d call(s) wait in the journal %s", left, journal.directory)
                elif left:
                    log.error("call log: %d call(s) not stored at shutdown (logged)", left)
            unsubscribe()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            journal.close()
            if own is not None:
                await own.close()

    async def ami_ctx(app: web.Application) -> AsyncIterator[None]:
        connections = AmiConnections()
        for name, pbx in settings.pbx.items():
            connections[name] = AmiConnection(name, pbx, app[BUS].publish)
        app[AMI] = connections
        tasks = [
            asyncio.create_task(conn.run(), name=f"ami-{name}")
            for name, conn in connections.items()
        ]
        if not connections:
            log.warning("no PBX configured ([pbx.NAME] in the config or CTI_AMI_URL)")
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def agi_ctx(app: web.Application) -> AsyncIterator[None]:
        # after the store (answers are written through it), before nothing else: a call in
        # progress at shutdown is ended first and finishes as partial
        if not settings.agi.enabled:
            yield
            return
        server = FastAgiServer(settings.agi, app.get(AGI_FLOWS, no_flows))
        try:
            await server.start()
        except OSError as exc:
            raise ListenError.of(
                exc, settings.agi.host, settings.agi.port, "agi.port (CTI_AGI_PORT)"
            ) from exc
        app[AGI_SERVER] = server
        try:
            yield
        finally:
            await server.stop()

    app.cleanup_ctx.append(calllog_ctx)
    app.cleanup_ctx.append(ami_ctx)
    app.cleanup_ctx.append(agi_ctx)
    for hook in extra_setup:
        hook(app)
    return app


def open_journal(settings: Settings, store: Store) -> CallJournal:
    """The call log journal of this daemon (see :class:`~cti.config.CallLogConfig`); an
    in-memory store keeps it in memory too (nothing on disk would outlive its data)."""
    configured = settings.calllog.journal_dir
    path = sqlite_file(store.url) if store.is_sqlite else None
    if configured:
        directory: Path | None = Path(configured)
    elif store.is_sqlite:
        directory = Path(f"{path}.calls-journal") if path else None
    else:
        directory = Path("cti-calls-journal")
    if directory is None:
        return CallJournal(None)
    try:
        return CallJournal(directory, max_bytes=settings.calllog.journal_max_mb << 20)
    except OSError as exc:
        raise FileAccessError(
            f"call log journal {directory}: {exc.strerror or exc}: set calllog.journal_dir "
            "(CTI_CALLLOG_JOURNAL_DIR) to a folder cti may write",
            details={"key": "calllog.journal_dir", "file": str(directory)},
        ) from None


def load_hooks(names: Sequence[str]) -> list[SetupHook]:
    """Resolve ``"module:function"`` names; a wrong one is a config error naming it."""
    hooks: list[SetupHook] = []
    for name in names:
        module_name, _, attr = name.partition(":")
        try:
            hook = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"setup hook {name!r}: {exc}", details={"hook": name}) from None
        hooks.append(hook)
    return hooks


async def serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    extra_setup: Sequence[SetupHook] = (),
    stop: asyncio.Event | None = None,
    on_ready: Callable[[int], None] | None = None,
    port_option: str = "--port",
) -> None:
    """Run until ``stop`` is set or SIGINT/SIGTERM arrives, then shut down gracefully.

    ``on_ready`` receives the bound port (useful with ``port=0``); ``port_option`` is where
    the user sets the port (named when it is taken: a :class:`ListenError`).
    """
    stop = stop or asyncio.Event()
    app = build_app(settings, extra_setup=extra_setup)
    policy = GcPolicy(settings.gc_sweep_every) if settings.gc_sweep_every > 0 else None
    if policy is not None:
        app[GC_POLICY] = policy  # features report garbage to it (closed sockets)
    # TokenSafeAccessLogger: a ``?token=`` (WebSocket auth) never reaches the access log
    runner = web.AppRunner(app, handle_signals=False, access_log_class=TokenSafeAccessLogger)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    gc_task: asyncio.Task[None] | None = None
    switch = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise ListenError.of(exc, host, port, port_option) from exc
        bound = _bound_port(runner, port)
        log.info(
            "cti serving on http://%s:%d (store %s, PBX: %s)",
            host,
            bound,
            mask_url(settings.db_url),
            ", ".join(settings.pbx) or "none",
        )
        if policy is not None:
            gc_task = asyncio.create_task(policy.run(), name="gc")
        if on_ready is not None:
            on_ready(bound)
        await stop.wait()
        log.info("shutting down")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if gc_task is not None:
            gc_task.cancel()
            await asyncio.gather(gc_task, return_exceptions=True)
        await runner.cleanup()
        sys.setswitchinterval(switch)


def _bound_port(runner: web.AppRunner, fallback: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return fallback


def _configure_logging(level: str, *, sql_parameters: bool = False) -> None:
    """The process's logging: ``level`` on the root; SQL parameters only when asked
    (``[log] sql_parameters``, see :func:`cti.crm_store.db.log_sql_parameters`)."""
    log_sql_parameters(sql_parameters)
    value = logging.getLevelName(level.upper())
    if not isinstance(value, int):
        raise ConfigError(
            f"config: log_level: unknown level {level!r}: use DEBUG, INFO, WARNING or ERROR",
            details={"key": "log_level"},
        )
    logging.basicConfig(level=value, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register(app: typer.Typer) -> None:
    """Add ``cti serve``."""

    @app.command("serve")
    def serve_command(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option(help="listen address (http.host)")] = None,
        port: Annotated[
            int | None, typer.Option(min=0, max=65535, help="listen port (http.port)")
        ] = None,
    ) -> None:
        """Run the daemon: web API, AMI connections, call log. Ctrl-C stops it cleanly."""
        from cti.cli import settings_from

        settings = settings_from(ctx)
        _configure_logging(settings.log_level, sql_parameters=settings.log.sql_parameters)
        hooks = load_hooks(SETUP_HOOKS)
        listen = (host or settings.http.host, settings.http.port if port is None else port)
        # errors (store down, port taken …) end as one line in cti.cli.run
        where = "--port or http.port (CTI_HTTP_PORT)"
        asyncio.run(serve(settings, *listen, extra_setup=hooks, port_option=where))
