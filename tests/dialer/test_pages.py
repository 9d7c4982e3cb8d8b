"""The dialer's pages in headless Chromium: a supervisor starts a campaign and watches its
figures (pushed over the WebSocket); an operator joins, pauses, takes a call and closes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

import cti.dialer.http as dialer_http
from cti.ami.events import CallAnswered, CallEnded, OriginateFailed, OriginateInfo
from cti.config import Settings
from cti.crm_store.repos.dialer import DialerRepo
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.crm_store.timeutil import utcnow
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from cti.dialer.service import CampaignService
from tests.calllog.records import call
from tests.dialer.test_engine import T0, Clock, RecordingPbx, _campaign, _engine, _info
from tests.needs import CHROMIUM
from tests.web.conftest import FAST_HASHER, PASSWORD

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
pytestmark = pytest.mark.browser


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def client(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    monkeypatch.setattr(dialer_http, "FIGURES_EVERY", 0.2)
    users = UserService(sqlite_store, hasher=FAST_HASHER)
    for name, role, exts in (("sue", "supervisor", []), ("olga", "operator", ["101"])):
        await users.create(
            UserIn(username=name, password=SecretStr(PASSWORD), role=role, extensions=exts)
        )
    app = build_app(Settings(), store=sqlite_store, extra_setup=load_hooks(SETUP_HOOKS))
    test_client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()


async def test_supervisor_starts_a_campaign_and_watches_it(
    client: TestClient[web.Request, web.Application],
    sqlite_store: Store,
    browser: Any,
    tmp_path: Path,
) -> None:
    from playwright.async_api import expect

    store = sqlite_store
    campaign = await _campaign(store, tmp_path)
    await CampaignService(store).change(campaign.id, "stop")  # a supervisor starts it
    olga = await UserService(store).by_username("olga")
    assert olga is not None
    await DialerRepo(store).join(campaign.id, olga.id, "101", T0)

    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(client.make_url("/supervisor")))
    await page.fill("#login-form [name=username]", "sue")
    await page.fill("#login-form [name=password]", PASSWORD)
    await page.press("#login-form [name=password]", "Enter")
    box = page.locator("[data-campaign=nps-survey]")
    await expect(box.locator("[data-status]")).to_have_text("stopped")
    await expect(page.locator("#link")).to_have_text("live")
    await box.locator("[data-command=start]").click()
    await expect(box.locator("[data-status]")).to_have_text("running")
    await expect(box.locator("[data-agents]")).to_contain_text("101")

    # calls end: one busy, one answered by 101, one abandoned (no agent in time)
    pbx, clock = RecordingPbx(), Clock()
    # real time (the app sweeps by it), a little in the past: the answered call's 30 s
    # wrap-up must still run when the page is checked (30 s back, it ended at once, and the
    # app's sweep set the agent free before the page could show it: a flaky check)
    clock.now = utcnow() - timedelta(seconds=10)
    engine = _engine(store, pbx, clock)
    repo = DialerRepo(store)
    for _ in range(3):  # three calls, whatever the floor says
        await repo.pace_and_claim(
            campaign.id,
            decide=lambda floor: 1,
            window=lambda lead: None,
            dialer="test",
            pbx="lab",
            now=clock.now,
            abandon_hold=None,
        )
    attempts = [a.action_id for a in await repo.open_attempts(campaign.id)]
    busy, talked, dropped = attempts
    await engine.handle(OriginateFailed("lab", busy, 5, "PJSIP/x", None))
    await engine.handle(CallAnswered(_info(talked), None, None))
    await engine.handle(CallAnswered(_info(talked), "101", None))
    await engine.handle(
        CallEnded(_info(talked), call("c1", originate=OriginateInfo(action_id=talked)), None)
    )
    await engine.handle(CallAnswered(_info(dropped), None, None))
    clock.advance(5)
    lost = call(
        "c2",
        originate=OriginateInfo(action_id=dropped),
        answered_at=clock.now - timedelta(seconds=5),
        agent=None,
        talks=(),
    )
    await engine.handle(CallEnded(_info(dropped), lost, None))

    await expect(box.locator("[data-outcomes]")).to_contain_text("abandoned 1")
    await expect(box.locator("[data-outcomes]")).to_contain_text("busy 1")
    await expect(box.locator("[data-figure='abandoned 24 h'] b")).to_have_text("50.0 %")
    await expect(box.locator("[data-agents]")).to_contain_text("wrap-up")
    await box.locator("[data-command=pause]").click()
    await expect(box.locator("[data-status]")).to_have_text("paused")
    assert errors == []


async def test_operator_joins_takes_a_call_and_sets_its_disposition(
    client: TestClient[web.Request, web.Application],
    sqlite_store: Store,
    browser: Any,
    tmp_path: Path,
) -> None:
    from playwright.async_api import expect
    from sqlalchemy import select

    from cti.crm_store.models.campaigns import DialAttempt, Lead

    store = sqlite_store
    campaign = await _campaign(store, tmp_path, connect={"context": "cti-campaign", "exten": "s"})
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(client.make_url("/")))
    await page.fill("#login-form [name=username]", "olga")
    await page.fill("#login-form [name=password]", PASSWORD)
    await page.press("#login-form [name=password]", "Enter")
    await page.locator("#join-form button").click()
    await expect(page.locator("#agent-state")).to_contain_text("free")
    await page.locator("#agent-pause").click()
    await expect(page.locator("#agent-state")).to_contain_text("paused (break)")
    await page.locator("#agent-resume").click()
    await expect(page.locator("#agent-state")).to_contain_text("free")

    # a campaign call reaches olga (101) and ends: her wrap-up asks for the disposition
    pbx, clock = RecordingPbx(), Clock()
    clock.now = utcnow()
    engine = _engine(store, pbx, clock)
    (attempt,) = await DialerRepo(store).pace_and_claim(
        campaign.id,
        decide=lambda floor: 1,
        window=lambda lead: None,
        dialer="test",
        pbx="lab",
        now=clock.now,
        abandon_hold=None,
    )
    action = attempt.action_id
    await engine.handle(CallAnswered(_info(action), None, None))
    await engine.handle(CallAnswered(_info(action), "101", None))
    await engine.handle(
        CallEnded(_info(action), call("c9", originate=OriginateInfo(action_id=action)), None)
    )
    await expect(page.locator("#agent-state")).to_contain_text("wrap-up")
    await page.locator("[data-disposition=refused]").click()
    await expect(page.locator("#agent-state")).to_contain_text("free")
    async with store.sessions() as session:
        done = await session.scalar(select(DialAttempt).where(DialAttempt.action_id == action))
        assert done is not None and done.disposition == "refused"
        lead = await session.get(Lead, done.lead_id)
        assert lead is not None and (lead.state, lead.closed_reason) == ("done", "refused")
    await page.locator("#agent-leave").click()
    await expect(page.locator("#join-form")).to_be_visible()
    assert errors == []
