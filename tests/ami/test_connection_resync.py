"""Connection loss mid-call → reconnect → resync, against the real simulator and store.

A small TCP proxy sits between the connection and the simulator so a test can cut the
link (and refuse reconnects) while the simulated calls go on. What AMI can tell us after a
reconnect is only what ``CoreShowChannels`` lists *now*: a call that ended while we were away
ends (partial), a call that started while away is picked up (partial), and a call that both
started and ended while away leaves no trace at all — it must not be invented.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from cti.ami import actions
from cti.ami.connection import AmiConnection
from cti.ami.events import AgentRinging, CallStarted
from cti.bus import EventBus
from cti.calllog.consumer import CallLogConsumer
from cti.calllog.service import CallLog
from cti.config import PbxConfig
from cti.crm_store.schemas.calls import CallQuery
from cti.crm_store.store import Store
from cti.pbxsim.calls import AgentProfile, CallHandle, InboundCall, Takeover
from cti.pbxsim.server import PbxSimulator
from tests.ami.test_connection import Seen

SECRET = "resync-secret"
CALLER = "+74951234567"


class Proxy:
    """TCP forwarder to the simulator; ``cut()`` drops every link and refuses new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.blocked = False
        #: forward nothing, close nothing: a PBX (or network) that silently stopped answering
        self.stalled = False
        self.port = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.blocked:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            writer.transport.abort()
            up_writer.transport.abort()
            self._handlers.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if not self.stalled:
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    def cut(self) -> None:
        self.blocked = True
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    def reopen(self) -> None:
        self.blocked = False
        self.stalled = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await asyncio.gather(*self._handlers, return_exceptions=True)


class Rig:
    """Simulator + proxy + connection + call log consumer, all real."""

    def __init__(
        self, sim: PbxSimulator, proxy: Proxy, store: Store, ping_interval: float = 20.0
    ) -> None:
        self.sim = sim
        self.proxy = proxy
        self.bus = EventBus()
        self.seen = Seen(self.bus)
        self.calllog = CallLog(store)
        self.consumer = CallLogConsumer(self.calllog)
        self.bus.subscribe(self.consumer.add)
        cfg = PbxConfig(
            port=proxy.port,
            username="cti",
            secret=SecretStr(SECRET),
            reconnect_min=0.001,
            reconnect_max=0.01,
            ping_interval=ping_interval,
        )
        self.conn = AmiConnection("lab", cfg, self.bus.publish)

    async def outage(self) -> None:
        """Cut the link and wait until the connection noticed."""
        self.proxy.cut()
        await self.conn.until(lambda: not self.conn.connected and self.conn.failures >= 1)

    async def back(self) -> None:
        """Let it reconnect and wait for the resync to finish."""
        before = self.conn.resyncs
        self.proxy.reopen()
        await self.conn.until(lambda: self.conn.resyncs > before and self.conn.connected)

    async def rows(self) -> list[tuple[str, bool, str]]:
        await self.consumer.drain(5.0)
        page = await self.calllog.search(CallQuery())
        return [(c.linkedid, c.partial, c.status) for c in page.items]

    def channels_of(self, handle: CallHandle) -> list[str]:
        chans = self.sim.emitter.channels.values()
        return [c.name for c in chans if c.call_id == handle.linkedid]


@pytest.fixture
def ping_interval() -> float:
    return 20.0


@pytest.fixture
async def rig(sqlite_store: Store, ping_interval: float) -> AsyncIterator[Rig]:
    agents = {"101": AgentProfile(answers=False), "102": AgentProfile(0.01, 0.01)}
    sim = PbxSimulator(users={"cti": SECRET}, agents=agents, time_scale=1.0)
    await sim.start()
    proxy = Proxy(sim.port)
    await proxy.start()
    rig = Rig(sim, proxy, sqlite_store, ping_interval)
    tasks = [asyncio.create_task(rig.conn.run()), asyncio.create_task(rig.consumer.run())]
    try:
        await rig.conn.wait_connected()
        yield rig
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await proxy.close()
        await sim.stop()


def ringing_call() -> InboundCall:
    """A caller who waits an hour on agent 101, who never answers."""
    return InboundCall(caller=CALLER, caller_name="Ivan", to="101", ring_seconds=3600, answer=False)


async def hang_up_in_pbx(rig: Rig, handle: CallHandle) -> None:
    """End the call inside the PBX itself (as if the caller hung up)."""
    caller = next(name for name in rig.channels_of(handle) if name.endswith(";1"))
    handle.interrupt(Takeover("hangup", caller))
    await handle


async def test_call_that_ends_during_the_outage_is_logged_once_as_partial(rig: Rig) -> None:
    handle = await rig.sim.place_call(ringing_call())
    linkedid = handle.linkedid
    await rig.seen.wait(
        lambda: any(
            isinstance(e, AgentRinging) and e.call.call_id == linkedid for e in rig.seen.events
        )
    )
    await rig.outage()
    await hang_up_in_pbx(rig, handle)
    await rig.back()
    ended = await rig.seen.ended(linkedid)
    assert ended.record.partial is True
    # ended by the resync: its end is when cti learnt it (no PBX times on this site)
    assert ended.record.clock == "receipt" and ended.record.ended_at is not None
    assert ended.record.started_at is not None
    assert ended.record.started_at <= ended.record.ended_at
    assert ended.record.pbx == "lab"
    assert ended.record.from_number == CALLER
    assert ended.record.agents_rung == ("101",)
    assert ended.record.agent is None
    assert len(rig.seen.ended_records(linkedid)) == 1
    assert [(row[0], row[1]) for row in await rig.rows()] == [(linkedid, True)]


async def test_call_that_survives_the_outage_is_logged_once(rig: Rig) -> None:
    handle = await rig.sim.place_call(ringing_call())
    linkedid = handle.linkedid
    await rig.seen.wait(
        lambda: any(
            isinstance(e, AgentRinging) and e.call.call_id == linkedid for e in rig.seen.events
        )
    )
    await rig.outage()
    await rig.back()
    assert rig.seen.ended_records(linkedid) == []  # still up: the resync kept it
    await hang_up_in_pbx(rig, handle)
    ended = await rig.seen.ended(linkedid)
    assert ended.record.from_number == CALLER
    assert ended.record.agents_rung == ("101",)
    starts = [
        e for e in rig.seen.events if isinstance(e, CallStarted) and e.call.call_id == linkedid
    ]
    assert len(starts) == 1
    assert len(rig.seen.ended_records(linkedid)) == 1
    assert [row[0] for row in await rig.rows()] == [linkedid]


async def test_call_that_starts_during_the_outage_is_picked_up_partial(rig: Rig) -> None:
    await rig.outage()
    handle = await rig.sim.place_call(ringing_call())
    linkedid = handle.linkedid
    await rig.back()
    started = [
        e for e in rig.seen.events if isinstance(e, CallStarted) and e.call.call_id == linkedid
    ]
    assert len(started) == 1
    assert linkedid in {c.call_id for c in rig.conn.tracker.live_calls()}
    # hang up through the real action path, as click-to-dial would
    caller = next(name for name in rig.channels_of(handle) if name.endswith(";1"))
    await actions.hangup(rig.conn, channel=caller)
    await handle
    ended = await rig.seen.ended(linkedid)
    assert ended.record.partial is True
    assert ended.record.from_number == CALLER
    assert [(row[0], row[1]) for row in await rig.rows()] == [(linkedid, True)]


async def test_call_that_starts_and_ends_during_the_outage_is_not_invented(rig: Rig) -> None:
    await rig.outage()
    gone = await rig.sim.place_call(
        InboundCall(caller=CALLER, to="102", ring_seconds=0.01, talk_seconds=0.01)
    )
    await gone
    await rig.back()
    # the link works again: a call placed now is seen and logged normally
    later = await rig.sim.place_call(
        InboundCall(caller=CALLER, to="102", ring_seconds=0.01, talk_seconds=0.01)
    )
    await later
    ended = await rig.seen.ended(later.linkedid)
    assert ended.record.partial is False
    assert ended.record.status == "answered"
    seen_ids = {e.call.call_id for e in rig.seen.events if hasattr(e, "call")}
    assert gone.linkedid not in seen_ids
    assert [row[0] for row in await rig.rows()] == [later.linkedid]


async def test_each_reconnect_logs_one_line_and_resets_the_backoff(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="cti.ami.connection")
    for _ in range(2):
        await rig.outage()
        await rig.conn.until(lambda: rig.conn.failures >= 3)
        await rig.back()
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2  # one per outage, not one per attempt
    infos = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    assert sum("reconnected after" in m for m in infos) == 2
    assert rig.conn.sessions == 3 and rig.conn.failures == 0


@pytest.mark.parametrize("ping_interval", [0.02])
async def test_a_silent_pbx_is_detected_by_ping_and_reconnected(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="cti.ami.connection")
    rig.proxy.stalled = True  # the socket stays open but nothing comes back
    await rig.conn.until(lambda: not rig.conn.connected and rig.conn.failures >= 1)
    assert "no answer to Ping" in (rig.conn.last_error or "")
    await rig.back()
    assert rig.conn.sessions == 2
    assert any("no answer to Ping" in r.getMessage() for r in caplog.records)
