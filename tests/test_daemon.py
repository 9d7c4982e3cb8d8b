"""The daemon end to end: simulator as the PBX, real store, call visible in ``/api/calls``;
``serve`` stops cleanly on SIGTERM with every task awaited."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

import cti.crm_store.models  # noqa: F401 (every table in Base.metadata)
from cti.calllog.http import CALLLOG
from cti.config import PbxConfig, Settings
from cti.crm_store.models.base import Base
from cti.crm_store.schemas.calls import CallQuery
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.store import Store
from cti.daemon import CONSUMER, build_app, load_hooks, serve
from cti.errors import ConfigError, FileAccessError
from cti.pbxsim.calls import InboundCall
from cti.pbxsim.server import PbxSimulator
from cti.runtime import SWITCH_INTERVAL
from cti.web.auth import USERS
from cti.web.keys import AMI

Client = TestClient[web.Request, web.Application]
SECRET = "daemon-secret"


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(users={"cti": SECRET}, agents=["101"], time_scale=0.001)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def settings_for(sim: PbxSimulator, db_url: str = "sqlite+aiosqlite:///unused.db") -> Settings:
    pbx = PbxConfig(port=sim.port, username="cti", secret=SecretStr(SECRET))
    return Settings(pbx={"lab": pbx}, database_url=SecretStr(db_url))


async def test_a_call_on_the_pbx_shows_up_in_the_api(
    sim: PbxSimulator,
    sqlite_store: Store,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    added: list[str] = []

    def hook(app: web.Application) -> None:
        added.append("hook")

    app = build_app(settings_for(sim), store=sqlite_store, extra_setup=[hook])
    assert added == ["hook"]
    client = await aiohttp_client(app)
    conn = app[AMI]["lab"]
    users = app[USERS]
    olga = await users.create(
        UserIn.model_validate(
            {"username": "olga", "password": "pw-123456789", "extensions": ["101"]}
        )
    )
    token = (await users.issue_token(olga.id)).token
    await conn.wait_connected()
    handle = await sim.place_call(InboundCall(caller="+74951234567", caller_name="Ivan", to="101"))
    await handle
    consumer = app[CONSUMER]
    await consumer.until(lambda: consumer.stored >= 1)
    resp = await client.get("/api/calls", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert [(c["pbx"], c["linkedid"], c["status"]) for c in items] == [
        ("lab", handle.linkedid, "answered")
    ]
    assert items[0]["external_number"] == "+74951234567"
    assert items[0]["agent_user_id"] == olga.id


async def test_serve_stops_cleanly_on_sigterm(sim: PbxSimulator, tmp_path: Path) -> None:
    settings = settings_for(sim, f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}")
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    before = asyncio.all_tasks()
    switch = sys.getswitchinterval()
    server = asyncio.create_task(serve(settings, "127.0.0.1", 0, on_ready=ready.set_result))
    port = await ready
    # while serving, the loop thread gets the GIL back fast and startup objects are frozen
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    async with asyncio.timeout(5):
        while gc.get_freeze_count() == 0:  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.01)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/api/calls") as resp,
    ):
        assert resp.status == 401
    os.kill(os.getpid(), signal.SIGTERM)
    await server  # returns: the signal became a graceful shutdown
    leftover = {t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()}
    assert not [t.get_name() for t in leftover if not t.done()]
    assert sys.getswitchinterval() == switch and gc.get_freeze_count() == 0  # as it was


def test_setup_hooks_are_resolved_or_named_in_the_error() -> None:
    (hook,) = load_hooks(["cti.daemon:build_app"])
    assert hook is build_app  # type: ignore[comparison-overlap]
    with pytest.raises(ConfigError, match=r"cti\.nowhere:setup"):
        load_hooks(["cti.nowhere:setup"])


async def test_several_pbxes_at_once_each_record_names_its_pbx(
    sim: PbxSimulator,
    sqlite_store: Store,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    other = PbxSimulator(users={"cti": "branch-secret"}, agents=["101"], time_scale=0.001)
    await other.start()
    try:
        branch = PbxConfig(port=other.port, username="cti", secret=SecretStr("branch-secret"))
        settings = settings_for(sim).model_copy(
            update={"pbx": {"lab": settings_for(sim).pbx["lab"], "branch": branch}}
        )
        app = build_app(settings, store=sqlite_store)
        await aiohttp_client(app)
        for conn in app[AMI].values():
            await conn.wait_connected()
        calls = [
            await pbx.place_call(InboundCall(caller="+74951234567", to="101"))
            for pbx in (sim, other)
        ]
        for handle in calls:
            await handle
        consumer = app[CONSUMER]
        await consumer.until(lambda: consumer.stored >= 2)
    finally:
        await other.stop()
    rows = (await app[CALLLOG].search(CallQuery())).items
    got = {(c.pbx, c.linkedid) for c in rows}
    assert got == {("lab", calls[0].linkedid), ("branch", calls[1].linkedid)}


async def test_an_in_memory_store_gets_its_calls_written_in_place(
    sim: PbxSimulator, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    """Only the store's own engine sees an in-memory SQLite database: no writer thread."""
    store = await Store.open("sqlite+aiosqlite://", upgrade=False)
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        app = build_app(settings_for(sim), store=store)
        await aiohttp_client(app)
        await app[AMI]["lab"].wait_connected()
        handle = await sim.place_call(InboundCall(caller="+74951234567", to="101"))
        await handle
        consumer = app[CONSUMER]
        async with asyncio.timeout(10):  # written elsewhere, it would never show up here
            await consumer.until(lambda: consumer.stored >= 1)
        rows = (await app[CALLLOG].search(CallQuery())).items
        assert [c.linkedid for c in rows] == [handle.linkedid]
        assert not [t for t in threading.enumerate() if t.name == "calllog-writer"]
    finally:
        await store.close()


def test_the_call_log_journal_goes_next_to_the_sqlite_file_or_where_configured(
    tmp_path: Path,
) -> None:
    from cti.config import CallLogConfig
    from cti.daemon import open_journal

    class Stub:
        is_sqlite = True
        url = f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}"

    settings = Settings()
    journal = open_journal(settings, Stub())  # type: ignore[arg-type]
    assert journal.directory == tmp_path / "cti.db.calls-journal"
    journal.close()
    Stub.url = "sqlite+aiosqlite://"
    assert open_journal(settings, Stub()).directory is None  # type: ignore[arg-type]
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    bad = Settings(calllog=CallLogConfig(journal_dir=str(blocked / "journal")))
    with pytest.raises(FileAccessError, match=r"calllog\.journal_dir") as failed:
        open_journal(bad, Stub())  # type: ignore[arg-type]
    assert failed.value.details == {"key": "calllog.journal_dir", "file": str(blocked / "journal")}
