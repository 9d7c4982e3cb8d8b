"""The operator page in headless Chromium (Debian's package, driven by Playwright).

Marked ``browser``: where ``/usr/bin/chromium`` (``CTI_CHROMIUM``) is absent they are skipped
with one summary line, and on CI the run fails (``tests/needs.py``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cti.pbxsim.calls import InboundCall, QueueCall
from tests.needs import CHROMIUM
from tests.screenpop.conftest import IVAN, PASSWORD, MakeEnv

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT = Path(os.environ.get("CTI_SCREENSHOT_DIR", "/tmp")) / "cti-operator-page.png"

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


async def test_operator_logs_in_and_sees_the_caller_on_the_card(
    make_env: MakeEnv, browser: Any
) -> None:
    from playwright.async_api import expect

    env = await make_env(budget=5.0, card_budget=5.0)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(env.client.make_url("/")))
    await expect(page.locator("#login-form")).to_be_visible()
    await expect(page.locator("#dial-form")).to_be_hidden()  # no dialling before login
    icon = await page.locator("link[rel=icon]").get_attribute("href")
    assert icon is not None
    served = await page.request.get(str(env.client.make_url(icon)))
    assert served.ok and served.headers["content-type"].startswith("image/svg+xml")
    await page.fill("#login-form [name=username]", "alice")
    await page.fill("#login-form [name=password]", PASSWORD)
    await page.press("#login-form [name=password]", "Enter")
    await expect(page.locator("#link")).to_have_text("live")
    await expect(page.locator("#who")).to_contain_text("alice")
    await expect(page.locator("#dial-form")).to_be_visible()

    # a queue call first (answered by bob: alice's card says "answered elsewhere") …
    await env.sim.place_call(QueueCall(caller="+79161112233", answered_by="102", talk_seconds=3600))
    await expect(page.locator(".calls li")).to_have_count(1)
    await expect(page.locator(".calls li .badge").first).to_have_text("answered elsewhere")
    # … then Ivan calls alice directly and keeps ringing
    await env.sim.place_call(
        InboundCall(
            caller=IVAN, caller_name="Ivan Petrov", to="101", answer=False, ring_seconds=3600
        )
    )
    await expect(page.locator(".calls li")).to_have_count(2)
    await page.keyboard.press("Alt+1")  # newest call first
    card = page.locator("#card")
    await expect(page.locator("#caller-name")).to_have_text("Ivan Petrov")
    await expect(card).to_contain_text("Acme Ltd")
    await expect(card).to_contain_text("Spring upgrade")
    await expect(card).to_contain_text("Router keeps rebooting")
    await expect(card).to_contain_text("Support follow-up")  # the script for an open ticket
    await expect(card.locator(".state .badge")).to_have_text("ringing")
    await page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert errors == []


async def test_unknown_caller_becomes_a_contact_with_a_note(
    make_env: MakeEnv, browser: Any
) -> None:
    from playwright.async_api import expect

    from cti.crm_store.schemas.tasks import NoteQuery
    from cti.crm_store.services.tasks import NoteService

    env = await make_env(budget=5.0, card_budget=5.0)
    page = await browser.new_page()
    await page.goto(str(env.client.make_url("/")))
    await page.fill("#login-form [name=username]", "bob")
    await page.fill("#login-form [name=password]", PASSWORD)
    await page.press("#login-form [name=password]", "Enter")
    await expect(page.locator("#link")).to_have_text("live")
    await env.sim.place_call(
        InboundCall(caller="+79035550199", to="102", answer=False, ring_seconds=3600)
    )
    form = page.locator("#new-contact")
    await expect(form.locator("[name=phone]")).to_have_value("+79035550199")  # prefilled
    await form.locator("[name=first_name]").fill("Olga")
    await form.locator("[name=last_name]").fill("New")
    await form.locator("[name=last_name]").press("Enter")
    await expect(page.locator("#caller-name")).to_have_text("Olga New")
    await page.keyboard.press("n")  # keyboard: focus the note
    await page.keyboard.type("Wants a quote for 20 seats")
    await page.keyboard.press("Control+Enter")
    await expect(page.locator(".toast").last).to_have_text("Wrap-up saved")
    notes = await NoteService(env.store).search(NoteQuery())
    assert [n.body for n in notes.items] == ["Wants a quote for 20 seats"]
    assert notes.items[0].contact_id is not None


async def test_due_tasks_are_listed_and_done_or_snoozed_from_the_page(
    make_env: MakeEnv, browser: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from playwright.async_api import expect

    from cti.crm_store.schemas.tasks import TaskIn
    from cti.crm_store.services.tasks import TaskService
    from cti.crm_store.services.users import UserService

    env = await make_env()
    alice = await UserService(env.store).by_username("alice")
    assert alice is not None
    tasks = TaskService(env.store)
    past = datetime.now(UTC) - timedelta(minutes=3)
    await tasks.create(TaskIn(title="Call back Ivan", kind="callback", phone=IVAN,
                              assignee_id=alice.id, due_at=past))  # fmt: skip
    await tasks.create(TaskIn(title="Send the offer", assignee_id=alice.id, due_at=past))
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(env.client.make_url("/")))
    await page.fill("#login-form [name=username]", "alice")
    await page.fill("#login-form [name=password]", PASSWORD)
    await page.press("#login-form [name=password]", "Enter")
    due = page.locator("#reminders li")
    await expect(due).to_have_count(2)
    await expect(due.first).to_contain_text("Call back Ivan")
    await expect(page.locator("#no-reminders")).to_be_hidden()
    await due.first.get_by_role("button", name="Done").click()
    await expect(due).to_have_count(1)
    await due.first.get_by_role("button", name="Snooze").click()
    await expect(due).to_have_count(0)
    await expect(page.locator("#no-reminders")).to_be_visible()
    await page.reload()  # still nothing due after a reload: done and snoozed in the store
    await expect(page.locator("#link")).to_have_text("live")
    await expect(due).to_have_count(0)
    assert errors == []
