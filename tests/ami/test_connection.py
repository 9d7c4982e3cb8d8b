"""The live AMI connection against the real simulator: login, events → tracker, actions,
wrong credentials, secrets kept out of the logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from cti.ami import actions
from cti.ami.actions import AmiActionError, PbxUnavailableError, encode_action
from cti.ami.connection import AmiConnection, AmiConnections
from cti.ami.events import CallEnded, CallEvent, CallRecord
from cti.bus import EventBus
from cti.config import PbxConfig
from cti.errors import ValidationError
from cti.pbxsim.calls import InboundCall
from cti.pbxsim.server import PbxSimulator

SECRET = "s3cret-Zq9"


class Seen:
    """Collects published events; ``wait(predicate)`` returns once it holds (no sleeping)."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[CallEvent] = []
        self._new = asyncio.Event()
        bus.subscribe(self._add)

    def _add(self, event: CallEvent) -> None:
        self.events.append(event)
        self._new.set()

    async def wait(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            self._new.clear()
            await self._new.wait()

    def ended_records(self, linkedid: str) -> list[CallEnded]:
        return [e for e in self.events if isinstance(e, CallEnded) and e.call.call_id == linkedid]

    async def ended(self, linkedid: str) -> CallEnded:
        await self.wait(lambda: bool(self.ended_records(linkedid)))
        return self.ended_records(linkedid)[0]

    def originated(self, action_id: str) -> str | None:
        """The Linkedid of the call started by Originate ``action_id``, once seen."""
        for event in self.events:
            call = getattr(event, "call", None)
            if call is not None and call.originate and call.originate.action_id == action_id:
                return str(call.call_id)
        return None


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(users={"cti": SECRET}, agents=["101", "102"], time_scale=0.001)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def pbx_config(sim: PbxSimulator, secret: str = SECRET, **extra: float) -> PbxConfig:
    return PbxConfig(
        host="127.0.0.1", port=sim.port, username="cti", secret=SecretStr(secret), **extra
    )


async def run_connection(conn: AmiConnection) -> asyncio.Task[None]:
    return asyncio.create_task(conn.run())


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_login_and_a_live_call_is_tracked(
    sim: PbxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bus = EventBus()
    seen = Seen(bus)
    conn = AmiConnection("lab", pbx_config(sim), bus.publish)
    before = datetime.now(UTC)
    task = await run_connection(conn)
    try:
        await conn.wait_connected()
        assert conn.connected and conn.sessions == 1 and conn.resyncs == 1
        handle = await sim.place_call(
            InboundCall(caller="+74951234567", caller_name="Ivan", to="101")
        )
        await handle
        ended = await seen.ended(handle.linkedid)
    finally:
        await stop(task)
    record = ended.record
    assert (record.pbx, record.linkedid) == ("lab", handle.linkedid)
    assert record.direction == "inbound"
    assert record.from_number == "+74951234567"
    assert record.agent == "101"
    assert record.status == "answered"
    assert record.partial is False
    # the simulator, like Asterisk by default, sends no Timestamp: times are cti's receipt
    assert record.clock == "receipt"
    assert record.started_at is not None and record.answered_at is not None
    assert record.ended_at is not None
    assert before <= record.started_at <= record.answered_at <= record.ended_at
    assert record.ended_at <= datetime.now(UTC)
    assert [t.agent for t in record.talks] == ["101"]
    assert not conn.connected
    assert "connected to" in caplog.text and SECRET not in caplog.text


async def test_originate_action_reaches_the_tracker_with_its_action_id(sim: PbxSimulator) -> None:
    bus = EventBus()
    seen = Seen(bus)
    conn = AmiConnection("lab", pbx_config(sim), bus.publish)
    task = await run_connection(conn)
    try:
        await conn.wait_connected()
        action_id = await actions.originate(
            conn,
            channel="Local/79161110001@pstn",
            context="dialer-connected",
            exten="s",
            caller_id='"Sales" <+74950000000>',
            variables={"CAMPAIGN": "spring-promo", "LEAD_ID": "7741"},
            account="campaign-7",
        )
        await seen.wait(lambda: seen.originated(action_id) is not None)
        linkedid = seen.originated(action_id)
        assert linkedid is not None
        ended = await seen.ended(linkedid)
    finally:
        await stop(task)
    originate = ended.record.originate
    assert originate is not None
    assert originate.action_id == action_id
    assert originate.variables.get("CAMPAIGN") == "spring-promo"
    assert ended.record.direction == "outbound"
    assert ended.record.to_number == "79161110001"


async def test_hangup_of_an_unknown_channel_is_a_clear_action_error(sim: PbxSimulator) -> None:
    conn = AmiConnection("lab", pbx_config(sim), EventBus().publish)
    task = await run_connection(conn)
    try:
        await conn.wait_connected()
        with pytest.raises(Exception, match="No such channel") as info:
            await actions.hangup(conn, channel="Local/999@agents-00000001;1")
        assert info.value.details == {"pbx": "lab"}  # type: ignore[attr-defined]
    finally:
        await stop(task)


async def test_actions_refuse_injection_and_need_a_connection(sim: PbxSimulator) -> None:
    conn = AmiConnection("lab", pbx_config(sim), EventBus().publish)
    with pytest.raises(PbxUnavailableError, match="'lab' is not connected"):
        await actions.hangup(conn, channel="Local/101@agents-1;1")
    with pytest.raises(ValidationError, match="channel"):
        await actions.hangup(conn, channel="x\r\nAction: Logoff")
    with pytest.raises(ValidationError, match=r"variables\.BAD NAME"):
        await actions.originate(conn, channel="Local/1@pstn", context="c", exten="s",
                                variables={"BAD NAME": "1"})  # fmt: skip
    with pytest.raises(ValueError, match="bad header"):
        encode_action({"Action": "Ping", "X": "a\nb"})
    pool = AmiConnections(lab=conn)
    assert pool.pick() is conn and pool.pick("lab") is conn
    with pytest.raises(PbxUnavailableError, match="no PBX named 'other'"):
        pool.pick("other")


async def test_wrong_secret_names_the_pbx_retries_slowly_and_never_logs_the_secret(
    sim: PbxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wr0ng-Secret-77"
    cfg = pbx_config(sim, wrong, reconnect_min=0.001, reconnect_max=0.02)
    conn = AmiConnection("branch-office", cfg, EventBus().publish)
    task = await run_connection(conn)
    try:
        await conn.until(lambda: conn.failures >= 3)
    finally:
        await stop(task)
    assert not conn.connected and conn.sessions == 0
    assert conn.next_delay >= cfg.reconnect_max  # slow: never below the cap
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1  # one clear line, not one per attempt
    message = errors[0].getMessage()
    assert "'branch-office'" in message and "Authentication failed" in message
    assert "'cti'" in message
    assert conn.last_error is not None and "branch-office" in conn.last_error
    for text in (caplog.text, *(r.getMessage() for r in caplog.records)):
        assert wrong not in text


async def test_unreachable_pbx_backs_off_and_logs_the_outage_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nothing listens on ``port`` now: connection refused
    cfg = PbxConfig(port=port, secret=SecretStr(SECRET), reconnect_min=0.001, reconnect_max=0.004)
    conn = AmiConnection("lab", cfg, EventBus().publish)
    caplog.set_level(logging.DEBUG, logger="cti.ami.connection")
    task = await run_connection(conn)
    delays: list[float] = []
    try:
        for n in range(1, 6):
            await conn.until(lambda n=n: conn.failures >= n)  # type: ignore[misc]
            delays.append(conn.next_delay)
    finally:
        await stop(task)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'lab'" in warnings[0].getMessage()
    assert "manager.conf" in warnings[0].getMessage()  # what to check, too
    assert "pbx.lab.host/port" in warnings[0].getMessage()
    assert all(cfg.reconnect_min <= d <= cfg.reconnect_max for d in delays)
    assert SECRET not in caplog.text


async def test_redirect_is_sent_and_its_error_reported(sim: PbxSimulator) -> None:
    conn = AmiConnection("lab", pbx_config(sim), EventBus().publish)
    task = await run_connection(conn)
    try:
        await conn.wait_connected()
        with pytest.raises(AmiActionError, match="No such channel"):
            await actions.redirect(
                conn, channel="Local/1@agents-1;1", context="agents", exten="102",
                extra_channel="Local/2@agents-2;1",
            )  # fmt: skip
        with pytest.raises(ValidationError, match="priority"):
            await actions.redirect(conn, channel="X/1", context="a", exten="1", priority=0)
        with pytest.raises(ValidationError, match="cause"):
            await actions.hangup(conn, channel="X/1", cause=300)
        assert conn.connected  # an action error does not hurt the session
    finally:
        await stop(task)


async def one_call(sim: PbxSimulator) -> tuple[AmiConnection, CallRecord]:
    """Connect, let one inbound call to 101 happen, disconnect: the connection and record."""
    bus = EventBus()
    seen = Seen(bus)
    conn = AmiConnection("lab", pbx_config(sim), bus.publish)
    task = await run_connection(conn)
    try:
        await conn.wait_connected()
        handle = await sim.place_call(InboundCall(caller="+74951234567", to="101"))
        await handle
        ended = await seen.ended(handle.linkedid)
    finally:
        await stop(task)
    return conn, ended.record


async def test_a_pbx_that_refuses_the_filter_action_is_used_unfiltered_and_said_once(
    sim: PbxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The least-privilege AMI user may not send ``Filter``: one INFO line, no outage."""
    caplog.set_level(logging.INFO)
    sim.filter_allowed = False
    conn, record = await one_call(sim)
    assert not conn.filtered and record.status == "answered"
    said = [r for r in caplog.records if "may not set event filters" in r.getMessage()]
    assert len(said) == 1 and "cti ami manager-conf" in said[0].getMessage()


async def test_a_filtered_session_gets_only_what_cti_uses_and_the_same_call(
    sim: PbxSimulator,
) -> None:
    """Where the AMI user may (``write = system``), cti narrows its session at login."""
    conn, record = await one_call(sim)
    assert conn.filtered
    assert (record.direction, record.status, record.agent) == ("inbound", "answered", "101")
    assert [t.agent for t in record.talks] == ["101"]
