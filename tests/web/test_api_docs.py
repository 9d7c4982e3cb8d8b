"""The API's description for people: ``GET /api/docs`` (a page, no CDN) and
``cti api openapi [--out FILE]``, both the document ``cti serve`` serves."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from typer.testing import CliRunner

from cti.config import Settings
from cti.crm_store.schemas.users import UserIn
from cti.crm_store.store import Store
from cti.daemon import SETUP_HOOKS, build_app, load_hooks
from cti.web.auth import USERS
from tests.clihelp import cli_app
from tests.needs import CHROMIUM
from tests.web.conftest import FAST_HASHER, PASSWORD, Client

SCREENSHOT = Path(os.environ.get("CTI_SCREENSHOT_DIR", "/tmp")) / "cti-api-docs.png"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
async def daemon(sqlite_store: Store) -> AsyncIterator[tuple[Client, str]]:
    """The daemon's app (``cti serve``'s routes) on a test server, and olga's token."""
    app = build_app(Settings(), store=sqlite_store, extra_setup=load_hooks(SETUP_HOOKS))
    app[USERS].hasher = FAST_HASHER
    user = await app[USERS].create(
        UserIn.model_validate({"username": "olga", "password": PASSWORD, "extensions": ["101"]})
    )
    token = (await app[USERS].issue_token(user.id)).token
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, token
    finally:
        await client.close()


async def _served(client: Client, token: str) -> dict[str, Any]:
    resp = await client.get("/api/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    spec: dict[str, Any] = await resp.json()
    return spec


async def test_the_cli_prints_the_document_the_daemon_serves(
    daemon: tuple[Client, str], tmp_path: Path
) -> None:
    served = await _served(*daemon)
    assert "/api/dial" in served["paths"]  # the screen-pop's routes are in it too
    out = tmp_path / "openapi.json"
    runner = CliRunner()
    app = cli_app("cti.web.cli")
    result = runner.invoke(app, ["api", "openapi", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == served
    result = runner.invoke(app, ["api", "openapi"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == served


async def test_the_page_is_self_contained_and_described(daemon: tuple[Client, str]) -> None:
    client, token = daemon
    resp = await client.get("/api/docs")  # a page: no token, like the operator page
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    html = await resp.text()
    # nothing from elsewhere: no script, style or font from another host
    assert re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html) == []
    assert "@import" not in html and "<script src" not in html
    op = (await _served(client, token))["paths"]["/api/docs"]["get"]
    assert op["security"] == [] and set(op["responses"]["200"]["content"]) == {"text/html"}


@pytest.mark.browser
async def test_a_logged_in_user_reads_the_api_in_chromium(daemon: tuple[Client, str]) -> None:
    from playwright.async_api import async_playwright, expect

    client, _ = daemon
    origin = str(client.make_url("/")).rstrip("/")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            elsewhere: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "request",
                lambda r: None if r.url.startswith(origin) else elsewhere.append(r.url),
            )
            await page.goto(f"{origin}/api/docs")
            login = page.locator("#login-form")
            await expect(login).to_be_visible()  # the document needs a token
            await expect(page.locator("#doc")).to_be_hidden()
            await page.fill("#login-form [name=username]", "olga")
            await page.fill("#login-form [name=password]", "wrong password!")
            await page.press("#login-form [name=password]", "Enter")
            await expect(page.locator("#login-error")).not_to_be_empty()
            await page.fill("#login-form [name=password]", PASSWORD)
            await page.press("#login-form [name=password]", "Enter")
            contacts = page.locator(
                "details.op", has=page.locator(".path", has_text=re.compile(r"^/api/contacts$"))
            )
            listing = contacts.filter(has=page.locator(".method", has_text="GET"))
            await expect(listing).to_have_count(1)
            await expect(listing.locator("summary")).to_contain_text("GET/api/contacts")
            await listing.locator("summary").click()
            await expect(listing).to_contain_text("per_page")  # its query parameters
            await expect(listing).to_contain_text("Who may (contacts.read)")
            await expect(page.locator("#schemas")).to_contain_text("ContactOut")
            await page.screenshot(path=str(SCREENSHOT))
            # the filter narrows the list to what matches
            await page.fill("#filter", "/api/dial")
            await expect(page.locator("#ops details.op:visible")).to_have_count(1)
            # the same tab keeps its session: a reload shows the document without a login
            await page.reload()
            await expect(page.locator("section.tag").first).to_be_visible()
            await expect(login).to_be_hidden()
            # logging out ends the session: the page asks again
            await page.click("#logout")
            await expect(login).to_be_visible()
            assert errors == [] and elsewhere == []
        finally:
            await browser.close()
