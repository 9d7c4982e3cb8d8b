"""The manager page in headless Chromium: a supervisor picks a period and a time zone and
sees every report with its charts (the figures the API gives); the call history tab sends
the filters of the history API's contract; an operator sees only their own agent figures.

Screenshots of the run: ``test-artifacts/`` at the repository root (ignored by git), or
``$CTI_SCREENSHOT_DIR``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from cti.calllog.service import CallLog
from cti.config import Settings
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.services.users import UserService
from cti.crm_store.store import Store
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from tests.needs import CHROMIUM
from tests.reports.callset import callset
from tests.web.conftest import FAST_HASHER, PASSWORD

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(
    os.environ.get("CTI_SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "test-artifacts"
)
PERIOD = {"from": "2026-03-27", "to": "2026-03-31", "tz": "Europe/Paris"}
pytestmark = pytest.mark.browser
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture(autouse=True)
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def client(sqlite_store: Store) -> AsyncIterator[Client]:
    users = UserService(sqlite_store, hasher=FAST_HASHER)
    for name, role, exts in (("sue", "supervisor", []), ("olga", "operator", ["101"])):
        await users.create(
            UserIn(username=name, password=SecretStr(PASSWORD), role=role, extensions=exts)
        )
    log = CallLog(sqlite_store)
    try:
        await log.record_many(callset(7, 300))
    finally:
        log.close()
    app = build_app(Settings(), store=sqlite_store, extra_setup=load_hooks(SETUP_HOOKS))
    test_client: Client = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()


async def _login(page: Any, client: Client, who: str) -> None:
    await page.goto(str(client.make_url("/manager")))
    await page.fill("#login-form [name=username]", who)
    await page.fill("#login-form [name=password]", PASSWORD)
    await page.press("#login-form [name=password]", "Enter")
    await page.wait_for_selector("body[data-reports=loaded]")
    for name, value in PERIOD.items():
        await page.fill(f"#period [name={name}]", value)
    await page.evaluate("document.body.dataset.reports = ''")
    await page.click("#period button[type=submit]")
    await page.wait_for_selector("body[data-reports=loaded]")


async def _api(client: Client, who: str, path: str) -> Any:
    token = (
        await (await client.post("/api/login", json={"username": who, "password": PASSWORD})).json()
    )["token"]
    res = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert res.status == 200
    return await res.json()


async def test_a_supervisor_sees_the_dashboard_and_the_history_tab(
    client: Client, browser: Any
) -> None:
    from playwright.async_api import expect

    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _login(page, client, "sue")
    query = "&".join(f"{k}={v}" for k, v in PERIOD.items())
    queues = await _api(client, "sue", f"/api/reports/queues?{query}")
    total = queues["total"]
    last_row = page.locator('[data-report="queues"] table tr').last
    await expect(last_row).to_contain_text("all")
    await expect(last_row.locator("td").nth(1)).to_have_text(str(total["offered"]))
    await expect(last_row.locator("td").nth(2)).to_have_text(str(total["answered"]))
    # the charts are Chart.js's, drawn with the report's figures
    chart = await page.evaluate(
        "(() => { const c = Chart.getChart('queues-chart');"
        " return {labels: c.data.labels, answered: c.data.datasets[0].data}; })()"
    )
    assert chart == {
        "labels": [q["queue"] for q in queues["queues"]],
        "answered": [q["answered"] for q in queues["queues"]],
    }
    assert await page.evaluate("Chart.getChart('agents-chart').data.labels") == [
        "101",
        "102",
        "103",
        "104",
    ]
    heat = await _api(client, "sue", f"/api/reports/heatmap?{query}")
    cells = page.locator('[data-report="heatmap"] td[data-cell]')
    await expect(cells).to_have_count(7 * 24)
    busiest = max(
        ((d, h) for d in range(7) for h in range(24)), key=lambda dh: heat["cells"][dh[0]][dh[1]]
    )
    cell = page.locator(f'[data-cell="{busiest[0]}-{busiest[1]}"]')
    await expect(cell).to_have_text(str(heat["cells"][busiest[0]][busiest[1]]))
    callbacks = await _api(client, "sue", f"/api/reports/callbacks?{query}")
    await expect(page.locator('[data-report="callbacks"] table tr')).to_have_count(
        len(callbacks["items"]) + 1
    )
    await page.screenshot(path=str(ARTIFACTS / "manager-dashboard.png"), full_page=True)

    # the history tab: the request is the keyset contract's (filters, period, tz, limit)
    asked: list[str] = []
    page.on(
        "request",
        lambda req: (
            asked.append(req.method + " " + req.url)
            if "/api/calls" in req.url or "/api/exports" in req.url
            else None
        ),
    )
    await page.click("[data-tab=history]")
    await expect(page.locator("#history")).to_be_visible()
    await page.select_option("#history-filters [name=direction]", "inbound")
    await page.fill("#history-filters [name=agent]", "101")
    await page.fill("#history-filters [name=number]", "+7 495 123-00-01")
    await page.click("#history-filters button[type=submit]")
    # the rows are the history API's own for the same filters (the period as whole days)
    history = {"day_from": PERIOD["from"], "day_to": PERIOD["to"], "tz": PERIOD["tz"]}
    wanted = {**history, "direction": "inbound", "agent": "101", "number": "+7 495 123-00-01"}
    listed = await _api(client, "sue", f"/api/calls?{urlencode({**wanted, 'limit': 50})}")
    await expect(page.locator("#history-status")).to_contain_text(
        f"{len(listed['items'])} calls shown"
    )
    await expect(page.locator("#history-table tr[data-call]")).to_have_count(len(listed["items"]))
    counted = await _api(client, "sue", f"/api/calls/count?{urlencode(wanted)}")
    await page.click("#history-count")
    await expect(page.locator("#history-status")).to_have_text(f"{counted['count']} calls match")
    async with (
        page.expect_request("**/api/exports") as exported,
        page.expect_download() as downloading,
    ):
        await page.click("[data-export=csv]")
    body = json.loads((await exported.value).post_data or "{}")
    assert body == {"kind": "calls", "format": "csv", "filters": wanted, "sort": "-started_at"}
    download = await downloading.value
    assert "/api/downloads/" in download.url
    saved = await download.path()
    exported_csv = await asyncio.to_thread(Path(saved).read_text, encoding="utf-8-sig")
    assert len(exported_csv.strip().splitlines()) == counted["count"] + 1  # + the header
    searches = [
        parse_qs(urlparse(u.split(" ", 1)[1]).query)
        for u in asked
        if u.startswith("GET") and "/api/calls?" in u
    ]
    assert searches, asked
    last = {k: v[0] for k, v in searches[-1].items()}
    assert last == {**wanted, "sort": "-started_at", "limit": "50"}
    assert any("/api/calls/count?" in u for u in asked)
    await page.screenshot(path=str(ARTIFACTS / "manager-history.png"), full_page=True)
    assert errors == []


async def test_an_operator_sees_only_their_own_agent_figures(client: Client, browser: Any) -> None:
    from playwright.async_api import expect

    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await _login(page, client, "olga")
    rows = page.locator('[data-report="agents"] table tr')
    await expect(rows).to_have_count(2)
    await expect(rows.last).to_contain_text("101 olga")
    for name in ("queues", "heatmap", "callbacks", "campaigns", "sla"):
        await expect(page.locator(f'[data-report="{name}"] .denied')).to_have_text(
            "not for your role"
        )
    await page.screenshot(path=str(ARTIFACTS / "manager-operator.png"), full_page=True)
