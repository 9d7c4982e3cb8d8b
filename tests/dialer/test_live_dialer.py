"""The dialer engine against a real Asterisk 22 (the lab of ``../shared/asterisk`` with
``tests/traces/asterisk22/config``): a progressive campaign through the least-privilege AMI
user, and each lead's attempt gets the outcome its lab number gives.

Marked ``asterisk``: not run on CI. Runs when ``CTI_TEST_AMI_LEAST`` names the lab's
least-privilege AMI user (``ami://cti-least:least-secret@127.0.0.1:5038``); else skipped
saying so.
"""

from __future__ import annotations

import asyncio
import os

import pytest
import yaml
from sqlalchemy import select

from cti.ami.connection import AmiConnection
from cti.config import PbxConfig, PhoneConfig
from cti.crm_store.models.campaigns import DialAttempt
from cti.crm_store.repos.dialer import DialerRepo
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.dialer.engine import DialerEngine, EngineSettings
from cti.dialer.list_service import ListService
from cti.dialer.service import CampaignService
from cti.screenpop.scripts import DEFAULT_CAMPAIGNS_DIR

pytestmark = pytest.mark.asterisk

ALWAYS = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "23:59"}
#: the lab's called parties (extensions_campaign.conf, the lab's [pstn]) and what each gives
EXPECTED = {
    "+79161110011": "answered",  # answers after 2 s; agent 107 of queue "campaign" takes it
    "+79161110002": "busy",
    "+79161110004": "congestion",
    "+79161110009": "invalid",  # Hangup(1): unallocated number
    "+79161110003": "no-answer",  # rings 120 s; the campaign gives up at 15 s
}


async def test_a_progressive_campaign_on_asterisk_gets_every_outcome(sqlite_store: Store) -> None:
    url = os.environ.get("CTI_TEST_AMI_LEAST")
    if not url:
        pytest.skip("live Asterisk dialer test not run: set CTI_TEST_AMI_LEAST (module docs)")
    store = sqlite_store
    data = yaml.safe_load((DEFAULT_CAMPAIGNS_DIR / "nps-survey.yaml").read_text())
    data.update(
        route="Local/{number}@pstn",
        windows=[ALWAYS],
        ring_seconds=15,
        wrap_up_seconds=1,
        max_attempts=1,
        connect={"context": "cti-campaign", "exten": "s", "queue": "campaign", "limit_seconds": 5,
                 "abandon_message": "beep"},
    )  # fmt: skip
    campaigns = CampaignService(store)
    campaign = (await campaigns.load_data(data, source="live")).campaign
    rows = "phone\n" + "".join(f"{n}\n" for n in EXPECTED)
    await ListService(store, PhoneConfig()).import_text(campaign, rows.encode(), list_name="lab")
    agent = await UserService(store).create(
        UserIn.model_validate({"username": "op107", "password": "x" * 12, "extensions": ["107"]})
    )
    await DialerRepo(store).join(campaign.id, agent.id, "107", utcnow())  # a static member
    await campaigns.change(campaign.id, "start")

    engine: DialerEngine
    conn = AmiConnection("lab", PbxConfig.from_url(url), lambda e: engine.on_event(e))
    engine = DialerEngine(
        store, lambda: {"lab": conn} if conn.connected else {}, EngineSettings(tick_seconds=0.5)
    )
    ami = asyncio.create_task(conn.run())
    dialer = asyncio.create_task(engine.run())
    try:
        async with asyncio.timeout(15):
            await conn.wait_connected()
        done: list[DialAttempt] = []
        for _ in range(240):  # 2 minutes at most
            async with store.sessions() as session:
                done = list(await session.scalars(select(DialAttempt)))
            if len(done) == len(EXPECTED) and all(a.state == "ended" for a in done):
                break
            await asyncio.sleep(0.5)
    finally:
        dialer.cancel()
        ami.cancel()
        await asyncio.gather(dialer, ami, return_exceptions=True)
    got = {a.phone: a.outcome for a in done}
    assert got == EXPECTED
    answered = next(a for a in done if a.outcome == "answered")
    assert answered.live and answered.agent == "107" and answered.talk_seconds
