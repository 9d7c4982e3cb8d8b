"""Against a real Asterisk 22 (``../shared/asterisk``, with ``tests/traces/asterisk22/config``).

Marked ``asterisk``: not run on CI (there is no Asterisk there). They run when
``CTI_TEST_AMI`` names the lab's AMI user with write=all (``ami://cti:cti-secret@127.0.0.1:5038``)
and ``CTI_TEST_AMI_LEAST`` the least-privilege user of ``cti ami manager-conf``
(``ami://cti-least:SECRET@127.0.0.1:5038``); otherwise each test is skipped saying so.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from cti.ami.actions import originate
from cti.ami.connection import AmiConnection
from cti.ami.events import (
    CallEnded,
    CallEvent,
    CallRecord,
    DeviceStateChanged,
    OriginateFailed,
    QueueMemberChanged,
)
from cti.config import DialConfig, PbxConfig
from cti.screenpop.dial import ClickToDial

pytestmark = pytest.mark.asterisk

IVAN = '"Ivan Petrov" <+74951234567>'


def _config(variable: str) -> PbxConfig:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"live Asterisk tests not run: set {variable} (see this module's docs)")
    return PbxConfig.from_url(url)


class Calls:
    """Collects finished calls of one connection."""

    def __init__(self) -> None:
        self.records: dict[str, CallRecord] = {}
        self.events: list[CallEvent] = []
        self._new = asyncio.Event()

    def publish(self, event: CallEvent) -> None:
        self.events.append(event)
        if isinstance(event, CallEnded):
            self.records[event.record.linkedid] = event.record
        self._new.set()

    async def first(self, test: Callable[[CallEvent], bool], within: float = 20.0) -> CallEvent:
        """The first event so far (or to come) that passes ``test``."""
        async with asyncio.timeout(within):
            while True:
                for event in self.events:
                    if test(event):
                        return event
                self._new.clear()
                await self._new.wait()

    async def one(self, action_id: str, within: float = 40.0) -> CallRecord:
        async with asyncio.timeout(within):
            while True:
                for record in self.records.values():
                    if record.originate and record.originate.action_id == action_id:
                        return record
                self._new.clear()
                await self._new.wait()


@asynccontextmanager
async def connected(config: PbxConfig) -> AsyncIterator[tuple[AmiConnection, Calls]]:
    calls = Calls()
    conn = AmiConnection("lab", config, calls.publish)
    task = asyncio.create_task(conn.run())
    try:
        async with asyncio.timeout(15):
            await conn.wait_connected()
        yield conn, calls
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_least_privilege_user_logs_in_resyncs_and_tracks_an_ivr_queue_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The user block of ``cti ami manager-conf``: enough for login, resync and calls; its
    filters (in manager.conf) already narrow the events, the Filter action is refused."""
    caplog.set_level(logging.INFO)
    async with connected(_config("CTI_TEST_AMI_LEAST")) as (conn, calls):
        assert conn.resyncs == 1 and not conn.filtered
        assert "may not set event filters" in caplog.text
        action_id = await originate(
            conn,
            channel="Local/h30@customer-phone",
            context="cti-inbound",
            exten="510",
            caller_id=IVAN,
            ring_seconds=30,
        )
        record = await calls.one(action_id)
    assert (record.direction, record.status, record.agent) == ("inbound", "answered", "201")
    assert record.clock in ("pbx", "receipt") and record.answered_by == "agent"
    assert record.started_at is not None and record.answered_at is not None
    assert record.ivr_seconds == pytest.approx(3.0, abs=0.5)
    assert record.queue_wait_seconds == pytest.approx(2.0, abs=0.5)
    assert [t.agent for t in record.talks] == ["201"]


async def test_the_filter_action_narrows_a_privileged_session_and_click_to_dial_works() -> None:
    async with connected(_config("CTI_TEST_AMI")) as (conn, calls):
        assert conn.filtered
        dial = ClickToDial(pbxes=lambda: {"lab": conn}, region="RU")
        placed = await dial.dial(
            extensions=("103",), number="+7 916 111-00-01", extension=None, pbx=None
        )
        record = await calls.one(placed["action_id"])
    assert (record.direction, record.status, record.agent) == ("outbound", "answered", "103")
    assert record.to_number == "79161110001" and record.answered_by == "external"
    assert record.ring_seconds == pytest.approx(1.0, abs=0.5)


async def test_click_to_dial_follows_the_pbx_dial_settings() -> None:
    """``[pbx.NAME.dial]`` on a real dialplan: the lab's ``cti-outbound`` sends only ``_7X.``
    out, so the same number written ``national`` (8…) finds no route and fails there."""
    config = _config("CTI_TEST_AMI_LEAST")
    routes = {
        "out": DialConfig(agent_channel="Local/{ext}@agents", context="cti-outbound"),
        "national": DialConfig(context="cti-outbound", number_format="national"),
    }
    async with connected(config) as (conn, calls):
        dial = ClickToDial(pbxes=lambda: {"out": conn, "national": conn}, routes=routes)
        placed = await dial.dial(
            extensions=("103",), number="+7 916 111-00-01", extension=None, pbx="out"
        )
        answered = await calls.one(placed["action_id"])
        placed = await dial.dial(
            extensions=("103",), number="+7 916 111-00-01", extension=None, pbx="national"
        )
        failed = await calls.one(placed["action_id"])
    assert (answered.direction, answered.status, answered.agent) == ("outbound", "answered", "103")
    assert answered.to_number == "79161110001"
    assert (failed.direction, failed.status, failed.agent) == ("outbound", "failed", "103")
    assert failed.to_number == "89161110001" and failed.hangup_cause == 1


async def test_every_campaign_originate_outcome_reaches_the_dialer() -> None:
    """The campaign dialplan of ``tests/traces/asterisk22/config/extensions_campaign.conf``
    through the least-privilege user (its filters on): each attempt ends in a record that
    names its ActionID, or (no channel at all) in an ``OriginateFailed``; queue member
    actions and the agent's phone show as events."""
    config = _config("CTI_TEST_AMI_LEAST")
    outcomes = {
        "79161110011": ("campaign", "answered"),
        "79161110002": ("campaign", "busy"),
        "79161110004": ("campaign", "failed"),
        "79161110009": ("campaign", "failed"),
    }
    async with connected(config) as (conn, calls):

        async def attempt(number: str, queue: str, ring: float = 20.0) -> str:
            return await originate(
                conn,
                channel=f"Local/{number}@pstn",
                context="cti-campaign",
                exten="s",
                caller_id='"Sales Dept" <+74950000000>',
                ring_seconds=ring,
                variables={
                    "CTI_CAMPAIGN": "live",
                    "CTI_ATTEMPT": number,
                    "CTI_QUEUE": queue,
                    "CTI_CONNECT_LIMIT": "2",
                    "CTI_ABANDON_MESSAGE": "",
                },
            )

        sent = {n: await attempt(n, q) for n, (q, _) in outcomes.items()}
        records = {n: await calls.one(a) for n, a in sent.items()}
        noanswer = await calls.one(await attempt("79161110003", "campaign", ring=3.0))
        abandoned = await calls.one(await attempt("79161110011", "campaign-empty"))
        nobody = await originate(
            conn, channel="PJSIP/nobody", context="cti-campaign", exten="s", ring_seconds=5
        )
        failed = await calls.first(
            lambda e: isinstance(e, OriginateFailed) and e.action_id == nobody
        )
        member = "Local/108@cti-campaign-agents"
        for action in (
            {"Action": "QueueAdd", "Queue": "campaign", "Interface": member},
            {"Action": "QueuePause", "Queue": "campaign", "Interface": member, "Paused": "true"},
            {"Action": "QueueRemove", "Queue": "campaign", "Interface": member},
        ):
            await conn.send_action(action)
        removed = await calls.first(
            lambda e: isinstance(e, QueueMemberChanged) and e.change == "removed"
        )
    for number, (_, status) in outcomes.items():
        assert records[number].status == status, number
        assert records[number].direction == "outbound"
    assert records["79161110011"].agent == "107"
    assert noanswer.status == "no-answer"
    assert (abandoned.status, abandoned.agent) == ("abandoned", None)
    assert abandoned.answered_at is not None
    assert isinstance(failed, OriginateFailed) and failed.channel == "PJSIP/nobody"
    assert isinstance(removed, QueueMemberChanged) and removed.extension == "108"
    changes = [e.change for e in calls.events if isinstance(e, QueueMemberChanged)]
    assert {"added", "paused", "removed"} <= set(changes)
    assert any(
        isinstance(e, DeviceStateChanged) and e.extension == "107" and e.state == "INUSE"
        for e in calls.events
    )
