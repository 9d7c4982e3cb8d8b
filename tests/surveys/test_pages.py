"""The survey on the pages, in headless Chromium: an operator walks the NPS survey of a
call (branches, a changed answer, a reload that resumes it, finish); the supervisor sees
the answers arrive and the results with their Chart.js charts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from cti.ami.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallInfo,
    CallStarted,
    OriginateInfo,
)
from cti.config import Settings
from cti.crm_store.repos.surveys import SurveyRepo
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from cti.web.keys import BUS
from tests.calllog.records import call
from tests.needs import CHROMIUM
from tests.web.conftest import FAST_HASHER, PASSWORD

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
pytestmark = pytest.mark.browser
KEY = "1733590000.5"


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
async def client(sqlite_store: Store) -> AsyncIterator[TestClient[web.Request, web.Application]]:
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


async def login(page: Any, username: str) -> None:
    await page.fill("#login-form [name=username]", username)
    await page.fill("#login-form [name=password]", PASSWORD)
    await page.press("#login-form [name=password]", "Enter")


INFO = CallInfo(
    pbx="lab",
    call_id=KEY,
    direction="outbound",
    from_number="101",
    from_name=None,
    to_number="+74951234567",
    originate=OriginateInfo(action_id="a1", variables={"CTI_CAMPAIGN": "nps-survey"}),
)


def campaign_call(app: web.Application) -> None:
    """An NPS campaign call answered on 101 (its pop carries the NPS script)."""
    info = INFO
    for event in (
        CallStarted(info, None),
        AgentRinging(info, "101", None),
        CallAnswered(info, "101", None),
    ):
        app[BUS].publish(event)


async def test_operator_walks_the_survey_and_the_supervisor_sees_it(
    client: TestClient[web.Request, web.Application], sqlite_store: Store, browser: Any
) -> None:
    from playwright.async_api import expect

    errors: list[str] = []
    boss = await browser.new_page(viewport={"width": 1280, "height": 1000})
    boss.on("pageerror", lambda exc: errors.append(str(exc)))
    await boss.goto(str(client.make_url("/supervisor")))
    await login(boss, "sue")
    await expect(boss.locator("#link")).to_have_text("live")

    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(client.make_url("/")))
    await login(page, "olga")
    await expect(page.locator("#link")).to_have_text("live")
    campaign_call(client.app)
    await page.locator("#survey-start").click()
    question = page.locator(".survey form.question")
    await expect(question).to_have_attribute("data-question", "consent")
    await question.locator("[data-value=yes]").click()
    await expect(question).to_have_attribute("data-question", "recommend")
    await question.locator("[data-value='3']").click()
    await expect(question).to_have_attribute("data-question", "improve")  # a detractor
    await expect(boss.locator("#survey-feed")).to_contain_text("how likely are you to recommend us")
    await expect(boss.locator("#survey-feed")).to_contain_text("— 3")
    # the operator goes back and changes the score: now a promoter's question
    await page.locator("[data-answer=recommend] button").click()
    await expect(question).to_have_attribute("data-question", "recommend")
    await question.locator("[data-value='9']").click()
    await expect(question).to_have_attribute("data-question", "liked")
    # a reload: the page finds the survey where it was
    await page.reload()
    await expect(page.locator("[data-answer=recommend]")).to_contain_text("9")
    await expect(question).to_have_attribute("data-question", "liked")
    await question.locator("input[value=quality]").check()
    # the caller hangs up while the operator is on it: the card redraws, the tick stays,
    # and the answers given after the hang-up are saved on the same call
    client.app[BUS].publish(CallEnded(INFO, call(KEY, pbx="lab", agent="101"), None))
    await expect(page.locator(".state .badge")).to_contain_text("ended")
    await expect(question.locator("input[value=quality]")).to_be_checked()
    await question.locator("button[type=submit]").click()
    await expect(question).to_have_attribute("data-question", "satisfaction")
    await question.locator("[data-value='5']").click()
    await expect(page.locator(".survey .closing")).to_contain_text("Thank you for your time")
    await page.locator("#survey-finish").click()
    await expect(page.locator(".survey [data-status]")).to_have_text("survey complete")
    await expect(boss.locator("#survey-feed")).to_contain_text("finished: complete")

    (response,) = await SurveyRepo(sqlite_store).of_call(KEY)
    answers = await SurveyRepo(sqlite_store).answers(response.id)
    assert {k: a.value for k, a in answers.items()} == {
        "consent": True,
        "recommend": 9,
        "liked": ["quality"],
        "satisfaction": 5,
    }
    assert (response.status, response.agent) == ("complete", "101")

    # the supervisor's results: figures and one chart per question with a distribution
    await boss.fill("#results-script", "nps")
    await boss.locator("#results-form button[type=submit]").click()
    version = boss.locator(".version")
    await expect(version.locator("[data-completion]")).to_contain_text("complete 1")
    await expect(version.locator("[data-question=recommend] [data-nps]")).to_contain_text("NPS 100")
    await expect(version.locator("[data-question=satisfaction] [data-csat]")).to_contain_text(
        "CSAT 100 %"
    )
    charts = version.locator("canvas[data-chart]")
    await expect(charts).to_have_count(
        6
    )  # consent, recommend, improve, liked, satisfaction, callback
    chart = "Chart.getChart(document.querySelector('canvas[data-chart=recommend]'))"
    drawn = await boss.evaluate(f"() => {chart}.data.datasets[0].data")
    assert drawn == [0] * 9 + [1, 0]
    assert errors == []
